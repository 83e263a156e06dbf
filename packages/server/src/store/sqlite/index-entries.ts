/**
 * The writer's upkeep of one space's secondary index entries (layout.ts `index_entries`): every write
 * replaces the object's entries in the same transaction, so an index is never behind its data.
 * Spaces with nothing to maintain pay nothing.
 */
import type Database from 'better-sqlite3';
import { type Attributes, type Key, type Space, indexKeysOfName } from '@spacekv/core';
import { bind } from './search-executor.js';

/**
 * Every entry of one object, found through the (space id, key) index. Named outright: with the key
 * bound as a parameter (the column is ANY) SQLite's planner chose the primary key instead and
 * scanned every entry of the space, so a write to an indexed space of n objects cost O(n) (a bulk
 * load of 15,000 objects slowed from 3,800 to 1,000 objects/s). INDEXED BY also makes the statement
 * fail to prepare, rather than scan, should the index ever be missing.
 */
export const ENTRIES_OF_KEY_DELETE = 'DELETE FROM index_entries INDEXED BY index_entries_by_key WHERE space_id = ? AND key = ?';

/** The statements on the shared entries table, prepared once on the writer connection for every space. */
export class IndexStatements {
  readonly insert: Database.Statement;
  readonly removeKey: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT OR IGNORE INTO index_entries (space_id, attr, value, key, expires_at) VALUES (?, ?, ?, ?, ?)');
    this.removeKey = db.prepare(ENTRIES_OF_KEY_DELETE);
  }
}

export class IndexEntries {
  /** Attributes whose entries writes keep: the complete indexes and the one being built, if any. */
  readonly maintained: Set<string>;
  constructor(private readonly stmts: IndexStatements, private readonly id: number, private readonly space: Space, building?: string) {
    this.maintained = new Set(space.schema.indexes ?? []);
    if (building !== undefined) this.maintained.add(building);
  }

  /**
   * The object at `key` now has `attributes` (complete, canonical). The old entries go first, even
   * for a create: an expired object (read as absent) may still hold entries.
   */
  written(key: Key, attributes: Attributes, expiresAt: number | null): void {
    if (this.maintained.size === 0) return;
    this.stmts.removeKey.run(this.id, key);
    for (const attribute of this.maintained) this.add(attribute, key, attributes, expiresAt);
  }

  deleted(key: Key): void {
    if (this.maintained.size > 0) this.stmts.removeKey.run(this.id, key);
  }

  /** Index one attribute (or document path) of one object (used by writes and by an online build). */
  add(attribute: string, key: Key, attributes: Attributes, expiresAt: number | null): void {
    const bound = bind(key);
    for (const entry of indexKeysOfName(this.space, attribute, attributes)) this.stmts.insert.run(this.id, attribute, asBlob(entry), bound, expiresAt);
  }
}

/** better-sqlite3 binds a Buffer as a BLOB; a view over the same bytes costs no copy. */
export function asBlob(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
