/**
 * Step 10, PostgreSQL: the client workload of step 6 (durable put of fresh keys, then point get of
 * existing keys, `inFlight` operations outstanding, 100-byte values) on the embedded SQLite store,
 * on PostgreSQL behind one server process, and behind two server processes sharing one schema (the
 * operations split over a client on each, each keeping `inFlight` outstanding), beside raw PostgreSQL: the same upserts and reads sent
 * by the driver spacekv uses (postgres.js, a pool of 8, one autocommit statement per write, durable
 * by synchronous_commit=on) in the same run. Each spacekv-on-PostgreSQL run gets a fresh schema,
 * dropped afterwards. Skipped, with a line saying why, when PostgreSQL is not reachable.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type SpacekvClient, connect } from '@spacekv/client';
import { type ChildServer, startSpacekvServer } from './child-server.js';
import { type InFlightResult, runInFlight } from './inflight.js';
import { cpuSeconds, localTcpPorts, visible } from './proc-stats.js';
import { servedMetricSamples } from './rest-fixtures.js';
import { int, out, printColumns } from './report.js';

export interface PostgresSizes {
  readonly puts: number;
  readonly gets: number;
  readonly inFlight: number;
}

const SCHEMA_DSL = 'space bench key k attributes string v';
const VALUE = 'x'.repeat(100);

/** What the durable puts of one row cost, beside their rate (spacekv rows only). */
export interface PutCost {
  /** CPU of the PostgreSQL backends serving the spacekv servers' connections, per put (µs); undefined without PostgreSQL. */
  readonly pgCpuUsPerPut: number | undefined;
  /** CPU of the spacekv server processes, per put (µs). */
  readonly serverCpuUsPerPut: number;
  readonly putsPerBatch: number;
  /** Mean time a batch held the lock that orders commits across servers (PostgreSQL's meta row), from the servers' /metrics. */
  readonly lockMsPerBatch: number | undefined;
}

export interface PostgresRow {
  readonly label: string;
  readonly put: InFlightResult;
  readonly get: InFlightResult;
  readonly cost?: PutCost;
}

export type PostgresFigures = { readonly rows: readonly PostgresRow[]; readonly sizes: PostgresSizes } | { readonly skipped: string };

function keyName(i: number): string {
  return `k${String(i).padStart(8, '0')}`;
}

/**
 * One run per client at once, each of an equal share of the operations with `inFlight` outstanding
 * (so `inFlight` per server); ops/s is their sum, latencies the worse of them.
 */
async function split(clients: readonly SpacekvClient[], inFlight: number, total: number, issue: (client: SpacekvClient, i: number) => Promise<unknown>): Promise<InFlightResult> {
  const share = Math.floor(total / clients.length);
  const parts = await Promise.all(clients.map((client, c) => runInFlight(inFlight, share, (i) => issue(client, c * share + i))));
  return {
    inFlight: inFlight * clients.length, total: share * clients.length,
    opsPerSec: parts.reduce((sum, p) => sum + p.opsPerSec, 0),
    seconds: Math.max(...parts.map((p) => p.seconds)),
    p50Us: Math.max(...parts.map((p) => p.p50Us)),
    p99Us: Math.max(...parts.map((p) => p.p99Us)),
    wrongResults: parts.reduce((sum, p) => sum + p.wrongResults, 0),
  };
}

/**
 * The PostgreSQL backends serving the connections of processes `pids`, found by their sockets'
 * ports, so other clients of a shared PostgreSQL do not count (nor its WAL writer and checkpointer);
 * none when PostgreSQL is away.
 */
export async function backendPids(pids: readonly number[], baseUrl: string): Promise<number[]> {
  const sql = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    const ports = pids.flatMap((pid) => localTcpPorts(pid));
    return (await sql.unsafe<{ pid: number }[]>('SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [ports])).map((r) => r.pid);
  } catch {
    return []; // PostgreSQL away (the SQLite row runs without it)
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const COST_METRICS = ['spacekv_commit_batch_size_count', 'spacekv_store_lock_held_seconds_total', 'spacekv_store_locked_batches_total'];

/**
 * CPU and lock figures over one phase: the servers' CPU and their PostgreSQL backends'
 * (backendPids), and the servers' batch and lock counters.
 */
export class CostMeter {
  private constructor(
    private readonly servers: readonly ChildServer[],
    private readonly backends: readonly number[],
    private readonly cpuBefore: { server: number; pg: number },
    private readonly metricsBefore: readonly number[],
  ) {}

  static async start(servers: readonly ChildServer[], baseUrl: string): Promise<CostMeter> {
    const backends = await backendPids(servers.map((s) => s.pid), baseUrl);
    // The counters first: serving /metrics is not part of the phase's CPU.
    const metrics = await CostMeter.metrics(servers);
    return new CostMeter(servers, backends, CostMeter.cpu(servers, backends), metrics);
  }

  private static cpu(servers: readonly ChildServer[], backends: readonly number[]): { server: number; pg: number } {
    const sum = (pids: readonly number[]): number => pids.reduce((total, pid) => total + (visible(pid) ? cpuSeconds(pid) : 0), 0);
    return { server: sum(servers.map((s) => s.pid)), pg: sum(backends) };
  }

  private static async metrics(servers: readonly ChildServer[]): Promise<number[]> {
    // Served, not required: a baseline build (--variants build=...) may predate the lock metrics.
    const each = await Promise.all(servers.map((s) => servedMetricSamples(s.url, COST_METRICS)));
    return COST_METRICS.map((_, i) => each.reduce((total, values) => total + (values[i] ?? 0), 0));
  }

  /** The figures per operation over `puts` operations (the gets of a phase, where a caller measures those). */
  async stop(puts: number): Promise<PutCost> {
    const cpu = CostMeter.cpu(this.servers, this.backends);
    const [batches = 0, heldSeconds = 0, lockedBatches = 0] = (await CostMeter.metrics(this.servers)).map((v, i) => v - (this.metricsBefore[i] ?? 0));
    return {
      pgCpuUsPerPut: this.backends.length > 0 ? ((cpu.pg - this.cpuBefore.pg) / puts) * 1e6 : undefined,
      serverCpuUsPerPut: ((cpu.server - this.cpuBefore.server) / puts) * 1e6,
      putsPerBatch: batches > 0 ? puts / batches : 0,
      lockMsPerBatch: lockedBatches > 0 ? (heldSeconds / lockedBatches) * 1000 : undefined,
    };
  }
}

async function measureServers(label: string, servers: readonly ChildServer[], baseUrl: string, sizes: PostgresSizes, problems: string[]): Promise<PostgresRow> {
  const clients = await Promise.all(servers.map((s) => connect(s.url, { reconnect: false })));
  try {
    await (clients[0] as SpacekvClient).addSpace(SCHEMA_DSL);
    // The other servers hear of the space by notification; wait until each can use it.
    for (const client of clients.slice(1)) {
      for (let tries = 0; ; tries++) {
        try {
          await client.get('bench', keyName(0));
          break;
        } catch (err) {
          if (tries > 200) throw err;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }
    const costs = await CostMeter.start(servers, baseUrl);
    const put = await split(clients, sizes.inFlight, sizes.puts, (client, i) => client.put('bench', keyName(i), { v: VALUE }));
    const cost = await costs.stop(put.total);
    const get = await split(clients, sizes.inFlight, sizes.gets, (client, i) => client.get('bench', keyName(i % sizes.puts)));
    if (put.wrongResults + get.wrongResults > 0) problems.push(`${label}: ${put.wrongResults + get.wrongResults} wrong results`);
    return { label, put, get, cost };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

async function rawPostgres(baseUrl: string, sizes: PostgresSizes, schema: string): Promise<PostgresRow> {
  const sql = postgres(baseUrl, { max: 8, onnotice: () => {}, connection: { synchronous_commit: 'on', search_path: schema } });
  try {
    await sql.unsafe(`CREATE SCHEMA ${schema}`);
    await sql.unsafe('CREATE TABLE raw (key TEXT COLLATE "C" PRIMARY KEY, version BIGINT NOT NULL, attrs TEXT NOT NULL)');
    const upsert = 'INSERT INTO raw (key, version, attrs) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET version = excluded.version, attrs = excluded.attrs';
    const attrs = JSON.stringify({ v: VALUE });
    const put = await runInFlight(sizes.inFlight, sizes.puts, (i) => sql.unsafe(upsert, [keyName(i), i, attrs], { prepare: true }));
    const get = await runInFlight(sizes.inFlight, sizes.gets, (i) => sql.unsafe('SELECT version, attrs FROM raw WHERE key = $1', [keyName(i % sizes.puts)], { prepare: true }),
      (rows) => rows.length === 1);
    return { label: 'raw PostgreSQL (postgres.js, pool of 8, autocommit upserts)', put, get };
  } finally {
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await sql.end({ timeout: 1 });
  }
}

export async function reachable(baseUrl: string): Promise<string | undefined> {
  const sql = postgres(baseUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql.unsafe('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL is not reachable at ${baseUrl} (${(err as Error).message})`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The store URL of a spacekv server keeping its tables in `schema` (the store creates it). */
export function withSchema(baseUrl: string, schema: string): string {
  const u = new URL(baseUrl);
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** Drop the schemas a run made for its spacekv servers (every PostgreSQL-backed run gets fresh ones). */
export async function dropSchemas(baseUrl: string, schemas: readonly string[]): Promise<void> {
  const sql = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    for (const schema of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export async function postgresBench(root: string, baseUrl: string, sizes: PostgresSizes, problems: string[]): Promise<PostgresFigures> {
  out(`[10] PostgreSQL: @spacekv/client durable put (fresh keys) then get, ${sizes.inFlight} in flight per server, ${sizes.puts} puts and ${sizes.gets} gets per row, `
    + `${VALUE.length}-byte values; SQLite, PostgreSQL behind 1 and 2 servers, and raw PostgreSQL through the driver`);
  const missing = await reachable(baseUrl);
  if (missing) return { skipped: missing };
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const schemas = [`bench_one_${tag}`, `bench_two_${tag}`, `bench_raw_${tag}`];
  const url = (schema: string): string => withSchema(baseUrl, schema);
  const rows: PostgresRow[] = [];
  const run = async (label: string, start: () => Promise<ChildServer[]>): Promise<void> => {
    const servers = await start();
    try {
      rows.push(await measureServers(label, servers, baseUrl, sizes, problems));
    } finally {
      for (const server of servers) {
        const exit = await server.stop();
        if (exit.code !== 0) problems.push(`${label}: a server did not shut down cleanly (code ${exit.code})\n${exit.stderrTail}`);
      }
    }
  };
  try {
    await run('spacekv, SQLite (embedded), 1 server', async () => [await startSpacekvServer(join(root, 'pg-sqlite'))]);
    await run('spacekv, PostgreSQL, 1 server', async () => [await startSpacekvServer(join(root, 'pg-one'), { serveArgs: ['--store', url(schemas[0] as string)] })]);
    await run('spacekv, PostgreSQL, 2 servers', async () => Promise.all([
      startSpacekvServer(join(root, 'pg-two-a'), { serveArgs: ['--store', url(schemas[1] as string)] }),
      startSpacekvServer(join(root, 'pg-two-b'), { serveArgs: ['--store', url(schemas[1] as string)] }),
    ]));
    rows.push(await rawPostgres(baseUrl, sizes, schemas[2] as string));
  } finally {
    await dropSchemas(baseUrl, schemas);
  }
  return { rows, sizes };
}

export function printPostgres(f: PostgresFigures): void {
  if ('skipped' in f) {
    out(`    SKIPPED: ${f.skipped}`);
    return;
  }
  const raw = f.rows[f.rows.length - 1] as PostgresRow;
  const us = (n: number): string => `${(n / 1000).toFixed(1)}`;
  const orDash = (n: number | undefined, digits: number): string => (n === undefined ? '-' : n.toFixed(digits));
  printColumns([
    ['', 'put ops/s', 'put p50/p99 ms', 'get ops/s', 'get p50/p99 ms', 'put vs raw PG', 'get vs raw PG', 'puts/batch', 'lock ms/batch', 'server CPU µs/put', 'PG CPU µs/put'],
    ...f.rows.map((r) => [
      `    ${r.label}`, int(r.put.opsPerSec), `${us(r.put.p50Us)}/${us(r.put.p99Us)}`, int(r.get.opsPerSec), `${us(r.get.p50Us)}/${us(r.get.p99Us)}`,
      `${(r.put.opsPerSec / raw.put.opsPerSec).toFixed(2)}x`, `${(r.get.opsPerSec / raw.get.opsPerSec).toFixed(2)}x`,
      orDash(r.cost?.putsPerBatch, 1), orDash(r.cost?.lockMsPerBatch, 2), orDash(r.cost?.serverCpuUsPerPut, 0), orDash(r.cost?.pgCpuUsPerPut, 0),
    ]),
  ]);
  const [one, two] = [f.rows.find((r) => r.label.endsWith('PostgreSQL, 1 server')), f.rows.find((r) => r.label.endsWith('PostgreSQL, 2 servers'))];
  if (one && two) out(`    2 servers / 1 server, durable puts at ${f.sizes.inFlight} in flight per server: ${(two.put.opsPerSec / one.put.opsPerSec).toFixed(2)}x`);
}
