/**
 * Runs one cell (one workload at one in-flight level on one peer): issues the pre-generated
 * operations, keeping exactly `inFlight` outstanding, until they are all issued or the cell's time
 * is up, and records each operation's latency in an HDR histogram (µs, 3 significant digits), per
 * operation kind and overall. Throughput is completed operations over the wall time from the first
 * issue to the last completion. The paced mode issues operations on a fixed schedule instead (the
 * low-load run: 10 per second), each alone.
 *
 * CPU of the peer's server processes, of this process and of the rest of the machine is measured
 * over the cell from /proc, and the servers' RSS at its end.
 */
import * as hdr from 'hdr-histogram-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CpuMeter, memory } from '../proc-stats.js';
import type { YcsbStore } from './store.js';
import { type Fields, type Keyspace, type OpKind, type OpSequence, FIELD_COUNT, FIELD_NAMES, OP_KINDS, fieldValue, recordOf } from './workload.js';

export interface Latency {
  readonly count: number;
  readonly p50Us: number;
  readonly p95Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

export interface CellResult {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly latency: Latency;
  readonly byKind: Partial<Record<OpKind, Latency>>;
  /** Operations that failed, and the first failure's message. */
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Reads (including a read-modify-write's read) that found no record, and scans that found none from a key that exists. */
  readonly misses: number;
  /** Reads that found a record without its ten fields. */
  readonly malformed: number;
  /** CPU of the peer's server processes, % of one core; NaN for a peer in the bench process. */
  readonly serverCpuPercent: number;
  /** Server CPU µs per operation; NaN for a peer in the bench process. */
  readonly serverCpuUsPerOp: number;
  readonly serverRssMb: number;
  /** CPU of the bench process (the driver, the client library, and an in-process peer's whole work). */
  readonly benchCpuPercent: number;
  readonly otherCpuPercent: number;
}

export interface CellPlan {
  readonly sequence: OpSequence;
  /** Operations outstanding at every moment; ignored when paced. */
  readonly inFlight: number;
  readonly maxSeconds: number;
  /** Operations per second on a fixed schedule, one at a time (low load); undefined = as fast as `inFlight` allows. */
  readonly pacedPerSecond?: number;
}

const HISTOGRAM = { lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 } as const;

function newHistogram(): hdr.Histogram {
  return hdr.build(HISTOGRAM);
}

function summary(h: hdr.Histogram): Latency {
  return {
    count: h.totalCount,
    p50Us: h.getValueAtPercentile(50),
    p95Us: h.getValueAtPercentile(95),
    p99Us: h.getValueAtPercentile(99),
    maxUs: h.maxValue,
  };
}

export async function runCell(store: YcsbStore, keys: Keyspace, plan: CellPlan): Promise<CellResult> {
  const { sequence } = plan;
  const all = newHistogram();
  const byKind = OP_KINDS.map(() => newHistogram());
  let errors = 0;
  let misses = 0;
  let malformed = 0;
  let firstError: string | undefined;

  const check = (found: Fields | null): void => {
    if (found === null) misses++;
    else if (Object.keys(found).length !== FIELD_COUNT) malformed++;
  };
  /** Operation i as the peer's calls; resolves when it is done. */
  const perform = (i: number): Promise<unknown> => {
    const kind = OP_KINDS[sequence.kinds[i] as number] as OpKind;
    const record = sequence.records[i] as number;
    const key = keys.key(record);
    const arg = sequence.args[i] as number;
    switch (kind) {
      case 'read':
        return store.read(key).then(check);
      case 'update':
        return store.update(key, FIELD_NAMES[arg] as string, fieldValue(record, arg, i + 1));
      case 'insert':
        return store.insert(key, recordOf(record));
      case 'scan':
        return store.scan(key, arg).then((count) => {
          if (count === 0) misses++;
        });
      case 'rmw':
        return store.read(key).then((found) => {
          check(found);
          return store.update(key, FIELD_NAMES[arg] as string, fieldValue(record, arg, i + 1));
        });
    }
  };

  const pids = await store.serverPids();
  const servers = pids.map((pid) => new CpuMeter(pid));
  const bench = new CpuMeter(process.pid);
  const machine = new CpuMeter();
  const startedAt = performance.now();
  const deadline = startedAt + plan.maxSeconds * 1000;
  let issued = 0;
  let completed = 0;
  let endedAt = startedAt;

  const record = (i: number, issuedAt: number, err: unknown): void => {
    const now = performance.now();
    const us = Math.max(1, Math.round((now - issuedAt) * 1000));
    all.recordValue(us);
    byKind[sequence.kinds[i] as number]?.recordValue(us);
    completed++;
    endedAt = now;
    if (err !== undefined) {
      errors++;
      firstError ??= err instanceof Error ? err.message : String(err);
    }
  };

  if (plan.pacedPerSecond !== undefined) {
    const interval = 1000 / plan.pacedPerSecond;
    for (let i = 0; i < sequence.length && performance.now() < deadline; i++) {
      const due = startedAt + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const issuedAt = performance.now();
      issued++;
      await perform(i).then(() => record(i, issuedAt, undefined), (err: unknown) => record(i, issuedAt, err));
    }
    // The schedule, not the work, sets the length of a paced cell.
    endedAt = Math.max(endedAt, startedAt + issued * interval);
  } else {
    await new Promise<void>((resolve) => {
      const start = (): void => {
        const i = issued++;
        const issuedAt = performance.now();
        let promise: Promise<unknown>;
        try {
          promise = perform(i);
        } catch (err) {
          promise = Promise.reject(err);
        }
        const next = (err: unknown): void => {
          record(i, issuedAt, err);
          if (issued < sequence.length && performance.now() < deadline) start();
          else if (completed === issued) resolve();
        };
        promise.then(() => next(undefined), next);
      };
      for (let k = 0; k < Math.min(plan.inFlight, sequence.length); k++) start();
    });
  }

  const seconds = (endedAt - startedAt) / 1000;
  const serverSeconds = servers.reduce((sum, m) => sum + safe(() => m.seconds()), 0);
  const serverPercent = servers.length === 0 ? Number.NaN : (serverSeconds / seconds) * 100;
  const benchPercent = bench.percent();
  const rss = pids.length === 0 ? Number.NaN : pids.reduce((sum, pid) => sum + safe(() => memory(pid).rssMb), 0);
  const kinds: Partial<Record<OpKind, Latency>> = {};
  OP_KINDS.forEach((kind, k) => {
    const h = byKind[k] as hdr.Histogram;
    if (h.totalCount > 0) kinds[kind] = summary(h);
    h.destroy();
  });
  const latency = summary(all);
  all.destroy();
  return {
    ops: completed,
    seconds,
    opsPerSec: completed / seconds,
    latency,
    byKind: kinds,
    errors,
    firstError,
    misses,
    malformed,
    serverCpuPercent: serverPercent,
    serverCpuUsPerOp: servers.length === 0 ? Number.NaN : (serverSeconds * 1e6) / completed,
    serverRssMb: rss,
    benchCpuPercent: benchPercent,
    otherCpuPercent: Math.max(0, machine.percent() - benchPercent - (Number.isFinite(serverPercent) ? serverPercent : 0)),
  };
}

/** A process that ended mid-cell (a PostgreSQL backend) counts as 0 rather than failing the cell. */
function safe(read: () => number): number {
  try {
    return read();
  } catch {
    return 0;
  }
}
