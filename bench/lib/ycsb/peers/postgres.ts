/**
 * PostgreSQL raw as a YCSB peer: the machine's PostgreSQL (127.0.0.1:5432, database test) through
 * postgres.js, prepared statements, a pool of a few connections (PostgreSQL runs one backend process
 * per connection, so one connection would use one core). A record is a row of a table of its own,
 * named for this run and dropped at the end; durability is whatever the server is set to (printed:
 * synchronous_commit, fsync). Its CPU and RSS are those of this run's backends, found by
 * application_name in pg_stat_activity and read from /proc.
 */
import postgres from 'postgres';
import { visible } from '../../proc-stats.js';
import { type YcsbPeer, type YcsbStore, firstLine } from '../store.js';
import { FIELD_NAMES, type Fields } from '../workload.js';

export interface PostgresPeerOptions {
  readonly url: string;
  /** Connections of the pool. */
  readonly connections: number;
  readonly problems: string[];
}

export function postgresPeer(o: PostgresPeerOptions): YcsbPeer {
  return {
    id: 'postgres',
    name: 'PostgreSQL (raw)',
    durability: `the machine's PostgreSQL, ${o.connections} connections; durable as its synchronous_commit says`,
    open: () => open(o),
  };
}

async function open(o: PostgresPeerOptions): Promise<YcsbStore | { skipped: string }> {
  const application = `spacekv-bench-${process.pid}`;
  const table = `ycsb_bench_${process.pid}_${Date.now().toString(36)}`;
  const sql = postgres(o.url, {
    max: o.connections, connect_timeout: 3, onnotice: () => undefined, connection: { application_name: application },
  });
  let about: string;
  try {
    const [row] = await sql<{ version: string; synchronous_commit: string; fsync: string }[]>`
      select version() as version, current_setting('synchronous_commit') as synchronous_commit, current_setting('fsync') as fsync`;
    about = `${row?.version.split(' on ')[0] ?? 'PostgreSQL'} (synchronous_commit ${row?.synchronous_commit}, fsync ${row?.fsync})`;
    const columns = FIELD_NAMES.map((f) => `${f} text not null`).join(', ');
    await sql.unsafe(`create table ${table} (ycsb_key text primary key collate "C", ${columns})`);
  } catch (err) {
    await sql.end({ timeout: 1 });
    return { skipped: `no PostgreSQL at ${o.url.replace(/\/\/[^@/]*@/, '//')} (${firstLine(err)})` };
  }
  const t = sql(table);
  return {
    detail: `${about} at ${o.url.replace(/\/\/[^@/]*@/, '//')}, postgres.js ${o.connections} connections, table ${table}`,
    scanUnsupported: undefined,
    async serverPids() {
      const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${application}`;
      // A PostgreSQL in another container answers, but its backends are not ours to see.
      return rows.map((r) => r.pid).filter(visible);
    },
    async load(records) {
      await sql`insert into ${t} ${sql(records.map(([key, fields]) => ({ ycsb_key: key, ...fields })))}`;
    },
    async read(key) {
      const [row] = await sql<Record<string, string>[]>`select * from ${t} where ycsb_key = ${key}`;
      if (row === undefined) return null;
      const { ycsb_key: _key, ...fields } = row;
      return fields as Fields;
    },
    async update(key, field, value) {
      await sql`update ${t} set ${sql(field)} = ${value} where ycsb_key = ${key}`;
    },
    async insert(key, fields) {
      await sql`insert into ${t} ${sql({ ycsb_key: key, ...fields })}`;
    },
    async scan(startKey, count) {
      const rows = await sql`select * from ${t} where ycsb_key >= ${startKey} order by ycsb_key limit ${count}`;
      return rows.length;
    },
    async close() {
      try {
        await sql.unsafe(`drop table if exists ${table}`);
      } catch (err) {
        o.problems.push(`PostgreSQL: could not drop table ${table}: ${firstLine(err)}`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}
