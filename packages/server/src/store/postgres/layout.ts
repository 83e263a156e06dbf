/**
 * The PostgreSQL layout of the store, and its migrations. Everything lives in one schema (named on
 * the URL), so several stores share a database without meeting.
 *
 * - `spacekv_migrations`: the versions applied (one row each).
 * - `meta`: one row: `last_seq`, the store-wide seq, and `catalog_seq`, the seq of the last space
 *   added or removed. Every write batch locks this row first and holds the lock until it commits,
 *   so batches commit in seq order across every server process (see batch.ts).
 * - `spaces`: the catalog. A space's table is named after the seq that created it, so a space
 *   removed and re-added under the same name gets a new table and no id sequence is needed.
 * - `s_<created_seq>`: one table per space, keyed by the space's key; attributes are the object's
 *   complete JSON text (TEXT, not JSONB: JSONB would rewrite 64-bit integers and key order).
 * - `changes`: the change log (docs/architecture.md §4.6), written in the same transaction as the data, one
 *   row per changed object keyed by (seq, idx), idx ordering a tx's changes at its one seq; the key
 *   as JSON (a string or an exact integer); `committed_at` in epoch ms of the writer's clock.
 * - `log_state`: `floor_seq`, the highest seq log retention removed (below it readers get
 *   `compacted`). A row of its own, so pruning never waits on the writers' meta row lock.
 * - `cursors`: durable named positions in the log (the AMQP relay's).
 * - `large_values`, `large_chunks` (format 2): large values staged in chunks (large-values.ts), as
 *   on SQLite; `adopted_seq` is set by the batch that first writes an object referring to one.
 *
 * Migrations run in one transaction under a transaction-scoped advisory lock keyed by the schema,
 * so two servers starting at once apply each migration exactly once (the second waits, then finds
 * it done).
 */
import type { KeyTypeName } from '@spacekv/core';
import type { Sql } from './connection.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (
     id INT PRIMARY KEY CHECK (id = 1),
     last_seq BIGINT NOT NULL,
     catalog_seq BIGINT NOT NULL
   );
   INSERT INTO meta (id, last_seq, catalog_seq) VALUES (1, 0, 0);
   CREATE TABLE spaces (
     name TEXT PRIMARY KEY,
     created_seq BIGINT NOT NULL UNIQUE,
     schema TEXT NOT NULL
   );
   CREATE TABLE changes (
     seq BIGINT NOT NULL,
     idx INT NOT NULL,
     space TEXT NOT NULL,
     key_json TEXT NOT NULL,
     op TEXT NOT NULL,
     attrs TEXT,
     committed_at BIGINT NOT NULL,
     PRIMARY KEY (seq, idx)
   );
   CREATE TABLE log_state (id INT PRIMARY KEY CHECK (id = 1), floor_seq BIGINT NOT NULL);
   INSERT INTO log_state (id, floor_seq) VALUES (1, 0);
   CREATE TABLE cursors (name TEXT PRIMARY KEY, seq BIGINT NOT NULL);`,
  // 2: large values, in tables of their own (the objects' layout may change without them).
  `CREATE TABLE large_values (
     id TEXT PRIMARY KEY,
     space TEXT NOT NULL,
     key_json TEXT NOT NULL,
     attribute TEXT NOT NULL,
     touched_at BIGINT NOT NULL,
     adopted_seq BIGINT,
     orphaned_seq BIGINT
   );
   CREATE INDEX large_values_staged ON large_values (touched_at) WHERE adopted_seq IS NULL;
   CREATE TABLE large_chunks (id TEXT NOT NULL, idx INT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (id, idx));`,
];

/** An arbitrary constant naming spacekv's migration lock; the second key is the schema's hash. */
const MIGRATION_LOCK = 0x5ace4b;

export async function migrate(sql: Sql, schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx.unsafe('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK, schema]);
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await tx.unsafe('CREATE TABLE IF NOT EXISTS spacekv_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const [row] = await tx.unsafe<{ version: number | null }[]>('SELECT max(version) AS version FROM spacekv_migrations');
    const current = row?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(`schema '${schema}' has format ${current}, newer than this server's ${MIGRATIONS.length}; upgrade spacekv`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      await tx.unsafe(MIGRATIONS[version] as string);
      await tx.unsafe('INSERT INTO spacekv_migrations (version) VALUES ($1)', [version + 1]);
    }
  });
}

export function spaceTable(createdSeq: number): string {
  return `s_${createdSeq}`;
}

export function keyColumnType(keyType: KeyTypeName): string {
  // Binary order for string keys, as SQLite compares them, whatever the database's locale.
  return keyType === 'int' ? 'BIGINT' : 'TEXT COLLATE "C"';
}

/** The space's table, and a partial index on expiry (most objects have none) for the TTL sweeper. */
export function createSpaceTableSql(createdSeq: number, keyType: KeyTypeName): string[] {
  const table = spaceTable(createdSeq);
  return [
    `CREATE TABLE ${table} (
      key ${keyColumnType(keyType)} PRIMARY KEY,
      version BIGINT NOT NULL,
      expires_at BIGINT,
      attrs TEXT NOT NULL
    )`,
    `CREATE INDEX ${table}_expiry ON ${table} (expires_at) WHERE expires_at IS NOT NULL`,
  ];
}
