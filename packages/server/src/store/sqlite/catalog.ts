/**
 * The writer's view of the spaces: each with its table id, its runtime `Space` and the statements
 * prepared against its table. Only the writer changes the catalog; it does so after the DDL has
 * run, and reloads from disk when a commit fails, so memory never runs ahead of the file.
 */
import type Database from 'better-sqlite3';
import { Space, type SpaceSchema } from '@spacekv/core';
import { IndexEntries } from './index-entries.js';
import { spaceTable } from './layout.js';

export interface CatalogEntry {
  readonly id: number;
  readonly space: Space;
  readonly select: Database.Statement;
  readonly upsert: Database.Statement;
  readonly remove: Database.Statement;
  readonly indexes: IndexEntries;
}

export class WriterCatalog {
  private readonly entries = new Map<string, CatalogEntry>();
  /**
   * Indexes being built online, by space id: writes must keep their entries from the build's start.
   * Kept apart from the entries so that a reload (after a failed commit) does not forget them.
   */
  readonly building = new Map<number, string>();

  constructor(private readonly db: Database.Database) {
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
    const table = spaceTable(id);
    const space = new Space(schema, createdSeq);
    const entry: CatalogEntry = {
      id,
      space,
      select: this.db.prepare(`SELECT version, expires_at, attrs FROM ${table} WHERE key = ?`).raw(true),
      upsert: this.db.prepare(`INSERT OR REPLACE INTO ${table} (key, version, expires_at, attrs) VALUES (?, ?, ?, ?)`),
      remove: this.db.prepare(`DELETE FROM ${table} WHERE key = ?`),
      indexes: new IndexEntries(this.db, id, space, this.building.get(id)),
    };
    this.entries.set(schema.name, entry);
    return entry;
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
