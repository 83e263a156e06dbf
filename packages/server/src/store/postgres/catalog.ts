/**
 * This process's view of the spaces in PostgreSQL: each with its runtime `Space` and its table.
 * Other processes add and remove spaces too, so the view carries the `catalog_seq` it was read at;
 * a write batch compares it with the locked meta row and reloads when another process moved it on,
 * which makes the store's incarnation check final whatever this process has heard.
 */
import { Space, type SpaceSchema } from '@spacekv/core';
import type { StoredSpace } from '../store.js';
import { spaceTable } from './layout.js';

export interface PgSpace {
  readonly space: Space;
  readonly table: string;
  /** The SQL type an array of text keys is cast to for this table. */
  readonly keyArrayType: string;
}

interface CatalogRow {
  catalog_seq: string;
  name: string | null;
  created_seq: string | null;
  schema: string | null;
}

/** One statement, so the spaces and the catalog_seq come from one snapshot. */
export const CATALOG_QUERY =
  'SELECT m.catalog_seq, s.name, s.created_seq, s.schema FROM meta m LEFT JOIN spaces s ON true WHERE m.id = 1';

export class PgCatalog {
  private readonly entries = new Map<string, PgSpace>();
  /** The catalog_seq this view was read at; -1 when it must be reloaded before use. */
  seq = -1;

  load(rows: readonly CatalogRow[]): void {
    this.entries.clear();
    for (const row of rows) {
      this.seq = Number(row.catalog_seq);
      if (row.name !== null) this.add(JSON.parse(row.schema as string) as SpaceSchema, Number(row.created_seq));
    }
  }

  add(schema: SpaceSchema, createdSeq: number): PgSpace {
    const keyArrayType = schema.key.type === 'int' ? 'int8[]' : 'text[]';
    const entry: PgSpace = { space: new Space(schema, createdSeq), table: spaceTable(createdSeq), keyArrayType };
    this.entries.set(schema.name, entry);
    return entry;
  }

  delete(name: string): void {
    this.entries.delete(name);
  }

  get(name: string): PgSpace | undefined {
    return this.entries.get(name);
  }

  /** The spaces, oldest first. */
  entriesInOrder(): PgSpace[] {
    return [...this.entries.values()].sort((a, b) => a.space.createdSeq - b.space.createdSeq);
  }

  get size(): number {
    return this.entries.size;
  }

  list(): StoredSpace[] {
    return [...this.entries.values()].map((e) => ({ schema: e.space.schema, createdSeq: e.space.createdSeq }));
  }
}
