/**
 * The writer thread's side of the change log: appends each batch's changes inside the batch's
 * transaction (so the log and the data commit together or not at all), saves cursors, and trims
 * the log's old end for retention in short transactions of its own.
 */
import type Database from 'better-sqlite3';
import type { Change } from '@spacekv/core';
import { pruneCut } from '../change-pages.js';
import type { RetentionRule } from '../store.js';

export interface PruneOutcome {
  readonly removed: number;
  readonly floorSeq: number;
}

/** Columns of a change row, in the order the inserts bind them. */
const COLUMNS = 9;
const ROW = `(${new Array(COLUMNS).fill('?').join(', ')})`;

/**
 * Rows per INSERT statement, largest first: a busy batch logs hundreds of changes, and a statement
 * call per row cost about 0.8 µs more per change (a sixth of the writer thread's time per put went
 * to logging) than one call per 64 rows.
 */
const ROWS_PER_INSERT = [64, 8, 1] as const;

/**
 * A multi-row INSERT and the parameter array it is bound from (filled in place, never reallocated).
 * The array is spread into the call rather than passed whole: better-sqlite3 reads an array
 * argument element by element through V8's generic property lookup, about 430 instructions per
 * value (3,900 per logged put, 8% of the writer thread at 1024 puts in flight, callgrind), where
 * arguments are read off the call's frame.
 */
interface RowsInsert {
  readonly rows: number;
  readonly stmt: Database.Statement;
  readonly params: unknown[];
}

export class ChangeLogWriter {
  private readonly stmts;
  private readonly inserts: readonly RowsInsert[];

  constructor(private readonly db: Database.Database) {
    this.inserts = ROWS_PER_INSERT.map((rows) => ({
      rows,
      stmt: db.prepare(`INSERT INTO changes (seq, idx, space, key, op, attrs, committed_at, expires_at, schema) VALUES ${new Array(rows).fill(ROW).join(', ')}`),
      params: new Array<unknown>(rows * COLUMNS),
    }));
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
    let next = 0;
    for (const insert of this.inserts) {
      for (; rows.length - next >= insert.rows; next += insert.rows) {
        for (let row = 0; row < insert.rows; row++) {
          const c = rows[next + row] as Change;
          const idx = idxs[next + row] as number;
          const at = row * COLUMNS;
          const params = insert.params;
          params[at] = c.seq;
          params[at + 1] = idx;
          params[at + 2] = c.space;
          params[at + 3] = c.key;
          params[at + 4] = c.op;
          params[at + 5] = c.attributesJson;
          params[at + 6] = c.committedAtMs;
          params[at + 7] = c.expiresAtMs ?? null;
          params[at + 8] = c.schemaJson ?? null;
        }
        insert.stmt.run(...insert.params);
      }
    }
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
