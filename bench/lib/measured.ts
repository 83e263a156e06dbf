/**
 * One measurement of a point-operation run (inflight.ts) with the CPU it cost the client (this
 * process) and the server, read from /proc around it: what steps 6 and 10 report per run.
 */
import type { InFlightResult } from './inflight.js';
import type { Sample } from './paired.js';
import { CpuMeter } from './proc-stats.js';
import { harmonicMean, mean, median } from './stats.js';

/** A measurement with the CPU it cost each side. */
export interface Measured extends InFlightResult {
  /** CPU µs per operation of this process (the client library and the driver). */
  readonly clientCpuUs: number;
  /** CPU µs per operation of the server process; NaN when /proc cannot see it. */
  readonly serverCpuUs: number;
  /** CPU the rest of the machine used meanwhile, % of one core. */
  readonly otherCpuPercent: number;
  /** spacekv puts: mean writes per durable commit, from the server's metrics. */
  readonly writesPerCommit?: number;
}

export async function measure(serverPid: number | undefined, run: () => Promise<InFlightResult>): Promise<Measured> {
  const client = new CpuMeter(process.pid);
  const server = serverPid === undefined ? undefined : new CpuMeter(serverPid);
  const machine = new CpuMeter();
  const r = await run();
  const clientSeconds = client.seconds();
  const serverSeconds = server?.seconds() ?? Number.NaN;
  const other = Math.max(0, machine.percent() - client.percent() - (server?.percent() ?? 0));
  return { ...r, clientCpuUs: (clientSeconds * 1e6) / r.total, serverCpuUs: (serverSeconds * 1e6) / r.total, otherCpuPercent: other };
}

export function medianMeasured(rounds: readonly Measured[]): Measured {
  const mid = (pick: (m: Measured) => number): number => median(rounds.map(pick));
  const first = rounds[0] as Measured;
  const perCommit = rounds.map((m) => m.writesPerCommit).filter((x): x is number => x !== undefined);
  return {
    inFlight: first.inFlight,
    total: first.total,
    opsPerSec: mid((m) => m.opsPerSec),
    seconds: mid((m) => m.seconds),
    p50Us: mid((m) => m.p50Us),
    p99Us: mid((m) => m.p99Us),
    wrongResults: rounds.reduce((sum, m) => sum + m.wrongResults, 0),
    clientCpuUs: mid((m) => m.clientCpuUs),
    serverCpuUs: mid((m) => m.serverCpuUs),
    otherCpuPercent: mid((m) => m.otherCpuPercent),
    ...(perCommit.length > 0 ? { writesPerCommit: median(perCommit) } : {}),
  };
}

/**
 * Slices of one run, each of the same number of operations, as one measurement (paired.ts's
 * slicedRound): the rate of all their operations over all their time, the mean CPU per operation,
 * and, as latencies cannot be merged from percentiles, the median of the slices' p50 and p99.
 */
export function joinMeasured(slices: readonly Measured[]): Measured {
  const first = slices[0];
  if (!first) throw new RangeError('joinMeasured needs at least one slice');
  const perCommit = slices.map((m) => m.writesPerCommit).filter((x): x is number => x !== undefined);
  return {
    inFlight: first.inFlight,
    total: slices.reduce((sum, m) => sum + m.total, 0),
    opsPerSec: harmonicMean(slices.map((m) => m.opsPerSec)),
    seconds: slices.reduce((sum, m) => sum + m.seconds, 0),
    p50Us: median(slices.map((m) => m.p50Us)),
    p99Us: median(slices.map((m) => m.p99Us)),
    wrongResults: slices.reduce((sum, m) => sum + m.wrongResults, 0),
    clientCpuUs: mean(slices.map((m) => m.clientCpuUs)),
    serverCpuUs: mean(slices.map((m) => m.serverCpuUs)),
    otherCpuPercent: mean(slices.map((m) => m.otherCpuPercent)),
    ...(perCommit.length > 0 ? { writesPerCommit: mean(perCommit) } : {}),
  };
}

/** What a paired comparison (paired.ts) takes of a measurement. */
export function sampleOf(m: Measured): Sample {
  return { opsPerSec: m.opsPerSec, serverCpuUsPerOp: m.serverCpuUs };
}
