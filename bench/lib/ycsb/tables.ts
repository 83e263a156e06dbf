/**
 * The YCSB sections' part of the report: which peers ran (or why not), one table per workload
 * (throughput, p50/p95/p99, server CPU and RSS, spacekv's ratio to the peer), the low-load table,
 * the ratios of spacekv to every peer, charts, and the closing note: the ratios per workload and
 * the three biggest gaps to the best peer, each with where spacekv's CPU went (from its profile,
 * when the run had --server-cpu-prof).
 */
import type { TopLevelSpec } from 'vega-lite';
import { table } from '../markdown.js';
import { summariseProfile } from '../profile.js';
import { int, out, printColumns } from '../report.js';
import type { SectionContext } from '../section.js';
import type { CellResult } from './driver.js';
import { SPACEKV } from './peers.js';
import { type PeerOutcome, describeBusy } from './run-peer.js';
import { WORKLOADS, type WorkloadName } from './workload.js';

function cell(o: PeerOutcome, workload: WorkloadName, inFlight: number): CellResult | undefined {
  return o.steps.find((s) => s.step.workload === workload && s.step.inFlight === inFlight && s.step.pacedPerSecond === undefined)?.result;
}

function paced(o: PeerOutcome): CellResult | undefined {
  return o.steps.find((s) => s.step.pacedPerSecond !== undefined)?.result;
}

function skippedStep(o: PeerOutcome, workload: WorkloadName): string | undefined {
  return o.skipped ?? o.steps.find((s) => s.step.workload === workload && s.skipped !== undefined)?.skipped;
}

const us = (n: number): string => (Number.isFinite(n) ? int(n) : '-');
const pct = (n: number, digits = 0): string => (Number.isFinite(n) ? `${n.toFixed(digits)}%` : 'in process');
const mb = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '-');
const ratio = (a: number, b: number): string => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');

export function reportYcsb(c: SectionContext, outcomes: readonly PeerOutcome[], profiled: PeerOutcome | undefined): void {
  const y = c.options.ycsb;
  const r = c.report;
  const spacekv = outcomes.find((o) => o.peer.id === SPACEKV);
  const workloads = WORKLOADS.filter((w) => y.workloads.includes(w.name));

  r.add(`## YCSB core workloads\n\n${y.records.toLocaleString('en-US')} records of 10 fields x 100 bytes (YCSB's defaults), keys "user" + FNV-1a hash of the record number, `
    + `key choice by YCSB's scrambled zipfian (0.99; D: latest), updates write one field, scans read 1-100 records. Each cell (workload x in-flight level x peer) runs at most `
    + `${y.operations.toLocaleString('en-US')} operations or ${y.cellSeconds} s, whichever ends first, from one client process; every peer gets the same seeded operation `
    + `sequence. Latency is per operation (a read-modify-write counts as one), from an HDR histogram (3 significant digits). Server CPU is % of one core (200% = both cores) `
    + `of the peer's server processes over the cell, RSS their resident memory at its end (PostgreSQL: the sum over this run's backends, which counts shared buffers they touched; spacekv (PostgreSQL): its server and the backends serving it). `
    + `"in process" peers run inside the bench process: their CPU is the bench's own. Peers run one after another.`);
  r.add(table(['peer', 'status', 'what', 'durability'], outcomes.map((o) => [
    o.peer.name, o.skipped === undefined ? 'measured' : `skipped: ${o.skipped}`, o.detail ?? '-', o.peer.durability,
  ]), 4));

  for (const w of workloads) {
    const rows: string[][] = [];
    for (const o of outcomes) {
      const skip = skippedStep(o, w.name);
      if (skip !== undefined) {
        rows.push([o.peer.name, '-', `skipped: ${skip}`, '', '', '', '', '', '', '']);
        continue;
      }
      for (const level of y.levels) {
        const m = cell(o, w.name, level);
        if (m === undefined) continue;
        const base = spacekv === undefined ? undefined : cell(spacekv, w.name, level);
        rows.push([o.peer.name, String(level), int(m.opsPerSec), us(m.latency.p50Us), us(m.latency.p95Us), us(m.latency.p99Us),
          pct(m.serverCpuPercent), Number.isFinite(m.serverCpuUsPerOp) ? m.serverCpuUsPerOp.toFixed(0) : '-', mb(m.serverRssMb),
          base === undefined || o.peer.id === SPACEKV ? '' : ratio(base.opsPerSec, m.opsPerSec)]);
      }
    }
    r.add(`### Workload ${w.name}: ${w.title}\n\n${table(['peer', 'in flight', 'ops/s', 'p50 µs', 'p95 µs', 'p99 µs', 'server CPU', 'server µs/op', 'RSS MB', 'spacekv ÷ peer'], rows)}`);
  }

  ratioTable(c, outcomes, spacekv);
  charts(c, outcomes);
  lowLoad(c, outcomes);
  closingNote(c, outcomes, spacekv, profiled);
}

/** spacekv's throughput over each peer's, per workload and level; printed too, the console's summary. */
function ratioTable(c: SectionContext, outcomes: readonly PeerOutcome[], spacekv: PeerOutcome | undefined): void {
  const y = c.options.ycsb;
  const others = outcomes.filter((o) => o.peer.id !== SPACEKV && o.skipped === undefined);
  if (spacekv === undefined || spacekv.skipped !== undefined) {
    c.report.add('### spacekv ÷ peer\n\nspacekv (SQLite) did not run in this report: no ratios.');
    return;
  }
  const header = ['workload', 'in flight', 'spacekv ops/s', ...others.map((o) => o.peer.name)];
  const rows: string[][] = [];
  for (const w of WORKLOADS.filter((x) => y.workloads.includes(x.name))) {
    for (const level of y.levels) {
      const base = cell(spacekv, w.name, level);
      if (base === undefined) {
        rows.push([w.name, String(level), `skipped`, ...others.map(() => '-')]);
        continue;
      }
      rows.push([w.name, String(level), int(base.opsPerSec), ...others.map((o) => {
        const m = cell(o, w.name, level);
        return m === undefined ? '-' : ratio(base.opsPerSec, m.opsPerSec);
      })]);
    }
  }
  c.report.add(`### spacekv ÷ peer (throughput ratio; above 1.00x spacekv is faster)\n\n${table(header, rows)}`);
  out();
  out('    spacekv ops/s over each peer\'s:');
  printColumns([header, ...rows]);
}

function lowLoad(c: SectionContext, outcomes: readonly PeerOutcome[]): void {
  const y = c.options.ycsb;
  const rows = outcomes.filter((o) => o.skipped === undefined).map((o) => {
    const p = paced(o);
    const one = cell(o, 'A', 1);
    return [o.peer.name,
      // Near idle, a server's CPU is a fraction of a percent: one decimal tells them apart.
      p === undefined ? '-' : us(p.latency.p50Us), p === undefined ? '-' : us(p.latency.p99Us), p === undefined ? '-' : pct(p.serverCpuPercent, 1),
      one === undefined ? '-' : int(one.opsPerSec), one === undefined ? '-' : us(one.latency.p50Us), one === undefined ? '-' : us(one.latency.p99Us),
      one === undefined ? '-' : pct(one.serverCpuPercent)];
  });
  c.report.add(`## Low load\n\nWorkload A (50% read, 50% update) paced at ${y.pacedPerSecond} operations per second, one at a time, for ${y.pacedSeconds} s; `
    + `and workload A at 1 in flight (each operation issued when the previous one answered). Server CPU is over the whole interval: at 10/s it is mostly what the server costs when nearly idle.\n\n`
    + table(['peer', `${y.pacedPerSecond}/s p50 µs`, `${y.pacedPerSecond}/s p99 µs`, `${y.pacedPerSecond}/s server CPU`, '1 in flight ops/s', '1 in flight p50 µs', '1 in flight p99 µs', '1 in flight server CPU'], rows));
}

function charts(c: SectionContext, outcomes: readonly PeerOutcome[]): void {
  const rows = outcomes.flatMap((o) => o.steps.flatMap((s) => s.result === undefined || s.step.pacedPerSecond !== undefined ? [] : [{
    workload: s.step.workload, peer: o.peer.name, inFlight: s.step.inFlight, opsPerSec: s.result.opsPerSec, p50: s.result.latency.p50Us / 1000, p99: s.result.latency.p99Us / 1000,
  }]));
  if (rows.length === 0) return;
  const facet = (field: string, title: string, log: boolean): TopLevelSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: rows },
    facet: { column: { field: 'workload', type: 'nominal', title: 'YCSB workload' } },
    spec: {
      width: 150, height: 220,
      layer: [{ mark: { type: 'line', point: true } }],
      encoding: {
        x: { field: 'inFlight', type: 'ordinal', title: 'in flight' },
        y: { field, type: 'quantitative', title, scale: log ? { type: 'log' } : { zero: true } },
        color: { field: 'peer', type: 'nominal', title: 'peer', legend: { labelLimit: 400 } },
      },
    },
    resolve: { scale: { y: 'shared' } },
  } as TopLevelSpec);
  c.report.add('### Charts');
  c.report.chart('ycsb-throughput', 'YCSB throughput per workload and in-flight level', facet('opsPerSec', 'operations per second (log)', true));
  c.report.chart('ycsb-p50', 'YCSB p50 latency per workload and in-flight level', facet('p50', 'p50 latency, ms (log)', true));
  c.report.chart('ycsb-p99', 'YCSB p99 latency per workload and in-flight level', facet('p99', 'p99 latency, ms (log)', true));
}

/** Below this much non-idle time, a worker thread's profile is left out of the note. */
const IDLE_THREAD_MS = 50;

/** What a worker thread of the server is, told by the modules it spent its time in. */
function threadRole(modules: readonly string[]): string {
  if (modules.some((m) => m.includes('store/sqlite/batch-executor') || m.includes('writer-worker'))) return " (the store's writer)";
  if (modules.some((m) => m.includes('search'))) return " (the store's searcher)";
  return '';
}

interface Gap {
  /** spacekv's mean writes per durable commit in this cell, when it wrote. */
  readonly writesPerCommit: number | undefined;
  /** How busy spacekv's server threads were in this cell, when it reported them. */
  readonly threadsBusy: Readonly<Record<string, number>> | undefined;
  readonly workload: WorkloadName;
  readonly inFlight: number;
  readonly ratio: number;
  readonly best: string;
  readonly spacekvOps: number;
  readonly bestOps: number;
}

/** For each workload and level, spacekv over the fastest other peer. */
function gaps(c: SectionContext, outcomes: readonly PeerOutcome[], spacekv: PeerOutcome): Gap[] {
  const found: Gap[] = [];
  for (const w of c.options.ycsb.workloads) {
    for (const level of c.options.ycsb.levels) {
      const base = cell(spacekv, w, level);
      if (base === undefined) continue;
      let best: { name: string; ops: number } | undefined;
      for (const o of outcomes) {
        if (o.peer.id === SPACEKV) continue;
        const m = cell(o, w, level);
        if (m !== undefined && (best === undefined || m.opsPerSec > best.ops)) best = { name: o.peer.name, ops: m.opsPerSec };
      }
      const step = spacekv.steps.find((s) => s.step.workload === w && s.step.inFlight === level && s.step.pacedPerSecond === undefined);
      if (best !== undefined) {
        found.push({
          workload: w, inFlight: level, ratio: base.opsPerSec / best.ops, best: best.name, spacekvOps: base.opsPerSec, bestOps: best.ops,
          writesPerCommit: step?.writesPerCommit, threadsBusy: step?.threadsBusy,
        });
      }
    }
  }
  return found;
}

function closingNote(c: SectionContext, outcomes: readonly PeerOutcome[], spacekv: PeerOutcome | undefined, profiled: PeerOutcome | undefined): void {
  if (spacekv === undefined || spacekv.skipped !== undefined) return;
  const all = gaps(c, outcomes, spacekv);
  const lines: string[] = ['## Closing note', '', 'spacekv (SQLite) over the fastest other peer, per workload and in-flight level:', ''];
  lines.push(table(['workload', 'in flight', 'spacekv ops/s', 'fastest peer', 'its ops/s', 'spacekv ÷ fastest', 'spacekv writes per durable commit', 'spacekv server threads busy'],
    all.map((g) => [
      g.workload, String(g.inFlight), int(g.spacekvOps), g.best, int(g.bestOps), `${g.ratio.toFixed(2)}x`, g.writesPerCommit === undefined ? '-' : g.writesPerCommit.toFixed(1),
      g.threadsBusy === undefined ? '-' : describeBusy(g.threadsBusy),
    ])));
  // The three biggest gaps: the lowest ratio of each workload, then the three lowest of those.
  const worstPerWorkload = new Map<WorkloadName, Gap>();
  for (const g of all) {
    const seen = worstPerWorkload.get(g.workload);
    if (seen === undefined || g.ratio < seen.ratio) worstPerWorkload.set(g.workload, g);
  }
  const biggest = [...worstPerWorkload.values()].sort((a, b) => a.ratio - b.ratio).slice(0, 3);
  lines.push('', `The three biggest gaps to the best peer (the worst level of each workload, then the three worst workloads): `
    + biggest.map((g) => `**${g.workload} at ${g.inFlight} in flight**, ${g.ratio.toFixed(2)}x of ${g.best}`).join('; ') + '.');
  for (const g of biggest) {
    const paths = profiled?.profiles[g.workload] ?? [];
    paths.forEach((path, thread) => {
      const p = summariseProfile(path, 10);
      // A thread that hardly ran (the searcher during point operations) has nothing to say.
      if (thread > 0 && p.busyMs < IDLE_THREAD_MS) return;
      const which = thread === 0 ? 'main thread (event loop)' : `worker thread ${thread}${threadRole(p.modules.map((m) => m.name))}`;
      lines.push('', `### Where spacekv's server time went in workload ${g.workload}: ${which}, ${(p.busyMs / 1000).toFixed(1)} s not idle over all levels`, '',
        table(['module (self time)', 'share'], p.modules.slice(0, 8).map((m) => [m.name, `${m.percent.toFixed(1)}%`])), '',
        table(['function (self time)', 'share'], p.functions.slice(0, 10).map((f) => [f.name, `${f.percent.toFixed(1)}%`])));
    });
  }
  if (profiled === undefined) {
    lines.push('', '(No profiles in this run: with --server-cpu-prof <dir> a profiled pass of spacekv follows the measured ones and this note shows where its time goes in each of these workloads.)');
  } else {
    lines.push('', `Profiles: a separate pass of spacekv under node --cpu-prof after the measured ones (its figures are not in the tables), one per workload and server thread, in ${c.options.serverCpuProfDir}; `
      + 'read any one with `node bench/dist/profile.js <file>`. Shares are of the thread\'s time outside idle: a thread waiting in a system call (the writer in fsync) '
      + 'counts that wait in the function that called it; each profile also holds the server\'s startup (module loading), since the server restarts to cut it.');
  }
  c.report.add(lines.join('\n'));
}

export function reportScaling(c: SectionContext, runs: readonly { readonly records: number; readonly outcomes: readonly PeerOutcome[] }[]): void {
  const y = c.options.ycsb;
  const rows: string[][] = [];
  const points: { records: number; peer: string; workload: string; opsPerSec: number; p99: number }[] = [];
  for (const { records, outcomes } of runs) {
    for (const o of outcomes) {
      for (const w of y.scalingWorkloads) {
        const m = cell(o, w, y.scalingInFlight);
        if (m === undefined) {
          rows.push([o.peer.name, int(records), w, `skipped: ${skippedStep(o, w) ?? 'not measured'}`, '', '', '', '', '']);
          continue;
        }
        rows.push([o.peer.name, int(records), w, int(m.opsPerSec), us(m.latency.p50Us), us(m.latency.p99Us), pct(m.serverCpuPercent), mb(m.serverRssMb),
          o.loadSeconds === undefined ? '-' : o.loadSeconds.toFixed(1)]);
        points.push({ records, peer: o.peer.name, workload: w, opsPerSec: m.opsPerSec, p99: m.latency.p99Us / 1000 });
      }
    }
  }
  c.report.add(`## Scaling\n\nWorkloads ${y.scalingWorkloads.join(', ')} at ${y.scalingInFlight} in flight after loading ${y.scalingRecords.map((n) => n.toLocaleString('en-US')).join(', ')} records (a fresh store each time).\n\n`
    + table(['peer', 'records', 'workload', 'ops/s', 'p50 µs', 'p99 µs', 'server CPU', 'RSS MB', 'load s'], rows));
  if (points.length === 0) return;
  const spec = (field: string, title: string): TopLevelSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: points },
    facet: { column: { field: 'workload', type: 'nominal', title: 'YCSB workload' } },
    spec: {
      width: 220, height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'records', type: 'ordinal', title: 'records loaded' },
        y: { field, type: 'quantitative', scale: { type: 'log' }, title },
        color: { field: 'peer', type: 'nominal', legend: { labelLimit: 400 } },
      },
    },
  } as TopLevelSpec);
  c.report.chart('scaling-throughput', 'throughput as the data grows', spec('opsPerSec', 'operations per second (log)'));
  c.report.chart('scaling-p99', 'p99 latency as the data grows', spec('p99', 'p99 latency, ms (log)'));
}
