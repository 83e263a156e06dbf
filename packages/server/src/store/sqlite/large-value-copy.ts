/**
 * Point-in-time restore and large values: a replayed change may refer to a large value committed
 * after the backup, whose chunks the backup lacks. They are copied from the log's store (which
 * keeps a value until log retention passes the seq it stopped being referred to, so a change the
 * log still holds finds its value there), one chunk at a time.
 */
import type Database from 'better-sqlite3';
import { SpacekvError } from '@spacekv/core';

export class LargeValueCopier {
  private readonly stmts;

  constructor(target: Database.Database, private readonly log: Database.Database) {
    const logHasValues = log.prepare("SELECT 1 FROM sqlite_master WHERE name = 'large_values'").pluck().get() !== undefined;
    this.stmts = {
      present: target.prepare('SELECT 1 FROM large_values WHERE id = ?').pluck(),
      insertValue: target.prepare('INSERT INTO large_values (id, space, key, attribute, touched_at, adopted_seq) VALUES (?, ?, ?, ?, ?, ?)'),
      insertChunk: target.prepare('INSERT INTO large_chunks (id, idx, data) VALUES (?, ?, ?)'),
      value: logHasValues ? log.prepare('SELECT id, space, key, attribute, touched_at, adopted_seq FROM large_values WHERE id = ?').raw(true).safeIntegers(true) : undefined,
      chunks: logHasValues ? log.prepare('SELECT idx, data FROM large_chunks WHERE id = ? ORDER BY idx').raw(true) : undefined,
    };
  }

  /** Copy each value of `ids` the target lacks, in the caller's transaction. */
  copyMissing(ids: readonly string[], seq: number): void {
    for (const id of ids) {
      if (this.stmts.present.get(id) !== undefined) continue;
      const row = this.stmts.value?.get(id) as unknown[] | undefined;
      if (!row || !this.stmts.chunks) {
        throw new SpacekvError('bad_request', `the change at seq ${seq} refers to large value ${id}, which neither the backup nor the log's store holds`);
      }
      this.stmts.insertValue.run(...row);
      for (const [index, data] of this.stmts.chunks.iterate(id) as IterableIterator<[number, Buffer]>) this.stmts.insertChunk.run(id, index, data);
    }
  }
}
