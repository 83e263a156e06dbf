/**
 * Reads of large values on the engine's thread, on a read-only connection of their own: one chunk
 * (a primary-key lookup of one row, LARGE_CHUNK_BYTES at most) per call, and the sweeper's
 * bounded pages of candidates. WAL readers never wait for the writer.
 */
import Database from 'better-sqlite3';
import type { LargeValueCandidate } from '../store.js';
import { LARGE_VALUE_CACHE_KIB, configureReader } from './pragmas.js';
import { keyOf } from './search-executor.js';

type CandidateRow = [id: string, space: string, key: string | bigint, attribute: string, droppable: bigint | null];

export class LargeValueReader {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    configureReader(this.db);
    this.db.pragma(`cache_size = -${LARGE_VALUE_CACHE_KIB}`); // chunks are read once: caching them only fills memory
    this.stmts = {
      chunk: this.db.prepare('SELECT data FROM large_chunks WHERE id = ? AND idx = ?').pluck(),
      staged: this.db.prepare('SELECT id, space, key, attribute, NULL FROM large_values WHERE adopted_seq IS NULL AND touched_at < ? ORDER BY touched_at LIMIT ?').raw(true).safeIntegers(true),
      adopted: this.db.prepare(
        `SELECT id, space, key, attribute, orphaned_seq <= (SELECT value FROM meta WHERE name = 'log_floor_seq')
         FROM large_values WHERE adopted_seq IS NOT NULL AND id > ? ORDER BY id LIMIT ?`,
      ).raw(true).safeIntegers(true),
    };
  }

  readChunk(id: string, index: number): Uint8Array | null {
    return (this.stmts.chunk.get(id, index) as Uint8Array | undefined) ?? null;
  }

  sweepCandidates(idleBeforeMs: number, afterId: string, limit: number): LargeValueCandidate[] {
    return this.db.transaction(() => {
      const staged = this.stmts.staged.all(idleBeforeMs, limit) as CandidateRow[];
      const adopted = this.stmts.adopted.all(afterId, limit - staged.length) as CandidateRow[];
      return [
        ...staged.map((row) => candidate(row, 'staged')),
        ...adopted.map((row) => candidate(row, Number(row[4]) === 1 ? 'droppable' : 'adopted')),
      ];
    })();
  }

  close(): void {
    this.db.close();
  }
}

function candidate(row: CandidateRow, state: LargeValueCandidate['state']): LargeValueCandidate {
  return { id: row[0], owner: { space: row[1], key: keyOf(row[2]), attribute: row[3] }, state };
}
