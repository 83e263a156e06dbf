/**
 * The writer's view of the spaces: each with its table id, its runtime `Space` and its rows through
 * statements prepared against its table. Only the writer changes the catalog; it does so after the DDL has
 * run, and reloads from disk when a commit fails, so memory never runs ahead of the file.
 */
import type Database from 'better-sqlite3';
import { type Attributes, type Key, Space, type SpaceSchema, type StoredObject, largeValueIds } from '@spacekv/core';
import type { SpaceRows, StepTarget } from '../write-steps.js';
import { IndexEntries } from './index-entries.js';
import { createIndexTableSql, createSpaceTableSql, indexTable, spaceTable } from './layout.js';

type Row = [version: number, expiresAt: number | null, attrs: string];

export interface CatalogEntry extends StepTarget {
  readonly id: number;
  readonly indexes: IndexEntries;
}

/** A space's table through statements prepared on the writer connection; its index entries follow every write. */
class TableRows implements SpaceRows {
  private readonly select: Database.Statement;
  private readonly upsert: Database.Statement;
  private readonly delete: Database.Statement;

  constructor(db: Database.Database, table: string, private readonly indexes: IndexEntries, private readonly adopt: Database.Statement) {
    this.select = db.prepare(`SELECT version, expires_at, attrs FROM ${table} WHERE key = ?`).raw(true);
    this.upsert = db.prepare(`INSERT OR REPLACE INTO ${table} (key, version, expires_at, attrs) VALUES (?, ?, ?, ?)`);
    this.delete = db.prepare(`DELETE FROM ${table} WHERE key = ?`);
  }

  read(key: Key): StoredObject | null {
    const row = this.select.get(key) as Row | undefined;
    return row ? { version: row[0], expiresAt: row[1], attributesJson: row[2] } : null;
  }

  write(key: Key, version: number, expiresAt: number | null, attributesJson: string, attributes: Attributes): void {
    this.upsert.run(key, version, expiresAt, attributesJson);
    this.indexes.written(key, attributes, expiresAt);
    // In this write's transaction: a large value the object now refers to becomes adopted with it (store.ts LargeValues).
    for (const id of largeValueIds(attributesJson, attributes)) this.adopt.run(version, id);
  }

  remove(key: Key): void {
    this.delete.run(key);
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

  constructor(private readonly db: Database.Database) {
    this.adopt = db.prepare('UPDATE large_values SET adopted_seq = ? WHERE id = ? AND adopted_seq IS NULL');
    this.reload();
  }

  reload(): void {
    this.entries.clear();
    const rows = this.db.prepare('SELECT id, name, schema, created_seq FROM spaces ORDER BY id').all() as {
      id: number;
      schema: string;
      created_seq: number;
    }[];
    for (const row of rows) this.add(row.id, JSON.parse(row.schema) as SpaceSchema, row.created_seq);
  }

  add(id: number, schema: SpaceSchema, createdSeq: number): CatalogEntry {
    const space = new Space(schema, createdSeq);
    const indexes = new IndexEntries(this.db, id, space, this.building.get(id));
    const entry: CatalogEntry = { id, space, rows: new TableRows(this.db, spaceTable(id), indexes, this.adopt), indexes };
    this.entries.set(schema.name, entry);
    return entry;
  }

  /** Create a space's tables and catalog row (in the caller's transaction), and add it. */
  create(schema: SpaceSchema, createdSeq: number): CatalogEntry {
    const id = Number(this.db.prepare('INSERT INTO spaces (name, schema, created_seq) VALUES (?, ?, ?)').run(schema.name, JSON.stringify(schema), createdSeq).lastInsertRowid);
    this.db.exec(createSpaceTableSql(id, schema.key.type));
    this.db.exec(createIndexTableSql(id, schema.key.type));
    return this.add(id, schema, createdSeq);
  }

  /**
   * Give a space the schema it has once an index is dropped (in the caller's transaction): the
   * catalog row, and the entries of every index the new schema no longer declares.
   */
  dropIndexes(entry: CatalogEntry, schema: SpaceSchema): CatalogEntry {
    const kept = new Set(schema.indexes ?? []);
    for (const attribute of entry.space.schema.indexes ?? []) if (!kept.has(attribute)) entry.indexes.clear(attribute);
    this.db.prepare('UPDATE spaces SET schema = ? WHERE id = ?').run(JSON.stringify(schema), entry.id);
    return this.add(entry.id, schema, entry.space.createdSeq);
  }

  /** Drop a space's tables and catalog row (in the caller's transaction), and forget it. */
  remove(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.db.prepare('DELETE FROM spaces WHERE id = ?').run(entry.id);
    this.db.exec(`DROP TABLE ${spaceTable(entry.id)}`);
    this.db.exec(`DROP TABLE ${indexTable(entry.id)}`);
    this.delete(name);
  }

  delete(name: string): void {
    const entry = this.entries.get(name);
    if (entry) this.building.delete(entry.id);
    this.entries.delete(name);
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
