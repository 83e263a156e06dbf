/**
 * The writer's view of the spaces: each with its id, its runtime `Space` and its rows in the shared
 * tables (layout.ts). Only the writer changes the catalog, with catalog rows alone (no DDL: the
 * schema cookie never moves); it reloads from disk when a commit fails, so memory never runs ahead
 * of the file. A removed space or index leaves its rows to the purge (purge.ts).
 */
import type Database from 'better-sqlite3';
import { type Attributes, type Key, Space, type SpaceSchema, type StoredObject, largeValueIds } from '@spacekv/core';
import type { SpaceRows, StepTarget } from '../write-steps.js';
import { IndexEntries, IndexStatements } from './index-entries.js';
import { WHOLE_SPACE } from './layout.js';
import { MultiRowInsert } from './multi-row-insert.js';
import { bind } from './search-executor.js';

type Row = [version: number, expiresAt: number | null, attrs: string];

export interface CatalogEntry extends StepTarget {
  readonly id: number;
  readonly indexes: IndexEntries;
}

/** An object write held for the batch's multi-row statement: its space id, bound key and row. */
interface HeldWrite {
  readonly id: number;
  readonly key: unknown;
  readonly version: number;
  readonly expiresAt: number | null;
  readonly attributesJson: string;
}

/**
 * The shared objects table, for every space, on the writer connection. While the batch executor
 * holds writes (between `hold` and `flush`, for members that need no savepoint), an object write
 * is kept in memory, where later reads of the batch find it, and written with the batch's other
 * held writes in 64-row statements at the flush: a statement per put cost the writer thread about
 * 4k of its 44k instructions per put in fixed per-statement costs (callgrind, 1024 in flight).
 * A later write of a key replaces its held one; a removal drops it and deletes the row at once.
 */
class ObjectTable {
  private readonly select: Database.Statement;
  private readonly upsert: MultiRowInsert;
  private readonly delete: Database.Statement;
  /**
   * Held writes by space id, then by bound key (bind() makes the int keys 1 and 1n one entry). A
   * new map for each batch: one kept for the writer's life lives in V8's old generation, and every
   * young key and write put in it made each scavenge visit it (the writer's GC time doubled).
   */
  private held = new Map<number, Map<unknown, HeldWrite>>();
  private holding = false;

  constructor(db: Database.Database) {
    this.select = db.prepare('SELECT version, expires_at, attrs FROM objects WHERE space_id = ? AND key = ?').raw(true);
    // An upsert, not INSERT OR REPLACE: on a key that exists, REPLACE deletes the row (and its expiry
    // index entry) and inserts it again, where DO UPDATE rewrites it in place and leaves an index
    // whose column did not change alone. Rewriting 2,000 existing 1 KB objects in 500-row
    // transactions: 81-161 µs per row with REPLACE, 38-64 µs with the upsert (2026-12-06).
    this.upsert = new MultiRowInsert(db, 'INSERT INTO objects (space_id, key, version, expires_at, attrs) VALUES', 5,
      ' ON CONFLICT (space_id, key) DO UPDATE SET version = excluded.version, expires_at = excluded.expires_at, attrs = excluded.attrs');
    this.delete = db.prepare('DELETE FROM objects WHERE space_id = ? AND key = ?');
  }

  read(id: number, key: Key): StoredObject | null {
    if (this.held.size > 0) {
      const held = this.held.get(id)?.get(bind(key));
      if (held) return { version: held.version, expiresAt: held.expiresAt, attributesJson: held.attributesJson };
    }
    const row = this.select.get(id, key) as Row | undefined;
    return row ? { version: row[0], expiresAt: row[1], attributesJson: row[2] } : null;
  }

  write(id: number, key: Key, version: number, expiresAt: number | null, attributesJson: string): void {
    const write: HeldWrite = { id, key: bind(key), version, expiresAt, attributesJson };
    if (!this.holding) {
      this.upsert.run(1, (_row, params) => setRow(params, 0, write));
      return;
    }
    let space = this.held.get(id);
    if (!space) {
      space = new Map();
      this.held.set(id, space);
    }
    space.set(write.key, write);
  }

  remove(id: number, key: Key): void {
    this.held.get(id)?.delete(bind(key));
    this.delete.run(id, key);
  }

  /** Hold the writes that follow until `flush`. */
  hold(): void {
    this.holding = true;
  }

  /** Write what is held and stop holding. Throws what SQLite throws; the held writes are gone either way. */
  flush(): void {
    this.holding = false;
    if (this.held.size === 0) return;
    const writes: HeldWrite[] = [];
    for (const space of this.held.values()) for (const write of space.values()) writes.push(write);
    this.held = new Map();
    this.upsert.run(writes.length, (row, params, at) => setRow(params, at, writes[row] as HeldWrite));
  }

  /** Forget what is held, unwritten: the batch's transaction was rolled back. */
  discard(): void {
    this.holding = false;
    this.held = new Map();
  }
}

function setRow(params: unknown[], at: number, write: HeldWrite): void {
  params[at] = write.id;
  params[at + 1] = write.key;
  params[at + 2] = write.version;
  params[at + 3] = write.expiresAt;
  params[at + 4] = write.attributesJson;
}

/** A space's objects in the shared table; its index entries follow every write. */
class SpaceObjects implements SpaceRows {
  constructor(
    private readonly objects: ObjectTable,
    private readonly id: number,
    private readonly indexes: IndexEntries,
    private readonly adopt: Database.Statement,
  ) {}

  read(key: Key): StoredObject | null {
    return this.objects.read(this.id, key);
  }

  write(key: Key, version: number, expiresAt: number | null, attributesJson: string, attributes: Attributes): void {
    this.indexes.written(key, attributes, expiresAt);
    // In this write's transaction: a large value the object now refers to becomes adopted with it (store.ts LargeValues).
    for (const id of largeValueIds(attributesJson, attributes)) this.adopt.run(version, id);
    // Last, so that a write whose entries failed leaves no object behind (it may be held: ObjectTable).
    this.objects.write(this.id, key, version, expiresAt, attributesJson);
  }

  remove(key: Key): void {
    this.objects.remove(this.id, key);
    this.indexes.deleted(key);
  }
}

export class WriterCatalog {
  private readonly entries = new Map<string, CatalogEntry>();
  /**
   * Indexes being built online, by space id: writes must keep their entries from the build's start.
   * Kept apart from the entries so that a reload (after a failed commit) does not forget them.
   */
  readonly building = new Map<number, string>();
  private readonly adopt: Database.Statement;

  private readonly objects: ObjectTable;
  private readonly indexStatements: IndexStatements;
  private readonly stmts;

  constructor(db: Database.Database) {
    this.adopt = db.prepare('UPDATE large_values SET adopted_seq = ? WHERE id = ? AND adopted_seq IS NULL');
    this.objects = new ObjectTable(db);
    this.indexStatements = new IndexStatements(db);
    this.stmts = {
      insertSpace: db.prepare('INSERT INTO spaces (name, schema, created_seq) VALUES (?, ?, ?)'),
      updateSchema: db.prepare('UPDATE spaces SET schema = ? WHERE id = ?'),
      deleteSpace: db.prepare('DELETE FROM spaces WHERE id = ?'),
      purge: db.prepare('INSERT OR IGNORE INTO purges (space_id, attr) VALUES (?, ?)'),
      all: db.prepare('SELECT id, name, schema, created_seq FROM spaces ORDER BY id'),
    };
    this.reload();
  }

  /** Forget what memory holds and read the catalog from the file again: the transaction was rolled back. */
  reload(): void {
    this.objects.discard();
    this.entries.clear();
    const rows = this.stmts.all.all() as {
      id: number;
      schema: string;
      created_seq: number;
    }[];
    for (const row of rows) this.add(row.id, JSON.parse(row.schema) as SpaceSchema, row.created_seq);
  }

  add(id: number, schema: SpaceSchema, createdSeq: number): CatalogEntry {
    const space = new Space(schema, createdSeq);
    const indexes = new IndexEntries(this.indexStatements, id, space, this.building.get(id));
    const entry: CatalogEntry = { id, space, rows: new SpaceObjects(this.objects, id, indexes, this.adopt), indexes };
    this.entries.set(schema.name, entry);
    return entry;
  }

  /** Add a space's catalog row (in the caller's transaction), and the space: its id is new, never reused. */
  create(schema: SpaceSchema, createdSeq: number): CatalogEntry {
    const id = Number(this.stmts.insertSpace.run(schema.name, JSON.stringify(schema), createdSeq).lastInsertRowid);
    return this.add(id, schema, createdSeq);
  }

  /** Give a space a new schema of the same incarnation (in the caller's transaction): an index added. */
  setSchema(entry: CatalogEntry, schema: SpaceSchema): CatalogEntry {
    this.stmts.updateSchema.run(JSON.stringify(schema), entry.id);
    return this.add(entry.id, schema, entry.space.createdSeq);
  }

  /**
   * Give a space the schema it has once an index is dropped (in the caller's transaction): the
   * catalog row, and a purge of the entries of every index the new schema no longer declares.
   */
  dropIndexes(entry: CatalogEntry, schema: SpaceSchema): CatalogEntry {
    const kept = new Set(schema.indexes ?? []);
    for (const attribute of entry.space.schema.indexes ?? []) if (!kept.has(attribute)) this.stmts.purge.run(entry.id, attribute);
    return this.setSchema(entry, schema);
  }

  /** Remove a space's catalog row and leave its rows to the purge (in the caller's transaction), and forget it. */
  remove(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.stmts.deleteSpace.run(entry.id);
    this.stmts.purge.run(entry.id, WHOLE_SPACE);
    this.delete(name);
  }

  delete(name: string): void {
    const entry = this.entries.get(name);
    if (entry) this.building.delete(entry.id);
    this.entries.delete(name);
  }

  /** Hold object writes in memory from now on (ObjectTable); only for writes no savepoint will need to undo. */
  hold(): void {
    this.objects.hold();
  }

  /** Write the held object writes, in the caller's transaction, and write straight through again. */
  flush(): void {
    this.objects.flush();
  }

  get(name: string): CatalogEntry | undefined {
    return this.entries.get(name);
  }

  get size(): number {
    return this.entries.size;
  }

  list(): { schema: SpaceSchema; createdSeq: number }[] {
    return [...this.entries.values()].map((e) => ({ schema: e.space.schema, createdSeq: e.space.createdSeq }));
  }
}
