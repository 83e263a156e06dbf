/**
 * Steps 1-5 of the bench, the foundation's figures, printed (the report carries their console
 * lines):
 *  1. bare node:http (own process): the ceiling of any Node HTTP service here;
 *  2. spacekv REST get of random existing keys (own process);
 *  3. spacekv REST durable put of random keys;
 *  4. in process: Engine + SqliteStore durable puts, group commit vs one commit per write, beside
 *     raw better-sqlite3 doing the same upserts one transaction per write and batched;
 *  5. an idle spacekv server: RSS and CPU;
 * steps 2-3 also run against a server that requires tokens, every request carrying one, and the
 * ratio of the two is printed (auth may cost at most 5%);
 * then one table of every figure, and the targets with their verdicts. Steps 1-3 use one load
 * generator with one configuration.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type autocannon from 'autocannon';
import { type ChildServer, startAuthedSpacekvServer, startBareServer, startSpacekvServer } from './child-server.js';
import { type LoadResult, medianOfRounds, runLoad, warmUp } from './load.js';
import type { BenchOptions } from './options.js';
import { type IdleSample, sampleIdle } from './proc-stats.js';
import { out, printHttpStep, printIdle, printTable, printWriteStep } from './report.js';
import { SPACE, commitCounters, createSpace, preload, randomGets, randomPuts } from './rest-fixtures.js';
import type { Section, SectionContext } from './section.js';
import { median } from './stats.js';
import { type EngineFigures, type RawFigures, engineWorkloads, rawSqliteWorkloads } from './store-workloads.js';
import { verdicts } from './targets.js';

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
};

interface HttpStep {
  readonly label: string;
  readonly server: ChildServer;
  readonly requestsFor: (client: number) => autocannon.Request[];
  readonly rounds: LoadResult[];
  /** For writes: the mean writes per durable commit the server reported in each round. */
  readonly writesPerCommit?: number[];
}

async function measureRound(c: SectionContext, step: HttpStep, round: number): Promise<void> {
  const { options, problems } = c;
  const spec = { url: step.server.url, connections: options.connections, durationSeconds: options.durationSeconds, requestsFor: step.requestsFor, serverPid: step.server.pid };
  if (round === 1) await warmUp(spec, options.warmupSeconds);
  const before = step.writesPerCommit ? await commitCounters(step.server.url) : undefined;
  const result = await runLoad(spec);
  step.rounds.push(result);
  printHttpStep(`    round ${round}, ${step.label}`, result);
  if (before && step.writesPerCommit) {
    const after = await commitCounters(step.server.url);
    const perCommit = (after.writes - before.writes) / (after.batches - before.batches);
    step.writesPerCommit.push(perCommit);
    out(`      group commit: ${perCommit.toFixed(1)} writes per durable commit (the server's spacekv_commit_batch_size)`);
  }
  if (result.responses2xx === 0) problems.push(`${step.label}, round ${round}: no successful response`);
  if (result.non2xx + result.errors > 0) problems.push(`${step.label}, round ${round}: ${result.non2xx} non-2xx responses, ${result.errors} connection errors`);
}

async function stopCleanly(c: SectionContext, server: ChildServer): Promise<void> {
  const exit = await server.stop();
  if (exit.code !== 0) c.problems.push(`${server.name} did not shut down cleanly (code ${exit.code}, signal ${exit.signal})\n${exit.stderrTail}`);
}

async function settledIdle(server: ChildServer, o: BenchOptions): Promise<IdleSample> {
  await sleep(o.settleSeconds * 1000);
  return sampleIdle(server.pid, o.idleSeconds);
}

interface HttpFigures {
  readonly bare: LoadResult;
  readonly restGet: LoadResult;
  readonly restPut: LoadResult;
  /** The same get and put on a server that requires tokens, each request carrying one. */
  readonly restGetAuth: LoadResult;
  readonly restPutAuth: LoadResult;
  readonly restPutWritesPerCommit: number;
  readonly afterLoad: IdleSample;
}

/** Steps 1-3, in interleaved rounds; both servers stay up throughout, only the one under load works. */
async function httpSteps(c: SectionContext): Promise<HttpFigures> {
  const o = c.options;
  const bareServer = await startBareServer();
  let spacekv: ChildServer | undefined;
  let authed: ChildServer | undefined;
  try {
    spacekv = await startSpacekvServer(join(c.root, 'rest'));
    const withAuth = await startAuthedSpacekvServer(join(c.root, 'rest-auth'), SPACE);
    authed = withAuth.server;
    const token = withAuth.token;
    await createSpace(spacekv.url);
    await createSpace(authed.url, token);
    const preloadStarted = performance.now();
    await preload(spacekv.url, o.keys, o.connections);
    await preload(authed.url, o.keys, o.connections, token);
    const preloadSeconds = (performance.now() - preloadStarted) / 1000;
    const steps: HttpStep[] = [
      { label: 'bare node:http GET', server: bareServer, requestsFor: () => randomGets(o.keys), rounds: [] },
      { label: 'spacekv REST get', server: spacekv, requestsFor: () => randomGets(o.keys), rounds: [] },
      { label: 'spacekv REST put', server: spacekv, requestsFor: () => randomPuts(o.keys), rounds: [], writesPerCommit: [] },
      { label: 'spacekv REST get, auth on', server: authed, requestsFor: () => randomGets(o.keys, token), rounds: [] },
      { label: 'spacekv REST put, auth on', server: authed, requestsFor: () => randomPuts(o.keys, token), rounds: [], writesPerCommit: [] },
    ];
    out(`[1-3] HTTP steps in ${o.rounds} interleaved round${o.rounds === 1 ? '' : 's'} (bare, get, put, get and put with auth on), ${o.keys} keys pre-loaded (twice) in ${preloadSeconds.toFixed(1)} s`);
    for (let round = 1; round <= o.rounds; round++) {
      for (const step of steps) await measureRound(c, step, round);
    }
    const afterLoad = await settledIdle(spacekv, o);
    const [bare, restGet, restPut, restGetAuth, restPutAuth] = steps.map((step) => medianOfRounds(step.rounds)) as [LoadResult, LoadResult, LoadResult, LoadResult, LoadResult];
    return { bare, restGet, restPut, restGetAuth, restPutAuth, restPutWritesPerCommit: median(steps[2]?.writesPerCommit ?? []), afterLoad };
  } finally {
    await bareServer.stop(); // killed by SIGTERM: its exit status says nothing about the figures
    if (spacekv) await stopCleanly(c, spacekv);
    if (authed) await stopCleanly(c, authed);
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
  out(`[2-3] the same with auth on (--auth on, every request with a token for the bench space; target: auth costs at most 5%)${of}`);
  printHttpStep('    GET, auth on', f.restGetAuth);
  printHttpStep('    PUT, auth on', f.restPutAuth);
  const ratio = (on: LoadResult, off: LoadResult) => (on.reqPerSec / off.reqPerSec).toFixed(3);
  out(`      throughput auth on / auth off: get ${ratio(f.restGetAuth, f.restGet)}, put ${ratio(f.restPutAuth, f.restPut)}`);
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
