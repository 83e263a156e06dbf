/**
 * What `spacekv export` reads a store through: every space and object as of one seq, page by page
 * in key order, whatever the store. Each store opens one read transaction for the whole export
 * (SQLite: a WAL read transaction; PostgreSQL: REPEATABLE READ), so writes go on meanwhile and the
 * export still shows exactly the commits up to `seq`.
 */
import type { Key } from '@spacekv/core';
import type { StoredSpace } from './store.js';

/** One object as stored: its attribute JSON text is passed through, never re-encoded. */
export interface ExportedObject {
  readonly key: Key;
  readonly version: number;
  /** Epoch ms after which the object reads as absent; null when it never expires. */
  readonly expiresAt: number | null;
  readonly attributesJson: string;
}

export interface ExportSource {
  /** The store's last committed seq in the export's snapshot: every commit up to it is in, none after. */
  readonly seq: number;
  /** The spaces in the snapshot, in creation order. */
  spaces(): Promise<readonly StoredSpace[]>;
  /** Objects stored in `space` (expired ones not yet swept included). */
  count(space: StoredSpace): Promise<number>;
  /** Up to `limit` objects of `space` with a key past `after` (null: from the first), in key order. */
  objects(space: StoredSpace, after: Key | null, limit: number): Promise<readonly ExportedObject[]>;
  /** Chunk `index` of large value `id`, in the export's snapshot; null when absent. */
  largeChunk(id: string, index: number): Promise<Uint8Array | null>;
  /** End the read transaction and close the connection. */
  close(): Promise<void>;
}
