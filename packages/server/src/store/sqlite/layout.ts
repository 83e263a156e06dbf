/**
 * The on-disk layout of the embedded store, and its migrations.
 *
 * - `PRAGMA user_version`: the format version (the number of migrations applied).
 * - `meta`: the store-wide `last_seq`.
 * - `spaces`: the catalog; each space has an id that is never reused.
 * - `s_<id>`: one table per space, keyed by the space's key. Attributes are the object's complete
 *   JSON text, so a read passes them through without decoding, and SQLite's JSON functions can
 *   index them (secondary indexes: expression indexes on `attrs`). `expires_at` (epoch ms) makes an
 *   object read as absent from then on; a partial index on it (format 3) lets the TTL sweeper
 *   find expired rows without a scan.
 * - `x_<id>`: the secondary index entries of space `<id>` (format 2): one row per (indexed
 *   attribute, encoded value, key), with the object's expiry so a count needs only this table.
 *   Values are core's order-preserving index keys (index-key.ts) as BLOBs, so SQLite's BLOB order
 *   is core's comparison order; a list or set has a row per distinct element, a map one per key.
 *   Rows are written in the same transaction as the object, by the writer only.
 * - `changes` (format 3): the change log (docs/architecture.md §4.6), one row per changed object, keyed by
 *   (seq, idx): idx orders the changes a tx made at its one seq. `meta.log_floor_seq` is the
 *   highest seq log retention removed, below which a reader gets `compacted`.
 * - `cursors` (format 3): durable named positions in the log (the AMQP relay's).
 * - `changes.expires_at`, `changes.schema` (format 4): a write's expiry afterwards and an
 *   `add_space`'s schema, so the log replays into the exact state (point-in-time restore). Changes
 *   logged before format 4 have neither: `meta.replayable_after_seq` is the seq the store was at
 *   when it took format 4, after which the log replays.
 * - `large_values`, `large_chunks` (format 5): large values (core's large-values.ts), staged in
 *   chunks of LARGE_CHUNK_BYTES beside the objects. A value's row names the attribute it was
 *   uploaded for; `adopted_seq` is set in the transaction of the write whose object first refers
 *   to it, and `orphaned_seq` once the sweeper found no object referring to it any more. Tables of
 *   their own, apart from the objects' layout, so a change of that layout leaves them be.
 */
import type Database from 'better-sqlite3';
import type { KeyTypeName } from '@spacekv/core';

/** A migration: SQL, or a step that needs to look at the file (tables named by id). */
type Migration = string | ((db: Database.Database) => void);

const MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
   INSERT INTO meta (name, value) VALUES ('last_seq', 0);
   CREATE TABLE spaces (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL UNIQUE,
     schema TEXT NOT NULL,
     created_seq INTEGER NOT NULL
   ) STRICT;`,
  // 2: secondary index tables, one per existing space (new spaces get theirs with their table).
  (db) => {
    const spaces = db.prepare('SELECT id, schema FROM spaces').all() as { id: number; schema: string }[];
    for (const { id, schema } of spaces) db.exec(createIndexTableSql(id, (JSON.parse(schema) as { key: { type: KeyTypeName } }).key.type));
  },
  // 3: the change log, its cursors and floor; and the expiry index on the space tables already there.
  (db) => {
    db.exec(`CREATE TABLE changes (
       seq INTEGER NOT NULL,
       idx INTEGER NOT NULL,
       space TEXT NOT NULL,
       key ANY NOT NULL,
       op TEXT NOT NULL,
       attrs TEXT,
       committed_at INTEGER NOT NULL,
       PRIMARY KEY (seq, idx)
     ) STRICT, WITHOUT ROWID;
     CREATE TABLE cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) STRICT;
     INSERT INTO meta (name, value) VALUES ('log_floor_seq', 0);`);
    const ids = db.prepare('SELECT id FROM spaces').pluck().all() as number[];
    for (const id of ids) db.exec(createExpiryIndexSql(id));
  },
  // 4: what a point-in-time restore needs to replay the log: each write's expiry, each new space's
  // schema; and the seq from which the log has them (changes logged before lack them).
  `ALTER TABLE changes ADD COLUMN expires_at INTEGER;
   ALTER TABLE changes ADD COLUMN schema TEXT;
   INSERT INTO meta (name, value) SELECT 'replayable_after_seq', value FROM meta WHERE name = 'last_seq';`,
  // 5: large values, staged in chunks (a rowid table: SQLite keeps large rows best in one).
  `CREATE TABLE large_values (
     id TEXT PRIMARY KEY,
     space TEXT NOT NULL,
     key ANY NOT NULL,
     attribute TEXT NOT NULL,
     touched_at INTEGER NOT NULL,
     adopted_seq INTEGER,
     orphaned_seq INTEGER
   ) STRICT;
   CREATE INDEX large_values_staged ON large_values (touched_at) WHERE adopted_seq IS NULL;
   CREATE TABLE large_chunks (id TEXT NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (id, idx)) STRICT;`,
];

/** Bring the file to the newest format (one migration per version, recorded in `user_version`), each in its own transaction. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the data file has format ${current}, newer than this server's ${MIGRATIONS.length}; upgrade spacekv`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      const migration = MIGRATIONS[version] as Migration;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

export function spaceTable(id: number): string {
  return `s_${id}`;
}

export function createSpaceTableSql(id: number, keyType: KeyTypeName): string {
  const keyColumn = keyType === 'int' ? 'INTEGER' : 'TEXT';
  return `CREATE TABLE ${spaceTable(id)} (
    key ${keyColumn} PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    attrs TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  ${createExpiryIndexSql(id)}`;
}

/** Only objects with an expiry are indexed: most have none, and they cost the index nothing. */
function createExpiryIndexSql(id: number): string {
  return `CREATE INDEX ${spaceTable(id)}_expiry ON ${spaceTable(id)} (expires_at) WHERE expires_at IS NOT NULL;`;
}

export function indexTable(id: number): string {
  return `x_${id}`;
}

/** The index entry table of a space, and an index on its keys so a write finds an object's entries. */
export function createIndexTableSql(id: number, keyType: KeyTypeName): string {
  const keyColumn = keyType === 'int' ? 'INTEGER' : 'TEXT';
  return `CREATE TABLE ${indexTable(id)} (
    attr TEXT NOT NULL,
    value BLOB NOT NULL,
    key ${keyColumn} NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (attr, value, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX ${indexTable(id)}_by_key ON ${indexTable(id)} (key);`;
}
