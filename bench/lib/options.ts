/**
 * The benchmark's sizes. Real sizes by default; `--tiny` (or SPACEKV_BENCH_TINY=1) shrinks every
 * step to about a second or a few hundred operations so the test suite can run the whole benchmark
 * and keep it from rotting (STYLE.md §14). Explicit flags win over either preset.
 */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly tiny: boolean;
  /** Seconds of each measured HTTP step. */
  readonly durationSeconds: number;
  /** Seconds of load before each measured HTTP step, so every server is measured warm (JIT, caches). */
  readonly warmupSeconds: number;
  /**
   * Rounds of the HTTP steps, interleaved (bare, get, put, bare, ...): drift in what else the machine
   * runs then hits every step alike, and each figure is the median over rounds.
   */
  readonly rounds: number;
  /** Keep-alive connections of the load generator. */
  readonly connections: number;
  /** Keys pre-loaded for the REST get step, and the key range of the put step. */
  readonly keys: number;
  /** Seconds an idle server is sampled for RSS and CPU. */
  readonly idleSeconds: number;
  /** Seconds a server is left alone before idle sampling, so startup work or the last requests' tail are not counted as idling. */
  readonly settleSeconds: number;
  /** Writes of the in-process group-commit workloads (engine and raw SQLite batched). */
  readonly groupWrites: number;
  /** Concurrent writers of the in-process group-commit workload. */
  readonly writers: number;
  /** Writes of the one-commit-per-write workloads: each is an fsync, so far fewer. */
  readonly serialWrites: number;
}

const FULL = { durationSeconds: 10, warmupSeconds: 2, rounds: 3, connections: 64, keys: 10_000, idleSeconds: 5, settleSeconds: 1, groupWrites: 50_000, writers: 256, serialWrites: 2_000 };
const TINY = { durationSeconds: 1, warmupSeconds: 0, rounds: 1, connections: 64, keys: 500, idleSeconds: 1, settleSeconds: 0.5, groupWrites: 1_024, writers: 256, serialWrites: 100 };

export const USAGE = `usage: node bench/dist/run.js [--tiny] [--duration <s>] [--connections <n>] [--rounds <n>]
  --tiny             each step runs ~1 s or a few hundred operations (also SPACEKV_BENCH_TINY=1)
  --duration <s>     seconds of each HTTP step (default 10, tiny 1)
  --connections <n>  keep-alive connections of the load generator (default 64)
  --rounds <n>       interleaved rounds of the HTTP steps, figures are medians (default 3, tiny 1)`;

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      tiny: { type: 'boolean', default: false },
      duration: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const tiny = values.tiny === true || env.SPACEKV_BENCH_TINY === '1';
  const preset = tiny ? TINY : FULL;
  return {
    ...preset,
    tiny,
    durationSeconds: values.duration === undefined ? preset.durationSeconds : positive('--duration', values.duration, false),
    connections: values.connections === undefined ? preset.connections : positive('--connections', values.connections, true),
    rounds: values.rounds === undefined ? preset.rounds : positive('--rounds', values.rounds, true),
  };
}

function positive(flag: string, raw: string, integer: boolean): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag} takes a positive ${integer ? 'integer' : 'number'}, got '${raw}'\n${USAGE}`);
  }
  return n;
}
