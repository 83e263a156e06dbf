/**
 * The on-disk layout of the embedded store, and its migrations.
 *
 * - `PRAGMA user_version`: the format version (the number of migrations applied).
 * - `meta`: the store-wide `last_seq`.
 * - `spaces`: the catalog; each space has an id that is never reused (AUTOINCREMENT), so a space
 *   re-created under the same name is a new incarnation whose rows can never meet the old one's.
 * - `objects` (format 5): every space's objects in one table, keyed by (space id, key). Attributes
 *   are the object's complete JSON text, so a read passes them through without decoding. `key` is
 *   `ANY` in a STRICT table: a space holds only ints (stored as INTEGER, ordered numerically), only
 *   floats (REAL, or INTEGER when whole: SQLite compares the two by exact value) or only strings
 *   (TEXT, ordered by bytes), exactly the order of the per-space tables before.
 *   Ints must be bound as bigints (search-executor.ts `bind`): better-sqlite3 binds a JS number as
 *   REAL, which an ANY column would keep. `expires_at` (epoch ms) makes an object read as absent
 *   from then on; a partial index on it lets the TTL sweeper find expired rows of every space
 *   without a scan.
 * - `index_entries` (format 5): the secondary index entries of every space: one row per (space id,
 *   indexed attribute, encoded value, key), with the object's expiry so a count needs only this
 *   table, and an index by (space id, key) so a write finds an object's entries. Values are core's
 *   order-preserving index keys (index-key.ts) as BLOBs, so SQLite's BLOB order is core's
 *   comparison order; a list or set has a row per distinct element, a map one per key. Rows are
 *   written in the same transaction as the object, by the writer only.
 * - `purges` (format 5): rows left to delete, in bounded slices by a background task (purger.ts,
 *   run by tasks/purge.ts): those of a removed space (`attr` '') or of a removed index. Removing
 *   a space or an index is therefore a catalog write, immediate and small, whatever it held; and
 *   no catalog operation runs DDL, so SQLite's schema cookie never changes and no connection
 *   re-parses the schema (which with a table per space cost every connection a re-parse of tens
 *   of thousands of objects after each add_space or rm_space).
 * - `index_builds` (format 5): online index builds in progress; a restart turns each into a purge
 *   of the entries it had written.
 * - `changes` (format 3): the change log (docs/architecture.md §4.6), one row per changed object, keyed by
 *   (seq, idx): idx orders the changes a tx made at its one seq. `meta.log_floor_seq` is the
 *   highest seq log retention removed, below which a reader gets `compacted`.
 * - `cursors` (format 3): durable named positions in the log (the AMQP relay's).
 * - `changes.expires_at`, `changes.schema` (format 4): a write's expiry afterwards and an
 *   `add_space`'s schema (an `add_index`'s or `rm_index`'s new schema), so the log replays into the
 *   exact state (point-in-time restore). Changes logged before format 4 have neither:
 *   `meta.replayable_after_seq` is the seq the store was at when it took format 4, after which the
 *   log replays.
 * - `large_values`, `large_chunks` (format 6): large values (core's large-values.ts), staged in
 *   chunks of LARGE_CHUNK_BYTES beside the objects. A value's row names the attribute it was
 *   uploaded for; `adopted_seq` is set in the transaction of the write whose object first refers
 *   to it, and `orphaned_seq` once the sweeper found no object referring to it any more. Tables of
 *   their own, apart from the objects' layout, so a change of that layout leaves them be.
 *
 * Formats 1 to 4 had a table per space (`s_<id>`, `x_<id>`, see the legacy helpers at the end); format 5 moves
 * their rows into the shared tables and drops them.
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
    for (const { id, schema } of spaces) db.exec(legacyIndexTableSql(id, (JSON.parse(schema) as { key: { type: KeyTypeName } }).key.type));
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
    for (const id of ids) db.exec(legacyExpiryIndexSql(id));
  },
  // 4: what a point-in-time restore needs to replay the log: each write's expiry, each new space's
  // schema; and the seq from which the log has them (changes logged before lack them).
  `ALTER TABLE changes ADD COLUMN expires_at INTEGER;
   ALTER TABLE changes ADD COLUMN schema TEXT;
   INSERT INTO meta (name, value) SELECT 'replayable_after_seq', value FROM meta WHERE name = 'last_seq';`,
  // 5: shared tables keyed by space id (no DDL per catalog operation); every space's rows move in.
  (db) => {
    db.exec(SHARED_TABLES_SQL);
    const ids = db.prepare('SELECT id FROM spaces').pluck().all() as number[];
    for (const id of ids) {
      db.exec(`INSERT INTO objects (space_id, key, version, expires_at, attrs) SELECT ${id}, key, version, expires_at, attrs FROM s_${id};
        INSERT INTO index_entries (space_id, attr, value, key, expires_at) SELECT ${id}, attr, value, key, expires_at FROM x_${id};
        DROP TABLE s_${id};
        DROP TABLE x_${id};`);
    }
  },
  // 6: large values, staged in chunks (a rowid table: SQLite keeps large rows best in one).
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

/** The newest format: the number of migrations. */
export const DATA_FORMAT = MIGRATIONS.length;

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

const SHARED_TABLES_SQL = `
  CREATE TABLE objects (
    space_id INTEGER NOT NULL,
    key ANY NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    attrs TEXT NOT NULL,
    PRIMARY KEY (space_id, key)
  ) STRICT, WITHOUT ROWID;
  -- Only objects with an expiry are indexed: most have none, and they cost the index nothing.
  CREATE INDEX objects_expiry ON objects (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE index_entries (
    space_id INTEGER NOT NULL,
    attr TEXT NOT NULL,
    value BLOB NOT NULL,
    key ANY NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (space_id, attr, value, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX index_entries_by_key ON index_entries (space_id, key);
  CREATE TABLE purges (space_id INTEGER NOT NULL, attr TEXT NOT NULL, PRIMARY KEY (space_id, attr)) STRICT;
  CREATE TABLE index_builds (space_id INTEGER NOT NULL, attr TEXT NOT NULL, PRIMARY KEY (space_id, attr)) STRICT;`;

/** `purges.attr` of a removed space: all its objects and index entries go. */
export const WHOLE_SPACE = '';

/*
 * Formats 1 to 4: a table per space. Kept only so that migrations 2 and 3 can bring an old file to
 * format 4 before format 5 moves its rows; nothing creates these tables any more.
 */

function legacyExpiryIndexSql(id: number): string {
  return `CREATE INDEX s_${id}_expiry ON s_${id} (expires_at) WHERE expires_at IS NOT NULL;`;
}

function legacyIndexTableSql(id: number, keyType: KeyTypeName): string {
  const keyColumn = keyType === 'int' ? 'INTEGER' : 'TEXT';
  return `CREATE TABLE x_${id} (
    attr TEXT NOT NULL,
    value BLOB NOT NULL,
    key ${keyColumn} NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (attr, value, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX x_${id}_by_key ON x_${id} (key);`;
}
