/**
 * A YCSB cell cut into slices (a paired cell's side, run in ABBA order beside the other side's
 * slices: paired.ts's slicedRound) joined back into one cell's figures, the way steps 6 and 10
 * join theirs: all the operations over all the time, the mean CPU per operation, and, as
 * percentiles cannot be merged, the median of the slices' percentiles.
 */
import { mean, median } from '../stats.js';
import type { CellResult, Latency } from './driver.js';
import type { OpKind } from './workload.js';

function joinLatency(slices: readonly Latency[]): Latency {
  return {
    count: slices.reduce((sum, l) => sum + l.count, 0),
    p50Us: median(slices.map((l) => l.p50Us)),
    p95Us: median(slices.map((l) => l.p95Us)),
    p99Us: median(slices.map((l) => l.p99Us)),
    maxUs: Math.max(...slices.map((l) => l.maxUs)),
  };
}

export function joinCells(slices: readonly CellResult[]): CellResult {
  const last = slices[slices.length - 1];
  if (last === undefined) throw new RangeError('joinCells needs at least one slice');
  const sum = (pick: (r: CellResult) => number): number => slices.reduce((total, r) => total + pick(r), 0);
  const avg = (pick: (r: CellResult) => number): number => mean(slices.map(pick));
  const byKind: Partial<Record<OpKind, Latency>> = {};
  for (const kind of new Set(slices.flatMap((r) => Object.keys(r.byKind) as OpKind[]))) {
    byKind[kind] = joinLatency(slices.flatMap((r) => r.byKind[kind] ?? []));
  }
  const ops = sum((r) => r.ops);
  const seconds = sum((r) => r.seconds);
  return {
    ops,
    seconds,
    opsPerSec: ops / seconds,
    latency: joinLatency(slices.map((r) => r.latency)),
    byKind,
    errors: sum((r) => r.errors),
    firstError: slices.find((r) => r.firstError !== undefined)?.firstError,
    misses: sum((r) => r.misses),
    malformed: sum((r) => r.malformed),
    serverCpuPercent: avg((r) => r.serverCpuPercent),
    serverCpuUsPerOp: avg((r) => r.serverCpuUsPerOp),
    // What the server holds at the end of the cell, as for a whole one.
    serverRssMb: last.serverRssMb,
    benchCpuPercent: avg((r) => r.benchCpuPercent),
    otherCpuPercent: avg((r) => r.otherCpuPercent),
  };
}
