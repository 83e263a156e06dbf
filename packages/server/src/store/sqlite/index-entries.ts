/**
 * The writer's upkeep of one space's secondary index entries (layout.ts `x_<id>`): every write
 * replaces the object's entries in the same transaction, so an index is never behind its data.
 * Spaces with nothing to maintain pay nothing.
 */
import type Database from 'better-sqlite3';
import { type Attributes, type Key, type Space, indexKeysOfName } from '@spacekv/core';
import { indexTable } from './layout.js';

export class IndexEntries {
  /** Attributes whose entries writes keep: the complete indexes and the one being built, if any. */
  readonly maintained: Set<string>;
  private readonly insert: Database.Statement;
  private readonly removeKey: Database.Statement;
  private readonly removeAttribute: Database.Statement;

  constructor(db: Database.Database, id: number, private readonly space: Space, building?: string) {
    const table = indexTable(id);
    this.maintained = new Set(space.schema.indexes ?? []);
    if (building !== undefined) this.maintained.add(building);
    this.insert = db.prepare(`INSERT OR IGNORE INTO ${table} (attr, value, key, expires_at) VALUES (?, ?, ?, ?)`);
    this.removeKey = db.prepare(`DELETE FROM ${table} WHERE key = ?`);
    this.removeAttribute = db.prepare(`DELETE FROM ${table} WHERE attr = ?`);
  }

  /**
   * The object at `key` now has `attributes` (complete, canonical). The old entries go first, even
   * for a create: an expired object (read as absent) may still hold entries.
   */
  written(key: Key, attributes: Attributes, expiresAt: number | null): void {
    if (this.maintained.size === 0) return;
    this.removeKey.run(key);
    for (const attribute of this.maintained) this.add(attribute, key, attributes, expiresAt);
  }

  deleted(key: Key): void {
    if (this.maintained.size > 0) this.removeKey.run(key);
  }

  /** Index one attribute (or document path) of one object (used by writes and by an online build). */
  add(attribute: string, key: Key, attributes: Attributes, expiresAt: number | null): void {
    for (const entry of indexKeysOfName(this.space, attribute, attributes)) this.insert.run(attribute, asBlob(entry), key, expiresAt);
  }

  /** Drop every entry of `attribute` (what a build that never finished left behind). */
  clear(attribute: string): void {
    this.removeAttribute.run(attribute);
  }
}

/** better-sqlite3 binds a Buffer as a BLOB; a view over the same bytes costs no copy. */
export function asBlob(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
