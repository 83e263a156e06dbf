/**
 * The PostgreSQL layout of the store, and its migrations. Everything lives in one schema (named on
 * the URL), so several stores share a database without meeting. The layout keeps to the SQL that
 * PostgreSQL, CockroachDB and YugabyteDB run alike (docs/postgres.md, "Portability"): no DDL once
 * the store is open (adding a space writes rows), no collations, keys as `bytea`.
 *
 * - `spacekv_migrations`: the versions applied; `spacekv_bootstrap`: the one row migrations lock.
 * - `meta`: one row: `last_seq`, the store-wide seq; `catalog_seq`, the seq of the last change to
 *   the catalog; `catalog_gen`, bumped by every catalog change, logged or not (an index build's
 *   start and end), which is what servers compare to know their catalog is current. Every write batch locks this row first and holds the lock until it commits,
 *   so batches commit in seq order across every server process (see batch.ts).
 * - `spaces`: the catalog, one row per space: its schema, `created_seq` (the incarnation: a space
 *   removed and re-added gets a new one), and `building`, the attribute an online index build is
 *   filling (writes maintain its entries from then on).
 * - `objects`: every space's objects, keyed by (space incarnation, key bytes) (key-bytes.ts), so
 *   a space's keys are one contiguous range of the primary key: range sharding keeps scans local.
 *   Attributes are the object's complete JSON text (TEXT, not JSONB: JSONB would rewrite 64-bit
 *   integers and key order).
 * - `index_entries`: secondary index entries, keyed by (incarnation, attribute, value bytes, key):
 *   core's index-key.ts bytes, with the object's expiry.
 * - `purges`: what a removed space or index left behind, deleted in bounded slices afterwards
 *   (attr '' for a whole space), so removing a big space never holds the writers.
 * - `changes`: the change log (docs/architecture.md §4.6), written in the same transaction as the
 *   data, one row per changed object keyed by (seq, idx), idx ordering a tx's changes at its one
 *   seq; the key as JSON (a string or an exact integer); `committed_at` in epoch ms.
 * - `log_state`: `floor_seq`, the highest seq log retention removed (below it readers get
 *   `compacted`). A row of its own, so pruning never waits on the writers' meta row lock.
 * - `cursors`: durable named positions in the log (the AMQP relay's).
 * - `leases`: named leases (the relay's leadership): holder, expiry and fencing epoch (lease.ts).
 * - `large_values`, `large_chunks` (format 3): large values staged in chunks (large-values.ts), as
 *   on SQLite; `adopted_seq` is set by the batch that first writes an object referring to one.
 *
 * Migrations: every step is idempotent and runs on its own (never DDL beside data writes in one
 * transaction), while one session holds the bootstrap row (SELECT … FOR UPDATE) so two servers
 * starting at once take turns; a step cut short by a crash simply runs again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Attributes, type KeyTypeName, Space, type SpaceSchema, parseJson } from '@spacekv/core';
import { type Queries, type Sql, isRetryable } from './connection.js';
import { byteaArray, integerArray, textArray } from './array-literals.js';
import { indexEntriesOf } from './index-entries.js';

/** A step: one idempotent statement, or a function of idempotent statements (a data conversion). */
type Step = string | ((sql: Sql, schema: string) => Promise<void>);

/** Rows per statement while the conversion to the shared tables copies index entries. */
const CONVERT_SLICE_ROWS = 1_000;

const MIGRATIONS: readonly (readonly Step[])[] = [
  // 1: the store's own tables (the layout of spacekv up to 0.x: one table per space, since converted by 2).
  [
    'CREATE TABLE IF NOT EXISTS meta (id INT PRIMARY KEY CHECK (id = 1), last_seq BIGINT NOT NULL, catalog_seq BIGINT NOT NULL)',
    'INSERT INTO meta (id, last_seq, catalog_seq) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING',
    'CREATE TABLE IF NOT EXISTS spaces (name TEXT PRIMARY KEY, created_seq BIGINT NOT NULL UNIQUE, schema TEXT NOT NULL)',
    `CREATE TABLE IF NOT EXISTS changes (
       seq BIGINT NOT NULL, idx INT NOT NULL, space TEXT NOT NULL, key_json TEXT NOT NULL, op TEXT NOT NULL, attrs TEXT,
       committed_at BIGINT NOT NULL, PRIMARY KEY (seq, idx))`,
    'CREATE TABLE IF NOT EXISTS log_state (id INT PRIMARY KEY CHECK (id = 1), floor_seq BIGINT NOT NULL)',
    'INSERT INTO log_state (id, floor_seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING',
    'CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, seq BIGINT NOT NULL)',
  ],
  // 2: the portable layout: shared objects and index entries, purges, leases; per-space tables converted.
  [
    `CREATE TABLE IF NOT EXISTS objects (
       space_seq BIGINT NOT NULL, key BYTEA NOT NULL, version BIGINT NOT NULL, expires_at BIGINT, attrs TEXT NOT NULL,
       PRIMARY KEY (space_seq, key))`,
    'CREATE INDEX IF NOT EXISTS objects_expiry ON objects (expires_at) WHERE expires_at IS NOT NULL',
    `CREATE TABLE IF NOT EXISTS index_entries (
       space_seq BIGINT NOT NULL, attr TEXT NOT NULL, value BYTEA NOT NULL, key BYTEA NOT NULL, expires_at BIGINT,
       PRIMARY KEY (space_seq, attr, value, key))`,
    'CREATE INDEX IF NOT EXISTS index_entries_by_key ON index_entries (space_seq, key)',
    'ALTER TABLE spaces ADD COLUMN IF NOT EXISTS building TEXT',
    'ALTER TABLE meta ADD COLUMN IF NOT EXISTS catalog_gen BIGINT NOT NULL DEFAULT 0',
    'CREATE TABLE IF NOT EXISTS purges (space_seq BIGINT NOT NULL, attr TEXT NOT NULL, PRIMARY KEY (space_seq, attr))',
    'CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT, epoch BIGINT NOT NULL, expires_at TIMESTAMPTZ)',
    convertSpaceTables,
  ],
  // 3: large values, in tables of their own (the objects' layout may change without them).
  [
    `CREATE TABLE IF NOT EXISTS large_values (
       id TEXT PRIMARY KEY, space TEXT NOT NULL, key_json TEXT NOT NULL, attribute TEXT NOT NULL,
       touched_at BIGINT NOT NULL, adopted_seq BIGINT, orphaned_seq BIGINT)`,
    'CREATE INDEX IF NOT EXISTS large_values_staged ON large_values (touched_at) WHERE adopted_seq IS NULL',
    'CREATE TABLE IF NOT EXISTS large_chunks (id TEXT NOT NULL, idx INT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (id, idx))',
  ],
];

export const LAYOUT_VERSION = MIGRATIONS.length;

/**
 * Attempts at migrating while other servers start at once: a CREATE … IF NOT EXISTS can lose a race
 * on the catalog, and under `default_transaction_isolation=serializable` an autocommit INSERT … ON
 * CONFLICT that waited for another server's row fails 40001. Each is over once the other server's
 * statement commits, so going again (after a short, jittered pause) succeeds.
 */
const MIGRATE_ATTEMPTS = 20;
const MIGRATE_PAUSE_MS = 10;

export async function migrate(sql: Sql, schema: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(sql, schema);
    } catch (err) {
      // 23505 on the catalog's unique index, 42P07 a relation or 42710 its row type that already exists.
      const code = (err as { code?: string }).code;
      if (attempt === MIGRATE_ATTEMPTS || !(isRetryable(err) || code === '23505' || code === '42P07' || code === '42710')) throw err;
      await sleep(MIGRATE_PAUSE_MS * (1 + Math.random()));
    }
  }
}

async function migrateOnce(sql: Sql, schema: string): Promise<void> {
  await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await sql.unsafe('CREATE TABLE IF NOT EXISTS spacekv_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
  await sql.unsafe('CREATE TABLE IF NOT EXISTS spacekv_bootstrap (id INT PRIMARY KEY)');
  await sql.unsafe('INSERT INTO spacekv_bootstrap (id) VALUES (1) ON CONFLICT (id) DO NOTHING');
  const lock = await sql.reserve();
  try {
    // READ COMMITTED whatever the sessions' default: the versions must be read after the lock is
    // granted. Under repeatable read or serializable the snapshot is taken when the lock is asked
    // for, so a server that waited for another's migrations read none of them, ran every step again
    // and failed (40001) on the versions the other had recorded: with several servers starting at
    // once each waiter failed in turn, and one ran out of attempts (CI, stop 26).
    await lock.unsafe('BEGIN ISOLATION LEVEL READ COMMITTED');
    await lock.unsafe('SELECT id FROM spacekv_bootstrap WHERE id = 1 FOR UPDATE');
    const [row] = await lock.unsafe<{ version: number | null }[]>('SELECT max(version) AS version FROM spacekv_migrations');
    const current = row?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(`schema '${schema}' has format ${current}, newer than this server's ${MIGRATIONS.length}; upgrade spacekv`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      // On the pool, outside the lock's transaction: each step commits alone.
      for (const step of MIGRATIONS[version] as readonly Step[]) {
        if (typeof step === 'string') await sql.unsafe(step);
        else await step(sql, schema);
      }
      await lock.unsafe('INSERT INTO spacekv_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING', [version + 1]);
    }
    await lock.unsafe('COMMIT');
  } catch (err) {
    await lock.unsafe('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    lock.release();
  }
}

/** The old layout's key column as this layout's key bytes (key-bytes.ts), in SQL: PostgreSQL only, where that layout ever existed. */
function oldKeyAsBytes(keyType: KeyTypeName): string {
  return keyType === 'int'
    ? 'set_byte(int8send(key), 0, get_byte(int8send(key), 0) # 128)' // two's complement with the sign bit flipped: the int plus 2^63
    : "convert_to(key, 'UTF8')";
}

/**
 * Migration 2's conversion: each per-space table `s_<created_seq>` of the old layout is copied
 * into `objects`, its indexed attributes get their entries (the old layout kept none), and the
 * table is dropped. Each statement is idempotent (ON CONFLICT DO NOTHING, IF EXISTS), so a
 * conversion cut short runs again from the start.
 */
async function convertSpaceTables(sql: Sql, schema: string): Promise<void> {
  const spaces = await sql.unsafe<{ created_seq: string; schema: string }[]>('SELECT created_seq, schema FROM spaces ORDER BY created_seq');
  const tables = new Set((await sql.unsafe<{ table_name: string }[]>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema])).map((r) => r.table_name));
  for (const row of spaces) {
    const table = `s_${row.created_seq}`;
    if (!tables.has(table)) continue;
    const spaceSchema = JSON.parse(row.schema) as SpaceSchema;
    const spaceSeq = Number(row.created_seq);
    await sql.unsafe(
      `INSERT INTO objects (space_seq, key, version, expires_at, attrs)
       SELECT $1, ${oldKeyAsBytes(spaceSchema.key.type)}, version, expires_at, attrs FROM ${table} ON CONFLICT DO NOTHING`,
      [spaceSeq],
    );
    const indexes = spaceSchema.indexes ?? [];
    if (indexes.length > 0) {
      const space = new Space(spaceSchema, spaceSeq);
      let after: Buffer | undefined;
      for (;;) {
        const slice = await fillIndexSlice(sql, space, indexes, after, CONVERT_SLICE_ROWS);
        if (slice.last === undefined) break;
        after = slice.last;
      }
    }
    await sql.unsafe(`DROP TABLE IF EXISTS ${table}`);
  }
}

/**
 * Index the next `rowsMax` objects of `space` after key bytes `after` on `attributes`, in one
 * statement to read and one to write (entries already there are kept: ON CONFLICT DO NOTHING).
 * Returns how many objects were read and the last key, undefined once the space is done.
 */
export async function fillIndexSlice(
  sql: Queries, space: Space, attributes: readonly string[], after: Buffer | undefined, rowsMax: number,
): Promise<{ rows: number; last: Buffer | undefined }> {
  const rows = await sql.unsafe<{ key: Buffer; expires_at: string | null; attrs: string }[]>(
    `SELECT key, expires_at, attrs FROM objects WHERE space_seq = $1${after === undefined ? '' : ' AND key > $3'} ORDER BY key LIMIT $2`,
    after === undefined ? [space.createdSeq, rowsMax] : [space.createdSeq, rowsMax, after],
  );
  const entries = indexEntriesOf(space, attributes, rows.map((row) => ({
    key: row.key, attributes: parseJson(row.attrs) as Attributes, expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  })));
  if (entries.attrs.length > 0) await sql.unsafe(INSERT_ENTRIES, [space.createdSeq, textArray(entries.attrs), byteaArray(entries.values), byteaArray(entries.keys), integerArray(entries.expiries)] as never[]);
  return { rows: rows.length, last: rows.length === rowsMax ? (rows[rows.length - 1] as { key: Buffer }).key : undefined };
}

/** Index entries from parallel arrays (index-entries.ts); an entry already there stays. */
export const INSERT_ENTRIES = `INSERT INTO index_entries (space_seq, attr, value, key, expires_at)
  SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::bytea[], $5::int8[]) ON CONFLICT DO NOTHING`;
