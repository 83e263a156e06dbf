/**
 * Step 10, PostgreSQL: the client workload of step 6 (durable put of fresh keys, then point get of
 * existing keys, `inFlight` operations outstanding, 100-byte values) on the embedded SQLite store,
 * on PostgreSQL behind one server process, and behind two server processes sharing one schema (the
 * operations split over a client on each), beside raw PostgreSQL: the same upserts and reads sent
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
import { int, out, printColumns } from './report.js';
import type { Section } from './section.js';

export interface PostgresSizes {
  readonly puts: number;
  readonly gets: number;
  readonly inFlight: number;
}

const SCHEMA_DSL = 'space bench key k attributes string v';
const VALUE = 'x'.repeat(100);

export interface PostgresRow {
  readonly label: string;
  readonly put: InFlightResult;
  readonly get: InFlightResult;
}

export type PostgresFigures = { readonly rows: readonly PostgresRow[]; readonly sizes: PostgresSizes } | { readonly skipped: string };

function keyName(i: number): string {
  return `k${String(i).padStart(8, '0')}`;
}

/** Two runs of half the operations at once, one per client; ops/s is their sum, latencies the worse of the two. */
async function split(clients: readonly SpacekvClient[], inFlight: number, total: number, issue: (client: SpacekvClient, i: number) => Promise<unknown>): Promise<InFlightResult> {
  const share = Math.floor(total / clients.length);
  const parts = await Promise.all(clients.map((client, c) => runInFlight(Math.max(1, Math.floor(inFlight / clients.length)), share, (i) => issue(client, c * share + i))));
  return {
    inFlight, total: share * clients.length,
    opsPerSec: parts.reduce((sum, p) => sum + p.opsPerSec, 0),
    seconds: Math.max(...parts.map((p) => p.seconds)),
    p50Us: Math.max(...parts.map((p) => p.p50Us)),
    p99Us: Math.max(...parts.map((p) => p.p99Us)),
    wrongResults: parts.reduce((sum, p) => sum + p.wrongResults, 0),
  };
}

async function measureServers(label: string, servers: readonly ChildServer[], sizes: PostgresSizes, problems: string[]): Promise<PostgresRow> {
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
    const put = await split(clients, sizes.inFlight, sizes.puts, (client, i) => client.put('bench', keyName(i), { v: VALUE }));
    const get = await split(clients, sizes.inFlight, sizes.gets, (client, i) => client.get('bench', keyName(i % sizes.puts)));
    if (put.wrongResults + get.wrongResults > 0) problems.push(`${label}: ${put.wrongResults + get.wrongResults} wrong results`);
    return { label, put, get };
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
  out(`[10] PostgreSQL: @spacekv/client durable put (fresh keys) then get, ${sizes.inFlight} in flight, ${sizes.puts} puts and ${sizes.gets} gets per row, `
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
      rows.push(await measureServers(label, servers, sizes, problems));
    } finally {
      for (const server of servers) {
        const exit = await server.stop();
        if (exit.code !== 0) problems.push(`${label}: a server did not shut down cleanly (code ${exit.code})\n${exit.stderrTail}`);
      }
    }
  };
  try {
    await run('spacekv, SQLite (embedded), 1 server', async () => [await startSpacekvServer(join(root, 'pg-sqlite'))]);
    await run('spacekv, PostgreSQL, 1 server', async () => [await startSpacekvServer(join(root, 'pg-one'), [], ['--store', url(schemas[0] as string)])]);
    await run('spacekv, PostgreSQL, 2 servers', async () => Promise.all([
      startSpacekvServer(join(root, 'pg-two-a'), [], ['--store', url(schemas[1] as string)]),
      startSpacekvServer(join(root, 'pg-two-b'), [], ['--store', url(schemas[1] as string)]),
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
  printColumns([
    ['', 'put ops/s', 'put p50/p99 ms', 'get ops/s', 'get p50/p99 ms', 'put vs raw PG', 'get vs raw PG'],
    ...f.rows.map((r) => [
      `    ${r.label}`, int(r.put.opsPerSec), `${us(r.put.p50Us)}/${us(r.put.p99Us)}`, int(r.get.opsPerSec), `${us(r.get.p50Us)}/${us(r.get.p99Us)}`,
      `${(r.put.opsPerSec / raw.put.opsPerSec).toFixed(2)}x`, `${(r.get.opsPerSec / raw.get.opsPerSec).toFixed(2)}x`,
    ]),
  ]);
}

export const postgresSection: Section = {
  id: 'postgres',
  title: 'Step 10: the client workload on PostgreSQL behind 1 and 2 servers, beside raw PostgreSQL',
  byDefault: true,
  async run(c) {
    printPostgres(await postgresBench(c.root, c.options.ycsb.postgresUrl, c.options.postgres, c.problems));
  },
};
