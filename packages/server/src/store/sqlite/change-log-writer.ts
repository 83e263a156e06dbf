/**
 * The writer thread's side of the change log: appends each batch's changes inside the batch's
 * transaction (so the log and the data commit together or not at all), saves cursors, and trims
 * the log's old end for retention in short transactions of its own.
 */
import type Database from 'better-sqlite3';
import type { Change } from '@spacekv/core';
import type { RetentionRule } from '../store.js';

export interface PruneOutcome {
  readonly removed: number;
  readonly floorSeq: number;
}

export class ChangeLogWriter {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = {
      insert: db.prepare('INSERT INTO changes (seq, idx, space, key, op, attrs, committed_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      saveCursor: db.prepare('INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq'),
      floor: db.prepare("SELECT value FROM meta WHERE name = 'log_floor_seq'").pluck(),
      head: db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck(),
      setFloor: db.prepare("UPDATE meta SET value = ? WHERE name = 'log_floor_seq'"),
      // The oldest `limit` rows: how far one call may cut, and whether they are old enough.
      oldest: db.prepare('SELECT seq, committed_at FROM changes ORDER BY seq, idx LIMIT ?').raw(true),
      remove: db.prepare('DELETE FROM changes WHERE seq <= ?'),
    };
  }

  /** Append one member's changes; the caller's transaction commits them with the data. */
  append(changes: readonly Change[]): void {
    changes.forEach((c, idx) => this.stmts.insert.run(c.seq, idx, c.space, c.key, c.op, c.attributesJson, c.committedAtMs));
  }

  /** Durable on return: one autocommit statement under synchronous=FULL. */
  saveCursor(name: string, seq: number): void {
    this.stmts.saveCursor.run(name, seq);
  }

  /**
   * Remove the oldest changes `rule` allows, at most the seqs of the oldest `limit` rows, in one
   * transaction. By age, the cut is the longest prefix committed before the instant, so a clock
   * step backwards never removes a younger change.
   */
  prune(rule: RetentionRule, limit: number): PruneOutcome {
    return this.db.transaction((): PruneOutcome => {
      const floorSeq = this.stmts.floor.get() as number;
      // One row past the limit tells whether the last seq is whole; a part of a seq never goes,
      // except that the first seq goes whole even when it alone is larger than the limit.
      const fetched = this.stmts.oldest.all(limit + 1) as [seq: number, committedAt: number][];
      if (fetched.length === 0) return { removed: 0, floorSeq };
      const rows = fetched.slice(0, limit);
      const firstSeq = (rows[0] as [number, number])[0];
      const lastSeq = (rows[rows.length - 1] as [number, number])[0];
      const lastSplit = fetched.length > limit && (fetched[limit] as [number, number])[0] === lastSeq;
      let reach = lastSplit && lastSeq !== firstSeq ? lastSeq - 1 : lastSeq;
      reach = Math.min(reach, rule.throughSeqMax);
      let allowed = floorSeq;
      if (rule.keepSeqs !== undefined) allowed = Math.max(allowed, (this.stmts.head.get() as number) - rule.keepSeqs);
      if (rule.committedBeforeMs !== undefined) {
        const young = rows.find(([, committedAt]) => committedAt >= (rule.committedBeforeMs as number));
        allowed = Math.max(allowed, young ? young[0] - 1 : lastSeq);
      }
      const cut = Math.min(reach, allowed);
      if (cut <= floorSeq) return { removed: 0, floorSeq };
      const removed = this.stmts.remove.run(cut).changes;
      this.stmts.setFloor.run(cut);
      return { removed, floorSeq: cut };
    }).immediate();
  }
}
