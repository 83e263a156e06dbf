/**
 * Paired, interleaved measurement of a server variant beside the default server: in each round the
 * two run back to back, the default first in odd rounds and second in even ones, so neither always
 * follows the other's burst. On a machine that drifts by tens of percent between rounds, the ratio
 * within a round is far steadier than either figure; the summary is the median of the per-round
 * ratios with their range, for throughput and for the server's CPU per operation (steadier still:
 * it does not count the time the server waited for a CPU another process held).
 */
import { table } from './markdown.js';
import { harmonicMean, mean, median } from './stats.js';
import type { ServerVariant } from './variants.js';

/** What a pair compares: one measurement of one side. */
export interface Sample {
  readonly opsPerSec: number;
  /** CPU µs per operation of the server process(es); NaN when /proc cannot see them. */
  readonly serverCpuUsPerOp: number;
  /** CPU µs per operation of the store's own processes (PostgreSQL's backends), where they are measured. */
  readonly storeCpuUsPerOp?: number;
}

export interface Pair<T extends Sample = Sample> {
  readonly base: T;
  readonly variant: T;
  /** For a couple of rounds (couplesOf): the two rounds it joins, in the order they ran. */
  readonly rounds?: readonly [Pair<T>, Pair<T>];
}

/** Default and variant back to back, the default first in odd rounds (round counts from 1). */
export async function pairedRound<T>(round: number, runDefault: () => Promise<T>, runVariant: () => Promise<T>): Promise<{ readonly base: T; readonly variant: T }> {
  if (round % 2 === 1) {
    const base = await runDefault();
    return { base, variant: await runVariant() };
  }
  const variant = await runVariant();
  return { base: await runDefault(), variant };
}

/**
 * One paired round cut into `slices` alternating slices per side, in ABBA order: the pairs of
 * slices alternate which side goes first, and the first pair follows pairedRound's rule (the
 * default first in odd rounds): A B B A A B B A in odd rounds, B A A B B A A B in even ones. Load
 * that changes within the round (another process's burst of a second or two, a load rising
 * throughout) then falls on both sides alike, which two back-to-back whole runs cannot give on a
 * shared machine. `run(side, slice)` measures slice `slice` (0 ≤ slice < slices) of one side; the
 * slices of each side come back in the order they ran, for the caller to join (joinSlices).
 */
export async function slicedRound<T>(round: number, slices: number, run: (side: 'default' | 'variant', slice: number) => Promise<T>): Promise<{ readonly base: T[]; readonly variant: T[] }> {
  const base: T[] = [];
  const variant: T[] = [];
  for (let slice = 0; slice < slices; slice++) {
    const pair = await pairedRound(round + slice, () => run('default', slice), () => run('variant', slice));
    base.push(pair.base);
    variant.push(pair.variant);
  }
  return { base, variant };
}

/**
 * Slices of one side, each of the same number of operations, as one sample: the throughput of all
 * their operations over all their time (the harmonic mean of the slices' rates, so a slow slice
 * weighs by the time it took) and the mean CPU per operation.
 */
export function joinSlices(slices: readonly Sample[]): Sample {
  if (slices.length === 0) throw new RangeError('joinSlices needs at least one slice');
  const store = slices.map((s) => s.storeCpuUsPerOp ?? Number.NaN);
  return {
    opsPerSec: harmonicMean(slices.map((s) => s.opsPerSec)),
    serverCpuUsPerOp: mean(slices.map((s) => s.serverCpuUsPerOp)),
    ...(slices.some((s) => s.storeCpuUsPerOp !== undefined) ? { storeCpuUsPerOp: mean(store) } : {}),
  };
}

/** A slice's fewest operations per operation in flight: the ramp at its start and the drain at its end stay a small part of it. */
const SLICE_OPS_PER_IN_FLIGHT_MIN = 4;
/** A slice's fewest operations: at 1 in flight, enough that one slow operation does not set its rate. */
const SLICE_OPS_MIN = 100;

/**
 * How many slices `ops` operations at `inFlight` outstanding split into, at most `wanted` and at
 * least 1, each long enough to measure (the constants above); and the operations of each (equal
 * slices, the remainder left out).
 */
export function sliceSizes(ops: number, inFlight: number, wanted: number): { readonly slices: number; readonly opsEach: number } {
  const minOps = Math.max(SLICE_OPS_MIN, SLICE_OPS_PER_IN_FLIGHT_MIN * inFlight);
  const slices = Math.max(1, Math.min(wanted, Math.floor(ops / minOps)));
  return { slices, opsEach: Math.floor(ops / slices) };
}

/**
 * Slices of a run bounded by operations and by time, whichever comes first (a YCSB cell), that a
 * first run found going at `opsPerSec`: as many as sliceSizes allows for the operations the run
 * is expected to complete (at its time bound, where that comes first), each with its share of the
 * operations and of the time. Sizing by the operations alone would let a time-bound cell at 1,024
 * in flight be cut into slices that end on time with a few operations per operation in flight,
 * mostly ramp and drain.
 */
export function boundedSliceSizes(ops: number, seconds: number, opsPerSec: number, inFlight: number, wanted: number): { readonly slices: number; readonly opsEach: number; readonly secondsEach: number } {
  const expected = Number.isFinite(opsPerSec) && opsPerSec > 0 ? Math.min(ops, Math.floor(opsPerSec * seconds)) : ops;
  const { slices } = sliceSizes(expected, inFlight, wanted);
  return { slices, opsEach: Math.floor(ops / slices), secondsEach: seconds / slices };
}

/**
 * A step measured once per round: `rounds` paired rounds of `measure` (one more if that is odd), on
 * the default's side and on the variant's, as couples of rounds (couplesOf).
 */
export async function coupledRounds(rounds: number, measure: (side: 'default' | 'variant', round: number) => Promise<Sample>): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let round = 1; round <= evenRounds(rounds); round++) pairs.push(await pairedRound(round, () => measure('default', round), () => measure('variant', round)));
  return couplesOf(pairs);
}

/**
 * A step measured once per round on each side (a fresh server's load, a whole events run, an
 * import) has only pairedRound's alternation against an order effect: the median of its rounds'
 * ratios takes its value from the order more rounds had (with 5 rounds the default went first in
 * 3), so whatever going first costs leans the figure. Such a step runs an even number of rounds and
 * is judged on couples of them, rounds 1 and 2, 3 and 4, ...: each side goes first once in a couple,
 * and the couple's figures are the geometric means of its two rounds', so its ratio is the geometric
 * mean of the two rounds' ratios and whatever the order costs cancels. A round left without a
 * partner (an odd count) is dropped.
 */
export function couplesOf<T extends Sample>(pairs: readonly Pair<T>[]): Pair<Sample>[] {
  const couples: Pair<Sample>[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const first = pairs[i] as Pair<T>;
    const second = pairs[i + 1] as Pair<T>;
    couples.push({ base: geometricSample(first.base, second.base), variant: geometricSample(first.variant, second.variant), rounds: [first, second] });
  }
  return couples;
}

/** The rounds a step measured once per round runs: `rounds`, or one more to make whole couples. */
export function evenRounds(rounds: number): number {
  return rounds + (rounds % 2);
}

function geometricSample(a: Sample, b: Sample): Sample {
  const g = (x: number, y: number): number => Math.sqrt(x * y);
  return {
    opsPerSec: g(a.opsPerSec, b.opsPerSec),
    serverCpuUsPerOp: g(a.serverCpuUsPerOp, b.serverCpuUsPerOp),
    ...(a.storeCpuUsPerOp !== undefined || b.storeCpuUsPerOp !== undefined ? { storeCpuUsPerOp: g(a.storeCpuUsPerOp ?? Number.NaN, b.storeCpuUsPerOp ?? Number.NaN) } : {}),
  };
}

/** The pairs of one figure out of pairs of measurements that each give several. */
export function pairsOf<T, S extends Sample>(pairs: readonly { readonly base: T; readonly variant: T }[], figure: (measured: T) => S): Pair<S>[] {
  return pairs.map((p) => ({ base: figure(p.base), variant: figure(p.variant) }));
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface PairSummary {
  /** Throughput of the compared side over the reference's, per round. */
  readonly throughput: Spread;
  /** Server CPU µs/op of the compared side over the reference's, per round (above 1: it costs more); NaN without CPU figures. */
  readonly cpu: Spread;
  /** The same for the store's processes (PostgreSQL's backends); NaN where they are not measured. */
  readonly storeCpu: Spread;
  readonly rounds: number;
  /** The verdict on the median throughput ratio; undefined where no issue sets a target. */
  readonly pass?: boolean;
}

function spread(values: readonly number[]): Spread {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
}

/** The compared side is the variant, except for a baseline (an older build, bounds off), where it is this build: below 1 always means this build is slower. */
function sides(variant: ServerVariant, pair: Pair): { compared: Sample; reference: Sample } {
  return variant.baseline === true ? { compared: pair.base, reference: pair.variant } : { compared: pair.variant, reference: pair.base };
}

function throughputRatio(variant: ServerVariant, pair: Pair): number {
  const { compared, reference } = sides(variant, pair);
  return compared.opsPerSec / reference.opsPerSec;
}

export function summarize(variant: ServerVariant, pairs: readonly Pair[]): PairSummary {
  const oriented = pairs.map((p) => sides(variant, p));
  const throughput = spread(pairs.map((p) => throughputRatio(variant, p)));
  const cpu = spread(oriented.map((s) => s.compared.serverCpuUsPerOp / s.reference.serverCpuUsPerOp));
  const storeCpu = spread(oriented.map((s) => (s.compared.storeCpuUsPerOp ?? Number.NaN) / (s.reference.storeCpuUsPerOp ?? Number.NaN)));
  // Judged as printed, so a printed 0.950 passes >= 0.95.
  const pass = variant.target === undefined ? undefined : Number(throughput.median.toFixed(3)) >= variant.target.min;
  return { throughput, cpu, storeCpu, rounds: pairs.length, ...(pass === undefined ? {} : { pass }) };
}

/** "auth on / this build" or, for a baseline, "this build / old-layout". */
export function ratioName(variant: ServerVariant): string {
  return variant.baseline === true ? `this build / ${variant.label}` : `${variant.label} / this build`;
}

function describeSpread(s: Spread): string {
  return Number.isFinite(s.median) ? `${s.median.toFixed(3)} (${s.min.toFixed(3)}-${s.max.toFixed(3)})` : '-';
}

/** One printed line: the step, the ratios (median and range over rounds) and, where an issue sets one, the target and verdict. */
export function describePairs(step: string, variant: ServerVariant, pairs: readonly Pair[]): string {
  const s = summarize(variant, pairs);
  const target = variant.target === undefined || s.pass === undefined
    ? ''
    : `; ${variant.target.issue} target: throughput >= ${variant.target.min.toFixed(2)}: ${s.pass ? 'PASS' : 'MISS'}`;
  const store = Number.isFinite(s.storeCpu.median) ? `, PostgreSQL CPU µs/op ${describeSpread(s.storeCpu)}` : '';
  return `${step}, ${ratioName(variant)}: throughput ${describeSpread(s.throughput)}, server CPU µs/op ${describeSpread(s.cpu)}${store}, `
    + `${describeRounds(pairs, s.rounds)} (throughput per round: ${perRound(variant, pairs)})${target}`;
}

function describeRounds(pairs: readonly Pair[], n: number): string {
  if (pairs[0]?.rounds === undefined) return `median of ${n} paired round${n === 1 ? '' : 's'}`;
  return `median of ${n} couple${n === 1 ? '' : 's'} of paired rounds, each side first once in a couple`;
}

/** The throughput ratio of each round, in the order they ran; a couple's two rounds joined by "/". */
function perRound(variant: ServerVariant, pairs: readonly Pair[]): string {
  const ratio = (p: Pair): string => throughputRatio(variant, p).toFixed(3);
  return pairs.map((p) => (p.rounds === undefined ? ratio(p) : p.rounds.map(ratio).join('/'))).join(' ');
}

/** One step's pairs with one variant: a row of pairsTable. */
export interface PairRow {
  readonly step: string;
  readonly variant: ServerVariant;
  readonly pairs: readonly Pair[];
}

/** A Markdown table of paired comparisons, one row per step and variant: the report's copy of the printed lines. */
export function pairsTable(rows: readonly PairRow[]): string {
  return table(['step', 'ratio', 'throughput (range)', 'server CPU µs/op (range)', 'rounds', 'target', 'verdict'], rows.map(({ step, variant, pairs }) => {
    const s = summarize(variant, pairs);
    const rounds = pairs[0]?.rounds === undefined ? String(s.rounds) : `${s.rounds} couple${s.rounds === 1 ? '' : 's'} (${2 * s.rounds} rounds)`;
    return [step, ratioName(variant), describeSpread(s.throughput), describeSpread(s.cpu), rounds,
      variant.target === undefined ? '-' : `>= ${variant.target.min.toFixed(2)} (${variant.target.issue})`, s.pass === undefined ? '-' : s.pass ? 'PASS' : 'MISS'];
  }), 2);
}
