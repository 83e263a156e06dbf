/**
 * `npm run bench`: spacekv beside its peers in one run on one machine (STYLE.md §14).
 *
 *  1. bare node:http (own process): the ceiling of any Node HTTP service here;
 *  2. spacekv REST get of random existing keys (own process);
 *  3. spacekv REST durable put of random keys;
 *  4. in process: Engine + SqliteStore durable puts, group commit vs one commit per write, beside
 *     raw better-sqlite3 doing the same upserts one transaction per write and batched;
 *  5. an idle spacekv server: RSS and CPU;
 *  6. @spacekv/client over WebSocket, point get and durable put with 1, 64 and 1024 operations in
 *     flight from one process, beside Redis (ioredis) GET, SET, and SET with appendfsync always;
 *  7. the codec microbenchmark behind docs/protocol.md: JSON text frames vs msgpackr;
 *  8. search over 1,000,000 objects: indexed equality search and counts, a full unindexed scan while
 *     point gets continue (server event-loop delay), beside raw SQLite (lib/search.ts);
 *  9. change events under durable writes: to a watcher and to an AMQP consumer (lib/events.ts);
 * 10. PostgreSQL: the client workload on SQLite, on PostgreSQL behind 1 and 2 servers, and raw
 *     PostgreSQL through the driver (lib/postgres.ts).
 *
 * Steps 1-3 use one load generator with one configuration. The run prints figures and verdicts and
 * exits 0 even when a target is missed (it is a report); it exits non-zero only when something broke.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type autocannon from 'autocannon';
import { type ChildServer, killAllChildren, startBareServer, startSpacekvServer } from './lib/child-server.js';
import { clientVsRedis, printClientVsRedis } from './lib/client-vs-redis.js';
import { printCodec, runCodec } from './lib/codec.js';
import { eventsBench, printEvents } from './lib/events.js';
import { SEARCH_FULL, SEARCH_TINY, printSearch, searchBench } from './lib/search.js';
import { type LoadResult, medianOfRounds, runLoad, warmUp } from './lib/load.js';
import { type BenchOptions, parseOptions } from './lib/options.js';
import { type IdleSample, sampleIdle } from './lib/proc-stats.js';
import { postgresBench, printPostgres } from './lib/postgres.js';
import { killRedisChildren } from './lib/redis-peer.js';
import { out, printHttpStep, printIdle, printLoad, printMachine, printTable, printWriteStep, writeReport } from './lib/report.js';
import { commitCounters, createSpace, preload, randomGets, randomPuts } from './lib/rest-fixtures.js';
import { median } from './lib/stats.js';
import { type EngineFigures, type RawFigures, engineWorkloads, rawSqliteWorkloads } from './lib/store-workloads.js';
import { verdicts } from './lib/targets.js';

const options = parseOptions(process.argv.slice(2), process.env);
const root = mkdtempSync(join(tmpdir(), 'spacekv-bench-'));

// Whatever ends the run, no server outlives it and no data is left behind.
function cleanUp(): void {
  killAllChildren();
  killRedisChildren();
  rmSync(root, { recursive: true, force: true });
}
process.on('exit', cleanUp);
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

/** Things that make a figure untrustworthy (errors, non-2xx answers, an unclean shutdown); any one fails the run. */
const problems: string[] = [];

interface HttpStep {
  readonly label: string;
  readonly server: ChildServer;
  readonly requestsFor: (client: number) => autocannon.Request[];
  readonly rounds: LoadResult[];
  /** For writes: the mean writes per durable commit the server reported in each round. */
  readonly writesPerCommit?: number[];
}

async function measureRound(step: HttpStep, round: number): Promise<void> {
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

async function stopCleanly(server: ChildServer): Promise<void> {
  const exit = await server.stop();
  if (exit.code !== 0) problems.push(`${server.name} did not shut down cleanly (code ${exit.code}, signal ${exit.signal})\n${exit.stderrTail}`);
}

async function settledIdle(server: ChildServer, o: BenchOptions): Promise<IdleSample> {
  await sleep(o.settleSeconds * 1000);
  return sampleIdle(server.pid, o.idleSeconds);
}

interface HttpFigures {
  readonly bare: LoadResult;
  readonly restGet: LoadResult;
  readonly restPut: LoadResult;
  readonly restPutWritesPerCommit: number;
  readonly afterLoad: IdleSample;
}

/** Steps 1-3, in interleaved rounds; both servers stay up throughout, only the one under load works. */
async function httpSteps(o: BenchOptions): Promise<HttpFigures> {
  const bareServer = await startBareServer();
  let spacekv: ChildServer | undefined;
  try {
    spacekv = await startSpacekvServer(join(root, 'rest'));
    await createSpace(spacekv.url);
    const preloadStarted = performance.now();
    await preload(spacekv.url, o.keys, o.connections);
    const preloadSeconds = (performance.now() - preloadStarted) / 1000;
    const steps: HttpStep[] = [
      { label: 'bare node:http GET', server: bareServer, requestsFor: () => randomGets(o.keys), rounds: [] },
      { label: 'spacekv REST get', server: spacekv, requestsFor: () => randomGets(o.keys), rounds: [] },
      { label: 'spacekv REST put', server: spacekv, requestsFor: () => randomPuts(o.keys), rounds: [], writesPerCommit: [] },
    ];
    out(`[1-3] HTTP steps in ${o.rounds} interleaved round${o.rounds === 1 ? '' : 's'} (bare, get, put), ${o.keys} keys pre-loaded in ${preloadSeconds.toFixed(1)} s`);
    for (let round = 1; round <= o.rounds; round++) {
      for (const step of steps) await measureRound(step, round);
    }
    const afterLoad = await settledIdle(spacekv, o);
    const [bare, restGet, restPut] = steps.map((step) => medianOfRounds(step.rounds)) as [LoadResult, LoadResult, LoadResult];
    return { bare, restGet, restPut, restPutWritesPerCommit: median(steps[2]?.writesPerCommit ?? []), afterLoad };
  } finally {
    await bareServer.stop(); // killed by SIGTERM: its exit status says nothing about the figures
    if (spacekv) await stopCleanly(spacekv);
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
}

/** Step 4: the engine first, then raw SQLite batching as many writes per transaction as the engine's group commit did. */
async function inProcessSteps(o: BenchOptions): Promise<{ engine: EngineFigures; raw: RawFigures; batch: number }> {
  out(`[4] in process: durable puts through Engine + SqliteStore, and raw better-sqlite3 (WAL, synchronous=FULL)`);
  const engine = await engineWorkloads(join(root, 'engine'), o.groupWrites, o.writers, o.serialWrites);
  printWriteStep(`engine group commit, ${o.writers} concurrent writers`, engine.groupCommit);
  printWriteStep('engine one commit per write (each put awaited)', engine.commitPerWrite);
  const observed = Math.round(engine.groupCommit.meanBatch);
  const batch = observed >= 1 ? observed : o.writers;
  mkdirSync(join(root, 'raw'));
  const raw = rawSqliteWorkloads(join(root, 'raw'), o.groupWrites, batch, o.serialWrites);
  printWriteStep('raw better-sqlite3, one transaction per write', raw.transactionPerWrite);
  printWriteStep(`raw better-sqlite3, ${batch} writes per transaction`, raw.batched);
  return { engine, raw, batch };
}

/** Step 5: a fresh server, left alone after startup. */
async function idleStep(o: BenchOptions, afterLoad: IdleSample): Promise<IdleSample> {
  out(`[5] idle spacekv server: RSS and CPU, ${o.settleSeconds} s after startup, over ${o.idleSeconds} s`);
  const server = await startSpacekvServer(join(root, 'idle'));
  let idle: IdleSample;
  try {
    idle = await settledIdle(server, o);
  } finally {
    await stopCleanly(server);
  }
  out(`    startup: ${server.startupMs.toFixed(0)} ms to 'spacekv serving'`);
  printIdle('after startup', idle);
  printIdle('after steps 2-3 (same settle, informational)', afterLoad);
  return idle;
}

async function main(): Promise<number> {
  const o = options;
  out(`spacekv bench${o.tiny ? ' (tiny)' : ''}: autocannon, ${o.connections} keep-alive connections, pipelining 1, `
    + `${o.durationSeconds} s per HTTP step after ${o.warmupSeconds} s warm-up`);
  printMachine(tmpdir());
  out();
  if (o.only === undefined) {
    const http = await httpSteps(o);
    printHttpFigures(http, o);
    const inProcess = await inProcessSteps(o);
    const idle = await idleStep(o, http.afterLoad);

    const table = { ...http, ...inProcess, idle };
    printTable(table, verdicts(table));
  }
  if (o.only === undefined || o.only.has(6)) {
    if (o.only === undefined) out();
    printClientVsRedis(await clientVsRedis(root, o.clientVsRedis, problems, o.serverCpuProfDir));
  }
  if (o.only === undefined || o.only.has(7)) {
    out();
    printCodec(runCodec(o.codec), o.codec, '[7] codec: JSON text frames vs msgpackr (docs/protocol.md "Why JSON text frames"; alone: node bench/dist/codec.js)');
  }
  if (o.only === undefined || o.only.has(8)) {
    out();
    printSearch(await searchBench(root, o.tiny ? SEARCH_TINY : SEARCH_FULL));
  }
  if (o.only === undefined || o.only.has(9)) {
    out();
    printEvents(await eventsBench(root, o.events, problems));
  }
  if (o.only === undefined || o.only.has(10)) {
    out();
    printPostgres(await postgresBench(root, o.postgres, problems));
  }
  out();
  printLoad('after');
  const code = problems.length === 0 ? 0 : 1;
  if (code !== 0) {
    out();
    out('BROKEN: these figures cannot be trusted:');
    for (const problem of problems) out(`  - ${problem}`);
  }
  if (o.reportPath !== undefined) writeReport(o.reportPath, `spacekv bench${o.tiny ? ' (tiny)' : ''}, ${new Date().toISOString()}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench failed:', err);
    process.exit(1);
  },
);
