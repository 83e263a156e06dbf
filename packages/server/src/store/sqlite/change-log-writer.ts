/**
 * The writer thread's side of the change log: appends each batch's changes inside the batch's
 * transaction (so the log and the data commit together or not at all), saves cursors, and trims
 * the log's old end for retention in short transactions of its own.
 */
import type Database from 'better-sqlite3';
import type { Change } from '@spacekv/core';
import { pruneCut } from '../change-pages.js';
import type { RetentionRule } from '../store.js';
import { MultiRowInsert } from './multi-row-insert.js';

export interface PruneOutcome {
  readonly removed: number;
  readonly floorSeq: number;
}

/** Columns of a change row, in the order the inserts bind them. */
const COLUMNS = 9;

export class ChangeLogWriter {
  private readonly stmts;
  private readonly insert: MultiRowInsert;

  constructor(private readonly db: Database.Database) {
    this.insert = new MultiRowInsert(db, 'INSERT INTO changes (seq, idx, space, key, op, attrs, committed_at, expires_at, schema) VALUES', COLUMNS);
    this.stmts = {
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
    this.appendMembers([changes]);
  }

  /** Append the changes of each member of a batch, in order; the caller's transaction commits them with the data. */
  appendMembers(members: readonly (readonly Change[])[]): void {
    // A tx's changes share its seq; `idx` orders them within it.
    const rows: Change[] = [];
    const idxs: number[] = [];
    for (const changes of members) {
      for (let idx = 0; idx < changes.length; idx++) {
        rows.push(changes[idx] as Change);
        idxs.push(idx);
      }
    }
    this.insert.run(rows.length, (row, params, at) => {
      const c = rows[row] as Change;
      params[at] = c.seq;
      params[at + 1] = idxs[row];
      params[at + 2] = c.space;
      params[at + 3] = c.key;
      params[at + 4] = c.op;
      params[at + 5] = c.attributesJson;
      params[at + 6] = c.committedAtMs;
      params[at + 7] = c.expiresAtMs ?? null;
      params[at + 8] = c.schemaJson ?? null;
    });
  }

  /** Durable on return: one autocommit statement under synchronous=FULL. */
  saveCursor(name: string, seq: number): void {
    this.stmts.saveCursor.run(name, seq);
  }

  /** Remove the oldest changes `rule` allows (see pruneCut), in one transaction. */
  prune(rule: RetentionRule, limit: number): PruneOutcome {
    return this.db.transaction((): PruneOutcome => {
      const floorSeq = this.stmts.floor.get() as number;
      const oldest = (this.stmts.oldest.all(limit + 1) as [seq: number, committedAt: number][]).map(([seq, committedAtMs]) => ({ seq, committedAtMs }));
      const cut = pruneCut(rule, oldest, limit, floorSeq, this.stmts.head.get() as number);
      if (cut <= floorSeq) return { removed: 0, floorSeq };
      const removed = this.stmts.remove.run(cut).changes;
      this.stmts.setFloor.run(cut);
      return { removed, floorSeq: cut };
    }).immediate();
  }
}
