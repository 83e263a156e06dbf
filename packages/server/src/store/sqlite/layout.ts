/**
 * The on-disk layout of the embedded store, and its migrations.
 *
 * - `PRAGMA user_version`: the format version (the number of migrations applied).
 * - `meta`: the store-wide `last_seq`.
 * - `spaces`: the catalog; each space has an id that is never reused.
 * - `s_<id>`: one table per space, keyed by the space's key. Attributes are the object's complete
 *   JSON text, so a read passes them through without decoding, and SQLite's JSON functions can
 *   index them (secondary indexes: expression indexes on `attrs`). `expires_at` (epoch ms) makes an
 *   object read as absent from then on (a sweeper that deletes expired rows is still to come).
 *
 * - `x_<id>`: the secondary index entries of space `<id>` (format 2): one row per (indexed
 *   attribute, encoded value, key), with the object's expiry so a count needs only this table.
 *   Values are core's order-preserving index keys (index-key.ts) as BLOBs, so SQLite's BLOB order
 *   is core's comparison order; a list or set has a row per distinct element, a map one per key.
 *   Rows are written in the same transaction as the object, by the writer only.
 *
 * Later features add tables beside these (a change log keyed by seq), which is why the format
 * version is recorded from day one.
 */
import type Database from 'better-sqlite3';
import type { KeyTypeName } from '@spacekv/core';

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
  ) STRICT, WITHOUT ROWID`;
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
