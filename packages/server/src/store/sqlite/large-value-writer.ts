/**
 * The writer thread's side of large values (store.ts `LargeValues`): staging chunks, adopting a
 * value in the transaction of the write that first refers to it, and removing what the sweeper
 * found abandoned or unreferenced. Staging and removal run in short transactions of their own
 * between batches, so an upload of gigabytes holds the writer a chunk at a time, never for long.
 */
import type Database from 'better-sqlite3';
import { type Key, refersToLargeValue } from '@spacekv/core';
import type { StoredObject } from '@spacekv/core';
import { bind } from './search-executor.js';

/** Chunks removed per transaction when a value is dropped: a 4 GiB value goes in 64 short steps. */
export const DROP_CHUNKS_PER_STEP = 64;

export type LargeValueRequest =
  | { readonly step: 'begin'; readonly id: string; readonly space: string; readonly key: Key; readonly attribute: string; readonly nowMs: number }
  | { readonly step: 'append'; readonly id: string; readonly index: number; readonly data: Uint8Array; readonly nowMs: number }
  | { readonly step: 'orphan'; readonly id: string; readonly space: string; readonly key: Key; readonly attribute: string; readonly nowMs: number }
  | { readonly step: 'drop'; readonly id: string };

export class LargeValueWriter {
  private readonly stmts;

  /**
   * `staging` is a second connection of the writer thread with a small page cache, for the chunks:
   * gigabytes passing through the writer's large cache would leave it (and the process's memory)
   * full of them. The thread runs one thing at a time, so the two connections never wait on each
   * other's write lock. Adoption runs on the writer's connection, in the batch (catalog.ts).
   * `readObject` reads an object as the writer sees it (null when absent or its space is gone).
   */
  constructor(private readonly staging: Database.Database, private readonly readObject: (space: string, key: Key) => StoredObject | null) {
    this.stmts = {
      begin: staging.prepare('INSERT INTO large_values (id, space, key, attribute, touched_at) VALUES (?, ?, ?, ?, ?)'),
      touch: staging.prepare('UPDATE large_values SET touched_at = ? WHERE id = ? AND adopted_seq IS NULL'),
      chunk: staging.prepare('INSERT OR REPLACE INTO large_chunks (id, idx, data) VALUES (?, ?, ?)'),
      orphan: staging.prepare("UPDATE large_values SET orphaned_seq = (SELECT value FROM meta WHERE name = 'last_seq') WHERE id = ? AND orphaned_seq IS NULL"),
      dropChunks: staging.prepare('DELETE FROM large_chunks WHERE rowid IN (SELECT rowid FROM large_chunks WHERE id = ? LIMIT ?)'),
      dropValue: staging.prepare('DELETE FROM large_values WHERE id = ?'),
    };
  }

  /** Run one request in a transaction of its own on the staging connection; `drop` answers whether the value is gone. */
  run(request: LargeValueRequest): boolean {
    return this.staging.transaction(() => {
      switch (request.step) {
        case 'begin':
          this.stmts.begin.run(request.id, request.space, bind(request.key), request.attribute, request.nowMs);
          return true;
        case 'append':
          // A value adopted or dropped meanwhile takes no more chunks (the sweeper judged the upload abandoned).
          if (this.stmts.touch.run(request.nowMs, request.id).changes === 0) throw new Error(`the upload ${request.id} is no longer staged`);
          this.stmts.chunk.run(request.id, request.index, request.data);
          return true;
        case 'orphan': {
          const stored = this.readObject(request.space, request.key);
          const live = stored && (stored.expiresAt === null || stored.expiresAt > request.nowMs);
          if (!live || !refersToLargeValue(stored.attributesJson, request.attribute, request.id)) this.stmts.orphan.run(request.id);
          return true;
        }
        case 'drop': {
          const removed = this.stmts.dropChunks.run(request.id, DROP_CHUNKS_PER_STEP).changes;
          if (removed < DROP_CHUNKS_PER_STEP) this.stmts.dropValue.run(request.id);
          return removed < DROP_CHUNKS_PER_STEP;
        }
      }
    }).immediate();
  }

  close(): void {
    this.staging.close();
  }
}
