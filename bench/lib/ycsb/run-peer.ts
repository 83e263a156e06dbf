/**
 * One peer through a plan: open it (or learn why it cannot run), load the records in batches (not
 * measured), then run each step of the plan (a workload at an in-flight level, or the paced
 * low-load run) with a freshly generated, seeded operation sequence, and close it. Every peer gets
 * the same plan and the same seeds, so each runs the same operations on the same keys.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { int, out } from '../report.js';
import { type CellResult, runCell } from './driver.js';
import { type Pair, type Sample, boundedSliceSizes, describePairs, slicedRound } from '../paired.js';
import { mean } from '../stats.js';
import { joinCells } from './slices.js';
import type { ServerVariant } from '../variants.js';
import { type YcsbPeer, type YcsbStore, firstLine, isSkipped } from './store.js';
import { FIELD_NAMES, Keyspace, OP_KINDS, WORKLOADS, type WorkloadName, generate, recordOf } from './workload.js';

export interface Step {
  readonly workload: WorkloadName;
  /** In-flight level; ignored when paced. */
  readonly inFlight: number;
  readonly pacedPerSecond?: number;
  readonly operations: number;
  readonly maxSeconds: number;
}

export interface StepOutcome {
  readonly step: Step;
  readonly result?: CellResult;
  /** Mean writes per durable commit over the cell, for a peer that reports it (spacekv's group commit). */
  readonly writesPerCommit?: number;
  /** The share of the cell's time each server thread was busy (1 = all of it), for a peer that reports it (spacekv). */
  readonly threadsBusy?: Readonly<Record<string, number>>;
  /** Why this step did not run on this peer (e.g. no scans). */
  readonly skipped?: string;
}

export interface PeerOutcome {
  readonly peer: YcsbPeer;
  /** Set when the peer could not run at all. */
  readonly skipped?: string;
  readonly detail?: string;
  readonly loadSeconds?: number;
  readonly steps: readonly StepOutcome[];
  /** Profiles cut per workload (spacekv under --server-cpu-prof), one per server thread, by workload. */
  readonly profiles: Readonly<Partial<Record<WorkloadName, readonly string[]>>>;
}

export interface PeerPlan {
  readonly records: number;
  readonly steps: readonly Step[];
  readonly seed: number;
  /** Records per load batch. */
  readonly loadBatch: number;
  readonly label: string;
}

const LOAD_BATCH = 1_000;

export function peerPlan(label: string, records: number, steps: readonly Step[], seed: number): PeerPlan {
  return { label, records, steps, seed, loadBatch: LOAD_BATCH };
}

/** Every peer through the same plan, one after another (one server up at a time), each in its own directory under `dir`. */
export async function runPeers(peers: readonly YcsbPeer[], plan: PeerPlan, dir: string, problems: string[]): Promise<PeerOutcome[]> {
  const outcomes: PeerOutcome[] = [];
  for (const peer of peers) outcomes.push(await runPeer(peer, plan, join(dir, peer.id), problems));
  return outcomes;
}

/** A peer opened and loaded, ready for steps. */
interface Loaded {
  readonly peer: YcsbPeer;
  readonly store: YcsbStore;
  readonly keys: Keyspace;
  readonly loadSeconds: number;
  /** Inserts (D, E) take fresh record numbers; the next one carries over from step to step. */
  nextRecord: number;
}

/** Open the peer and load the plan's records (not measured); a peer that cannot run comes back as its outcome. */
async function openLoaded(peer: YcsbPeer, plan: PeerPlan, dir: string, problems: string[]): Promise<Loaded | PeerOutcome> {
  mkdirSync(dir, { recursive: true });
  let opened: YcsbStore | { readonly skipped: string };
  try {
    opened = await peer.open(dir);
  } catch (err) {
    problems.push(`${plan.label}, ${peer.name}: could not start: ${firstLine(err)}`);
    return { peer, skipped: `could not start: ${firstLine(err)}`, steps: [], profiles: {} };
  }
  if (isSkipped(opened)) {
    out(`    ${peer.name}: SKIPPED (${opened.skipped})`);
    return { peer, skipped: opened.skipped, steps: [], profiles: {} };
  }
  const store = opened;
  const keys = new Keyspace();
  try {
    const loadStarted = performance.now();
    for (let n = 0; n < plan.records; n += plan.loadBatch) {
      const batch = [];
      for (let r = n; r < Math.min(plan.records, n + plan.loadBatch); r++) batch.push([keys.key(r), recordOf(r)] as const);
      await store.load(batch);
    }
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    // The load gets a profile of its own, so the first workload's holds only that workload.
    if (store.cutProfile !== undefined) await store.cutProfile(`${plan.label}-load`.replace(/[^\w-]+/g, '-'));
    out(`    ${peer.name}: ${store.detail}; ${int(plan.records)} records loaded in ${loadSeconds.toFixed(1)} s`);
    return { peer, store, keys, loadSeconds, nextRecord: plan.records };
  } catch (err) {
    problems.push(`${plan.label}, ${peer.name}: ${firstLine(err)}`);
    await close(peer, store, plan, problems);
    return { peer, detail: store.detail, steps: [], profiles: {} };
  }
}

async function close(peer: YcsbPeer, store: YcsbStore, plan: PeerPlan, problems: string[]): Promise<void> {
  await store.close().catch((err: unknown) => problems.push(`${plan.label}, ${peer.name}: close failed: ${firstLine(err)}`));
}

/**
 * One step (a cell) on a loaded peer, with a freshly generated operation sequence, not printed.
 * `slice` numbers the slices of a cell cut in parts (a paired cell's, or the first run before
 * them): each slice gets a sequence of its own, the same on both sides of a pair.
 */
async function measureStep(loaded: Loaded, plan: PeerPlan, step: Step, slice = 0): Promise<StepOutcome> {
  const { store, keys } = loaded;
  const workload = WORKLOADS.find((w) => w.name === step.workload);
  if (workload === undefined) throw new Error(`unknown workload ${step.workload}`);
  if (workload.mix.scan !== undefined && store.scanUnsupported !== undefined) return { step, skipped: store.scanUnsupported };
  // The seed depends on the step (and slice) alone, so every peer (and a profiled pass) gets the same sequence.
  const stepSeed = plan.seed * 1_000_003 + workload.name.charCodeAt(0) * 10_007 + (step.pacedPerSecond === undefined ? step.inFlight : 7_919 * step.pacedPerSecond) + slice * 104_729;
  const sequence = generate(workload, plan.records, loaded.nextRecord, step.operations, stepSeed);
  // The busy shares are over the time from before the first reading to after the last, which holds both readings' moments: never above 1.
  const readFrom = performance.now();
  const before = await store.serverCounters?.();
  const result = await runCell(store, keys, {
    sequence, inFlight: step.inFlight, maxSeconds: step.maxSeconds, ...(step.pacedPerSecond === undefined ? {} : { pacedPerSecond: step.pacedPerSecond }),
  });
  const after = await store.serverCounters?.();
  const readSeconds = (performance.now() - readFrom) / 1000;
  const batches = before !== undefined && after !== undefined ? after.batches - before.batches : 0;
  const writesPerCommit = before !== undefined && after !== undefined && batches > 0 ? (after.writes - before.writes) / batches : undefined;
  loaded.nextRecord += countInserts(sequence.kinds, result.ops);
  const threadsBusy = before === undefined || after === undefined ? undefined : busyShares(before.threadsBusy, after.threadsBusy, readSeconds);
  return { step, result, ...(writesPerCommit === undefined ? {} : { writesPerCommit }), ...(threadsBusy === undefined ? {} : { threadsBusy }) };
}

/** Each thread's busy seconds over `seconds`; undefined when the server reports no thread. */
function busyShares(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>, seconds: number): Readonly<Record<string, number>> | undefined {
  const threads = Object.keys(after).filter((thread) => before[thread] !== undefined);
  if (threads.length === 0 || seconds <= 0) return undefined;
  return Object.fromEntries(threads.map((thread) => [thread, ((after[thread] as number) - (before[thread] as number)) / seconds]));
}

/** `event loop 55%, writer 85%, search 3%`: the threads in a fixed order, then any other. */
export function describeBusy(busy: Readonly<Record<string, number>>): string {
  const order = ['event_loop', 'writer', 'search'];
  const rank = (thread: string): number => (order.includes(thread) ? order.indexOf(thread) : order.length);
  const threads = Object.keys(busy).sort((a, b) => rank(a) - rank(b));
  return threads.map((thread) => `${thread.replace('_', ' ')} ${Math.round((busy[thread] as number) * 100)}%`).join(', ');
}

/** A step's line, and whatever went wrong in it among the problems. */
function reportStep(peer: YcsbPeer, plan: PeerPlan, outcome: StepOutcome, problems: string[]): void {
  const { step, result } = outcome;
  if (result === undefined) {
    out(`    ${peer.name} ${describeStep(step)}: SKIPPED (${outcome.skipped ?? 'no figures'})`);
    return;
  }
  const perCommit = outcome.writesPerCommit === undefined ? '' : `, ${outcome.writesPerCommit.toFixed(1)} writes per durable commit`;
  const busy = outcome.threadsBusy === undefined ? '' : `, server threads busy: ${describeBusy(outcome.threadsBusy)}`;
  out(`    ${peer.name} ${describeStep(step)}: ${describeResult(result)}${perCommit}${busy}`);
  if (result.errors > 0) problems.push(`${plan.label}, ${peer.name} ${describeStep(step)}: ${result.errors} operations failed, first: ${result.firstError}`);
  // Under "latest" a read may race the insert of its record; elsewhere every key read was loaded.
  if (result.misses > 0 && WORKLOADS.find((w) => w.name === step.workload)?.distribution !== 'latest') {
    problems.push(`${plan.label}, ${peer.name} ${describeStep(step)}: ${result.misses} reads or scans found no record`);
  }
  if (result.malformed > 0) problems.push(`${plan.label}, ${peer.name} ${describeStep(step)}: ${result.malformed} reads found a record without its ${FIELD_NAMES.length} fields`);
}

/** One step (a cell) on a loaded peer, measured and printed. */
async function runStep(loaded: Loaded, plan: PeerPlan, step: Step, problems: string[]): Promise<StepOutcome> {
  const outcome = await measureStep(loaded, plan, step);
  reportStep(loaded.peer, plan, outcome, problems);
  return outcome;
}

/** A cell's slices as one outcome (slices.ts); skipped if they were. */
function joinOutcomes(step: Step, slices: readonly StepOutcome[]): StepOutcome {
  const skipped = slices.find((s) => s.result === undefined);
  if (skipped !== undefined) return { ...skipped, step };
  const perCommit = slices.map((s) => s.writesPerCommit).filter((x): x is number => x !== undefined);
  const busy = slices.map((s) => s.threadsBusy).filter((x): x is Readonly<Record<string, number>> => x !== undefined);
  const threadsBusy = busy.length === 0 ? undefined : Object.fromEntries(Object.keys(busy[0] as object).map((thread) => [thread, mean(busy.map((b) => b[thread] ?? 0))]));
  return {
    step, result: joinCells(slices.map((s) => s.result as CellResult)), ...(perCommit.length > 0 ? { writesPerCommit: mean(perCommit) } : {}),
    ...(threadsBusy === undefined ? {} : { threadsBusy }),
  };
}

/**
 * How a paired cell is cut: it ends at its operations or its time, whichever comes first, so the
 * slices it allows depend on how fast it goes, which the default's first run tells
 * (paired.ts's boundedSliceSizes). A cell the peer cannot run (no scans) is not cut: each round
 * finds it skipped on both sides.
 */
function cutCell(step: Step, first: StepOutcome, wanted: number): { readonly slices: number; readonly slice: Step; readonly opsPerSec?: number } {
  if (first.result === undefined) return { slices: 1, slice: step };
  const rate = first.result.opsPerSec;
  const sized = boundedSliceSizes(step.operations, step.maxSeconds, rate, step.inFlight, wanted);
  return { slices: sized.slices, slice: { ...step, operations: sized.opsEach, maxSeconds: sized.secondsEach }, opsPerSec: rate };
}

const isLoaded = (x: Loaded | PeerOutcome): x is Loaded => 'store' in x;

export async function runPeer(peer: YcsbPeer, plan: PeerPlan, dir: string, problems: string[]): Promise<PeerOutcome> {
  const loaded = await openLoaded(peer, plan, dir, problems);
  if (!isLoaded(loaded)) return loaded;
  const { store } = loaded;
  const steps: StepOutcome[] = [];
  const profiles: Partial<Record<WorkloadName, readonly string[]>> = {};
  try {
    for (const [index, step] of plan.steps.entries()) {
      steps.push(await runStep(loaded, plan, step, problems));
      const last = plan.steps[index + 1]?.workload !== step.workload;
      if (last && store.cutProfile !== undefined) profiles[step.workload] = await store.cutProfile(`${plan.label}-${step.workload}`.replace(/[^\w-]+/g, '-'));
    }
    return { peer, detail: store.detail, loadSeconds: loaded.loadSeconds, steps, profiles };
  } catch (err) {
    problems.push(`${plan.label}, ${peer.name}: ${firstLine(err)}`);
    return { peer, detail: store.detail, steps, profiles };
  } finally {
    await close(peer, store, plan, problems);
  }
}

/** A variant's cells, each paired round by round with the default's cell. */
export interface VariantCells {
  readonly variant: ServerVariant;
  readonly cells: readonly { readonly step: Step; readonly pairs: readonly Pair[] }[];
}

/**
 * A peer and its variants (the same peer with its server started another way), all loaded, then
 * each step run cell by cell: for each variant, `rounds` pairs of the default's cell and the
 * variant's, each side's cell cut into up to `slices` slices run in ABBA order (paired.ts) and
 * joined into its figure of the round, after an unmeasured whole run of the cell on every server. The default's figure for the tables is the cell of median
 * throughput among its runs. The paced low-load step runs once, on the default only: it measures
 * latency at 10 operations per second, not throughput.
 */
export async function runPeerPaired(
  peer: YcsbPeer, variants: readonly { readonly variant: ServerVariant; readonly peer: YcsbPeer }[], plan: PeerPlan, rounds: number, slices: number, dir: string, problems: string[],
): Promise<{ outcome: PeerOutcome; variants: VariantCells[] }> {
  const base = await openLoaded(peer, plan, dir, problems);
  if (!isLoaded(base)) return { outcome: base, variants: [] };
  const others: { variant: ServerVariant; loaded: Loaded; cells: { step: Step; pairs: Pair[] }[] }[] = [];
  const steps: StepOutcome[] = [];
  try {
    for (const [i, v] of variants.entries()) {
      const loaded = await openLoaded(v.peer, plan, `${dir}-variant-${i}`, problems);
      if (isLoaded(loaded)) others.push({ variant: v.variant, loaded, cells: [] });
      else problems.push(`${plan.label}, ${v.peer.name}: could not run (${loaded.skipped ?? 'failed while loading'}), so it has no figures`);
    }
    for (const step of plan.steps) {
      if (step.pacedPerSecond !== undefined || others.length === 0) {
        steps.push(await runStep(base, plan, step, problems));
        continue;
      }
      // Every server runs the cell once, unmeasured, before its pairs: without it a variant that sat
      // idle while the variants before it ran their pairs paid, in its first rounds, for work its
      // server had left from the previous cell (workload C at 1 in flight after A at 1,024: 68-76 µs
      // of server CPU per read in the first round, 30 in the second, 22-25 after; a run of a quarter
      // of the cell did not absorb it). The default's tells the rate that sizes the slices.
      const first = await measureStep(base, plan, step);
      for (const other of others) await measureStep(other.loaded, plan, step);
      const cut = cutCell(step, first, slices);
      const rate = cut.opsPerSec === undefined ? '' : ` (an unmeasured first run on each server; this build's went at ${int(cut.opsPerSec)} ops/s)`;
      out(`    ${peer.name} ${describeStep(step)}: ${cut.slices} ABBA slice${cut.slices === 1 ? '' : 's'} per side of at most ${int(cut.slice.operations)} operations or ${cut.slice.maxSeconds.toFixed(2)} s${rate}`);
      const runs: StepOutcome[] = [];
      for (const other of others) {
        const pairs: Pair[] = [];
        for (let round = 1; round <= rounds; round++) {
          const sliced = await slicedRound(round, cut.slices, (side, slice) => measureStep(side === 'default' ? base : other.loaded, plan, cut.slice, slice));
          const onBase = joinOutcomes(step, sliced.base);
          const onOther = joinOutcomes(step, sliced.variant);
          reportStep(base.peer, plan, onBase, problems);
          reportStep(other.loaded.peer, plan, onOther, problems);
          runs.push(onBase);
          const pair = { base: cellSample(onBase), variant: cellSample(onOther) };
          if (Number.isFinite(pair.base.opsPerSec) && Number.isFinite(pair.variant.opsPerSec)) pairs.push(pair);
        }
        other.cells.push({ step, pairs });
        if (pairs.length > 0) out(describePairs(`    ${peer.name} ${describeStep(step)}`, other.variant, pairs));
      }
      steps.push(medianCell(runs));
    }
    return { outcome: { peer, detail: base.store.detail, loadSeconds: base.loadSeconds, steps, profiles: {} }, variants: others.map((o) => ({ variant: o.variant, cells: o.cells })) };
  } catch (err) {
    problems.push(`${plan.label}, ${peer.name}: ${firstLine(err)}`);
    return { outcome: { peer, detail: base.store.detail, steps, profiles: {} }, variants: others.map((o) => ({ variant: o.variant, cells: o.cells })) };
  } finally {
    await close(peer, base.store, plan, problems);
    for (const other of others) await close(other.loaded.peer, other.loaded.store, plan, problems);
  }
}

/** A skipped cell (no scans) has no figures: NaN, which drops its pair. */
function cellSample(outcome: StepOutcome): Sample {
  return outcome.result === undefined
    ? { opsPerSec: Number.NaN, serverCpuUsPerOp: Number.NaN }
    : { opsPerSec: outcome.result.opsPerSec, serverCpuUsPerOp: outcome.result.serverCpuUsPerOp };
}

/** The run of median throughput (the lower middle for an even count), or the first when none has figures. */
function medianCell(runs: readonly StepOutcome[]): StepOutcome {
  const measured = runs.filter((r) => r.result !== undefined).sort((a, b) => (a.result?.opsPerSec ?? 0) - (b.result?.opsPerSec ?? 0));
  return measured[Math.ceil(measured.length / 2) - 1] ?? (runs[0] as StepOutcome);
}

/** Inserts among the first `issued` operations: the record numbers they used. */
function countInserts(kinds: Uint8Array, issued: number): number {
  const insert = OP_KINDS.indexOf('insert');
  let n = 0;
  for (let i = 0; i < issued; i++) if (kinds[i] === insert) n++;
  return n;
}

export function describeStep(step: Step): string {
  return step.pacedPerSecond === undefined ? `${step.workload} @${step.inFlight}` : `${step.workload} paced ${step.pacedPerSecond}/s`;
}

function us(n: number): string {
  return Number.isFinite(n) ? int(n) : '-';
}

export function describeResult(r: CellResult): string {
  const server = Number.isFinite(r.serverCpuPercent)
    ? `server CPU ${r.serverCpuPercent.toFixed(0)}% (${r.serverCpuUsPerOp.toFixed(0)} µs/op), RSS ${r.serverRssMb.toFixed(0)} MB, load generator CPU ${r.benchCpuPercent.toFixed(0)}%`
    : `in process (bench CPU ${r.benchCpuPercent.toFixed(0)}%)`;
  return `${int(r.opsPerSec)} ops/s (${int(r.ops)} ops in ${r.seconds.toFixed(1)} s), p50 ${us(r.latency.p50Us)} µs, p95 ${us(r.latency.p95Us)} µs, p99 ${us(r.latency.p99Us)} µs, ${server}, rest of machine ${r.otherCpuPercent.toFixed(0)}%`;
}
