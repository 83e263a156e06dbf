/**
 * Steps 1-5 of the bench, the foundation's figures, printed (the report carries their console
 * lines):
 *  1. bare node:http (own process): the ceiling of any Node HTTP service here;
 *  2. spacekv REST get of random existing keys (own process);
 *  3. spacekv REST durable put of random keys;
 *  4. in process: Engine + SqliteStore durable puts, group commit vs one commit per write, beside
 *     raw better-sqlite3 doing the same upserts one transaction per write and batched;
 *  5. an idle spacekv server: RSS and CPU;
 * steps 2-3 also run on each server variant of --variants (variants.ts), paired round by round with
 * the default server, each side's run of a round cut into ABBA slices (--slices), and the ratios are
 * printed (paired.ts);
 * then one table of every figure, and the targets with their verdicts. Steps 1-3 use one load
 * generator with one configuration.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type autocannon from 'autocannon';
import { type ChildServer, startBareServer, startSpacekvServer } from './child-server.js';
import { type LoadResult, type LoadSpec, joinLoads, medianOfRounds, runLoad, warmUp } from './load.js';
import type { BenchOptions } from './options.js';
import { type Pair, type Sample, describePairs, sliceSizes, slicedRound } from './paired.js';
import { type IdleSample, sampleIdle } from './proc-stats.js';
import { out, printHttpStep, printIdle, printTable, printWriteStep } from './report.js';
import { SPACE, commitCounters, createSpace, preload, randomGets, randomPuts } from './rest-fixtures.js';
import { type Section, type SectionContext, runsPerRound } from './section.js';
import { mean, median } from './stats.js';
import { type EngineFigures, type RawFigures, engineWorkloads, rawSqliteWorkloads } from './store-workloads.js';
import { verdicts } from './targets.js';
import { DEFAULT_SERVER, type ServerVariant } from './variants.js';

export const httpSection: Section = {
  id: 'http',
  title: 'Steps 1-5: REST vs bare node:http, group commit vs raw SQLite, idle server',
  byDefault: true,
  async run(c) {
    const o = c.options;
    out(`[1-5] autocannon, ${o.connections} keep-alive connections, pipelining 1, ${o.durationSeconds} s per HTTP step after ${o.warmupSeconds} s warm-up`);
    const http = await httpSteps(c);
    printHttpFigures(http, o);
    const inProcess = await inProcessSteps(c);
    const idle = await idleStep(c, http.afterLoad);
    const table = { ...http, ...inProcess, idle };
    printTable(table, verdicts(table));
  },
  estimateSeconds({ options: o }) {
    // Per round: bare, then get and put each timed on the default and in slices beside each variant.
    const runs = o.rounds * (1 + 2 * (1 + 2 * o.variants.length));
    // A slice opens its connections afresh and ends with a sample's wait; a step in slices warms up for at least SIZING_SECONDS.
    const slices = o.variants.length === 0 ? 0 : o.rounds * 2 * runsPerRound(o.variants.length) * o.slices;
    const warmUps = 3 + 2 * o.variants.length;
    const sizing = o.variants.length === 0 ? 0 : 2 * (1 + o.variants.length) * Math.max(0, SIZING_SECONDS - o.warmupSeconds);
    // Servers' start-up and pre-load, the in-process step 4 (about 20 s full size), and step 5.
    const fixed = (o.tiny ? 5 : 30) + 3 * (2 + o.variants.length) + o.settleSeconds * 2 + o.idleSeconds * 2;
    return runs * o.durationSeconds + slices * 0.05 + warmUps * o.warmupSeconds + sizing + fixed;
  },
};

interface HttpStep {
  readonly label: string;
  readonly server: ChildServer;
  readonly requestsFor: (client: number) => autocannon.Request[];
  readonly rounds: LoadResult[];
  /** For writes: the mean writes per durable commit the server reported in each round. */
  readonly writesPerCommit?: number[];
  /** Set once the step has had its unmeasured warm-up. */
  warmed: boolean;
  /** Requests per second in the warm-up, where it had one: what sizes the slices of a paired round. */
  rate?: number;
}

/** A run of a step's load, with the writes per durable commit the server reported over it (puts). */
interface StepRun {
  readonly result: LoadResult;
  readonly writesPerCommit?: number;
}

/**
 * The step's one unmeasured warm-up, before its first run; it gives the step its rate (requests per
 * second, all over all its time), which sizes the slices of a paired round. A step measured in
 * slices warms up at least SIZING_SECONDS for that, even where --tiny sets no warm-up.
 */
async function warmUpOnce(c: SectionContext, step: HttpStep, atLeastSeconds = 0): Promise<void> {
  if (step.warmed) return;
  const { options } = c;
  const warm = await warmUp({ url: step.server.url, connections: options.connections, requestsFor: step.requestsFor, serverPid: step.server.pid },
    Math.max(options.warmupSeconds, atLeastSeconds));
  step.warmed = true;
  if (warm !== undefined) step.rate = warm.requests / warm.seconds;
}

/** The shortest warm-up of a step measured in slices: long enough to tell its rate. */
const SIZING_SECONDS = 0.5;

/** One run of the step's load, of so many seconds or requests (load.ts), after the step's warm-up. */
async function loadOnce(c: SectionContext, step: HttpStep, length: LoadSpec['length']): Promise<StepRun> {
  await warmUpOnce(c, step);
  const before = step.writesPerCommit ? await commitCounters(step.server.url) : undefined;
  const result = await runLoad({ url: step.server.url, connections: c.options.connections, length, requestsFor: step.requestsFor, serverPid: step.server.pid });
  if (before === undefined) return { result };
  const after = await commitCounters(step.server.url);
  return { result, writesPerCommit: (after.writes - before.writes) / (after.batches - before.batches) };
}

/**
 * A round's figure of a step: printed and checked for failed requests, and kept among its rounds
 * unless `keep` is false (a paired round's joined slices, which are not timed like the bare peer's runs).
 */
function record(c: SectionContext, step: HttpStep, round: number, run: StepRun, keep = true): LoadResult {
  const { result, writesPerCommit } = run;
  if (keep) step.rounds.push(result);
  printHttpStep(`    round ${round}, ${step.label}`, result);
  if (writesPerCommit !== undefined && step.writesPerCommit) {
    if (keep) step.writesPerCommit.push(writesPerCommit);
    out(`      group commit: ${writesPerCommit.toFixed(1)} writes per durable commit (the server's spacekv_commit_batch_size)`);
  }
  if (result.responses2xx === 0) c.problems.push(`${step.label}, round ${round}: no successful response`);
  if (result.non2xx + result.errors > 0) c.problems.push(`${step.label}, round ${round}: ${result.non2xx} non-2xx responses, ${result.errors} connection errors`);
  return result;
}

async function measureRound(c: SectionContext, step: HttpStep, round: number): Promise<LoadResult> {
  return record(c, step, round, await loadOnce(c, step, { seconds: c.options.durationSeconds }));
}

/**
 * A round of the default's step beside a variant's: the requests the default's warm-up rate makes
 * in --duration, cut into slices (paired.ts's sliceSizes, connections in flight) that both sides
 * run in ABBA order, each side's slices joined into its figure of the round.
 */
async function measurePairedRound(c: SectionContext, base: HttpStep, variant: HttpStep, round: number): Promise<Pair> {
  for (const step of [base, variant]) await warmUpOnce(c, step, SIZING_SECONDS);
  const { connections, durationSeconds, slices: wanted } = c.options;
  const expected = Math.round((base.rate ?? Number.NaN) * durationSeconds);
  // A warm-up with no response leaves no rate: the round is then one slice, and its failures are reported.
  const { slices, opsEach } = Number.isFinite(expected) ? sliceSizes(expected, connections, wanted) : { slices: 1, opsEach: connections };
  // autocannon refuses fewer requests than connections.
  const requests = Math.max(opsEach, connections);
  const sliced = await slicedRound(round, slices, (side) => loadOnce(c, side === 'default' ? base : variant, { requests }));
  const joined = (step: HttpStep, runs: readonly StepRun[]): Sample => {
    const perCommit = runs.map((r) => r.writesPerCommit).filter((x): x is number => x !== undefined);
    const run = { result: joinLoads(runs.map((r) => r.result)), ...(perCommit.length > 0 ? { writesPerCommit: mean(perCommit) } : {}) };
    return asSample(record(c, step, round, run, false));
  };
  return { base: joined(base, sliced.base), variant: joined(variant, sliced.variant) };
}

async function stopCleanly(c: SectionContext, server: ChildServer): Promise<void> {
  const exit = await server.stop();
  if (exit.code !== 0) c.problems.push(`${server.name} did not shut down cleanly (code ${exit.code}, signal ${exit.signal})\n${exit.stderrTail}`);
}

async function settledIdle(server: ChildServer, o: BenchOptions): Promise<IdleSample> {
  await sleep(o.settleSeconds * 1000);
  return sampleIdle(server.pid, o.idleSeconds);
}

/** A variant's get and put, each paired round by round with the default server's. */
interface VariantFigures {
  readonly variant: ServerVariant;
  readonly get: Pair[];
  readonly put: Pair[];
}

interface HttpFigures {
  readonly bare: LoadResult;
  readonly restGet: LoadResult;
  readonly restPut: LoadResult;
  readonly restPutWritesPerCommit: number;
  readonly variants: readonly VariantFigures[];
  readonly afterLoad: IdleSample;
}

const asSample = (r: LoadResult): Sample => ({ opsPerSec: r.reqPerSec, serverCpuUsPerOp: r.serverCpuUsPerRequest });

/**
 * Steps 1-3, in interleaved rounds; every server stays up throughout, only the one under load
 * works. Each round runs the default's get (then put) timed as the bare peer is, for the figures
 * against it; with variants, then beside each variant's in ABBA slices, for the pairs' ratios.
 */
async function httpSteps(c: SectionContext): Promise<HttpFigures> {
  const o = c.options;
  const bareServer = await startBareServer();
  const servers: ChildServer[] = [];
  try {
    const start = async (variant: ServerVariant, dir: string): Promise<{ server: ChildServer; token?: string }> => {
      const started = await variant.start(join(c.root, dir), {}, [SPACE]);
      servers.push(started.server);
      await createSpace(started.server.url, started.token);
      return started;
    };
    const spacekv = (await start(DEFAULT_SERVER, 'rest')).server;
    const variantServers = [];
    for (const [i, variant] of o.variants.entries()) variantServers.push({ variant, ...await start(variant, `rest-variant-${i}`) });
    const preloadStarted = performance.now();
    await preload(spacekv.url, o.keys, o.connections);
    for (const v of variantServers) await preload(v.server.url, o.keys, o.connections, v.token);
    const preloadSeconds = (performance.now() - preloadStarted) / 1000;
    const step = (label: string, server: ChildServer, requestsFor: HttpStep['requestsFor'], writes: boolean): HttpStep =>
      ({ label, server, requestsFor, rounds: [], warmed: false, ...(writes ? { writesPerCommit: [] } : {}) });
    const bare = step('bare node:http GET', bareServer, () => randomGets(o.keys), false);
    const get = step('spacekv REST get', spacekv, () => randomGets(o.keys), false);
    const put = step('spacekv REST put', spacekv, () => randomPuts(o.keys), true);
    const variants = variantServers.map((v) => ({
      variant: v.variant,
      get: step(`spacekv REST get, ${v.variant.label}`, v.server, () => randomGets(o.keys, v.token), false),
      put: step(`spacekv REST put, ${v.variant.label}`, v.server, () => randomPuts(o.keys, v.token), true),
      pairs: { get: [] as Pair[], put: [] as Pair[] },
    }));
    const also = variants.length === 0 ? '' : `, each paired with ${variants.map((v) => v.variant.label).join(', ')}`;
    out(`[1-3] HTTP steps in ${o.rounds} interleaved round${o.rounds === 1 ? '' : 's'} (bare, get, put${also}), ${o.keys} keys pre-loaded `
      + `(${1 + variants.length} server${variants.length === 0 ? '' : 's'}) in ${preloadSeconds.toFixed(1)} s`);
    for (let round = 1; round <= o.rounds; round++) {
      await measureRound(c, bare, round);
      for (const op of ['get', 'put'] as const) {
        const base = op === 'get' ? get : put;
        // Timed like the bare peer's runs, with or without variants: the targets against bare
        // node:http compare these. A paired round's slices each open their connections anew and
        // end at their last response, so their joined rate is only comparable with its pair's.
        await measureRound(c, base, round);
        for (const v of variants) v.pairs[op].push(await measurePairedRound(c, base, v[op], round));
      }
    }
    const afterLoad = await settledIdle(spacekv, o);
    return {
      bare: medianOfRounds(bare.rounds), restGet: medianOfRounds(get.rounds), restPut: medianOfRounds(put.rounds),
      restPutWritesPerCommit: median(put.writesPerCommit ?? []), afterLoad,
      variants: variants.map((v) => ({ variant: v.variant, get: v.pairs.get, put: v.pairs.put })),
    };
  } finally {
    await bareServer.stop(); // killed by SIGTERM: its exit status says nothing about the figures
    for (const server of servers) await stopCleanly(c, server);
  }
}

function printHttpFigures(f: HttpFigures, o: BenchOptions): void {
  const of = o.rounds === 1 ? '' : ` (median of ${o.rounds} rounds)`;
  out(`[1] bare node:http in its own process, fixed 100-byte JSON body${of}`);
  printHttpStep('    GET', f.bare);
  out(`[2] spacekv REST get of random existing keys${of}`);
  printHttpStep('    GET /v1/spaces/bench/objects/<key>', f.restGet);
  out(`[3] spacekv REST durable put of random keys, 100-byte value${of}`);
  printHttpStep('    PUT /v1/spaces/bench/objects/<key>', f.restPut);
  out(`      group commit: ${f.restPutWritesPerCommit.toFixed(1)} writes per durable commit`);
  if (f.variants.length === 0) return;
  out('[2-3] server variants beside this build, paired in each round (ratio per round, median and range):');
  for (const v of f.variants) {
    out(describePairs('    REST get', v.variant, v.get));
    out(describePairs('    REST put', v.variant, v.put));
  }
}

/** Step 4: the engine first, then raw SQLite batching as many writes per transaction as the engine's group commit did. */
async function inProcessSteps(c: SectionContext): Promise<{ engine: EngineFigures; raw: RawFigures; batch: number }> {
  const o = c.options;
  out(`[4] in process: durable puts through Engine + SqliteStore, and raw better-sqlite3 (WAL, synchronous=FULL)`);
  const engine = await engineWorkloads(join(c.root, 'engine'), o.groupWrites, o.writers, o.serialWrites);
  printWriteStep(`engine group commit, ${o.writers} concurrent writers`, engine.groupCommit);
  printWriteStep('engine one commit per write (each put awaited)', engine.commitPerWrite);
  const observed = Math.round(engine.groupCommit.meanBatch);
  const batch = observed >= 1 ? observed : o.writers;
  mkdirSync(join(c.root, 'raw'));
  const raw = rawSqliteWorkloads(join(c.root, 'raw'), o.groupWrites, batch, o.serialWrites);
  printWriteStep('raw better-sqlite3, one transaction per write', raw.transactionPerWrite);
  printWriteStep(`raw better-sqlite3, ${batch} writes per transaction`, raw.batched);
  return { engine, raw, batch };
}

/** Step 5: a fresh server, left alone after startup. */
async function idleStep(c: SectionContext, afterLoad: IdleSample): Promise<IdleSample> {
  const o = c.options;
  out(`[5] idle spacekv server: RSS and CPU, ${o.settleSeconds} s after startup, over ${o.idleSeconds} s`);
  const server = await startSpacekvServer(join(c.root, 'idle'));
  let idle: IdleSample;
  try {
    idle = await settledIdle(server, o);
  } finally {
    await stopCleanly(c, server);
  }
  out(`    startup: ${server.startupMs.toFixed(0)} ms to 'spacekv serving'`);
  printIdle('after startup', idle);
  printIdle('after steps 2-3 (same settle, informational)', afterLoad);
  return idle;
}
