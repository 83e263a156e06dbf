/**
 * Progress of an export or import, on stderr (stdout may carry the data): a bar with rate and ETA
 * on a terminal (cli-progress), a plain line every few seconds otherwise (logs, CI), nothing with
 * `--quiet`. Rates are objects/s and MB/s of NDJSON since the start.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** Objects done so far and NDJSON bytes moved so far; `total` objects in all. */
  update(objects: number, bytes: number): void;
  /** The last update, then release the terminal line. */
  stop(): void;
}

/** Seconds between plain progress lines. */
const PLAIN_INTERVAL_MS = 5_000;

function rates(objects: number, bytes: number, startedAt: number): { perSecond: number; mbPerSecond: number } {
  const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
  return { perSecond: Math.round(objects / seconds), mbPerSecond: Math.round((bytes / 1e6 / seconds) * 10) / 10 };
}

function eta(done: number, total: number, perSecond: number): string {
  if (done >= total) return '0s';
  if (perSecond <= 0) return '?';
  const s = Math.ceil((total - done) / perSecond);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/**
 * `verb` names what is done ("export", "import"); `start` counts objects already done before this
 * run (an import resumed), so rate and ETA are about this run's work.
 */
export function progressOn(stream: NodeJS.WriteStream, options: { quiet: boolean; verb: string; total: number; start?: number }): Progress {
  const { verb, total } = options;
  const start = options.start ?? 0;
  const startedAt = Date.now();
  if (options.quiet) return { update: () => {}, stop: () => {} };
  if (stream.isTTY) {
    const bar = new SingleBar({
      stream,
      format: `${verb} [{bar}] {percentage}% | {value}/{total} objects | {perSecond} obj/s, {mbPerSecond} MB/s | ETA {etaText}`,
      hideCursor: true,
      etaBuffer: 50,
    });
    bar.start(total, start, { perSecond: 0, mbPerSecond: 0, etaText: '?' });
    return {
      update(objects, bytes) {
        const r = rates(objects - start, bytes, startedAt);
        bar.update(objects, { ...r, etaText: eta(objects, total, r.perSecond) });
      },
      stop: () => bar.stop(),
    };
  }
  let printedAt = startedAt;
  let last = { objects: start, bytes: 0 };
  const line = (): void => {
    const r = rates(last.objects - start, last.bytes, startedAt);
    const percent = total === 0 ? 100 : Math.floor((last.objects / total) * 100);
    stream.write(`${verb}: ${last.objects}/${total} objects (${percent}%), ${r.perSecond} objects/s, ${r.mbPerSecond} MB/s, ETA ${eta(last.objects, total, r.perSecond)}\n`);
  };
  return {
    update(objects, bytes) {
      last = { objects, bytes };
      if (Date.now() - printedAt < PLAIN_INTERVAL_MS) return;
      printedAt = Date.now();
      line();
    },
    stop: line,
  };
}
