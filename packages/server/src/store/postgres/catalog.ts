/**
 * This process's view of the spaces in PostgreSQL. Other processes add and remove spaces too, so
 * the view carries the `catalog_seq` it was read at; a write batch compares it with the locked meta
 * row and reloads when another process moved it on, which makes the store's incarnation check final
 * whatever this process has heard.
 */
import { Space, type SpaceSchema } from '@spacekv/core';
import type { StoredSpace } from '../store.js';

export interface PgSpace {
  readonly space: Space;
  /** The attribute an online index build is filling: writes maintain its entries too. */
  readonly building: string | undefined;
}

/** The attributes whose entries a write of `entry` keeps: the complete indexes and the one being built. */
export function maintainedIndexes(entry: PgSpace): string[] {
  const indexes = [...(entry.space.schema.indexes ?? [])];
  if (entry.building !== undefined && !indexes.includes(entry.building)) indexes.push(entry.building);
  return indexes;
}

export interface CatalogRow {
  catalog_seq: string;
  catalog_gen: string;
  name: string | null;
  created_seq: string | null;
  schema: string | null;
  building: string | null;
}

/** One statement, so the spaces and the catalog_seq come from one snapshot. */
export const CATALOG_QUERY =
  'SELECT m.catalog_seq, m.catalog_gen, s.name, s.created_seq, s.schema, s.building FROM meta m LEFT JOIN spaces s ON true WHERE m.id = 1';

export class PgCatalog {
  private readonly entries = new Map<string, PgSpace>();
  /** The catalog_seq this view was read at (the engine orders catalog snapshots by it). */
  seq = 0;
  /** The catalog_gen this view was read at; -1 when it must be reloaded before use. */
  gen = -1;

  load(rows: readonly CatalogRow[]): void {
    this.entries.clear();
    for (const row of rows) {
      this.seq = Number(row.catalog_seq);
      this.gen = Number(row.catalog_gen);
      if (row.name !== null) this.add(JSON.parse(row.schema as string) as SpaceSchema, Number(row.created_seq), row.building ?? undefined);
    }
  }

  add(schema: SpaceSchema, createdSeq: number, building?: string): PgSpace {
    const entry: PgSpace = { space: new Space(schema, createdSeq), building };
    this.entries.set(schema.name, entry);
    return entry;
  }

  delete(name: string): void {
    this.entries.delete(name);
  }

  get(name: string): PgSpace | undefined {
    return this.entries.get(name);
  }

  /** The space of incarnation `createdSeq`, if this view holds it. */
  bySeq(createdSeq: number): PgSpace | undefined {
    for (const entry of this.entries.values()) if (entry.space.createdSeq === createdSeq) return entry;
    return undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  list(): StoredSpace[] {
    return [...this.entries.values()].map((e) => ({ schema: e.space.schema, createdSeq: e.space.createdSeq }));
  }
}
