/**
 * Reads of the change log, its cursors and expired objects, on a read-only connection of their own
 * on the engine's thread. Each call is one short read transaction (a consistent head, floor and
 * page) bounded in rows and in bytes, so it stays near the ~1 ms the event loop may be held
 * (docs/architecture.md §4.5); WAL readers never wait for the writer.
 */
import Database from 'better-sqlite3';
import { type Change, type OpName, SpacekvError } from '@spacekv/core';
import { cutPage } from '../change-pages.js';
import type { ChangePage, ExpiredObject } from '../store.js';
import { configureReader } from './pragmas.js';
import { keyOf } from './search-executor.js';

type ChangeRow = [seq: bigint, space: string, key: string | bigint, op: string, attrs: string | null, committedAt: bigint];

function changeOf(row: ChangeRow): Change {
  return { seq: Number(row[0]), space: row[1], key: keyOf(row[2]), op: row[3] as OpName, attributesJson: row[4], committedAtMs: Number(row[5]) };
}

export class ChangeLogReader {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    configureReader(this.db);
    this.stmts = {
      meta: this.db.prepare("SELECT value FROM meta WHERE name = ?").pluck(),
      page: this.db.prepare('SELECT seq, space, key, op, attrs, committed_at FROM changes WHERE seq > ? ORDER BY seq, idx LIMIT ?').raw(true).safeIntegers(true),
      seq: this.db.prepare('SELECT seq, space, key, op, attrs, committed_at FROM changes WHERE seq = ? ORDER BY idx').raw(true).safeIntegers(true),
      cursor: this.db.prepare('SELECT seq FROM cursors WHERE name = ?').pluck(),
      // The oldest expiries of every space through the one expiry index, at most `limit` rows read:
      // rows of a removed space still being purged are read and dropped, never waited on.
      expired: this.db.prepare(`SELECT s.name, o.key, o.version FROM
          (SELECT space_id, key, version FROM objects WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?) AS o
          JOIN spaces AS s ON s.id = o.space_id`).raw(true).safeIntegers(true),
    };
  }

  readChanges(afterSeq: number, limit: number): ChangePage {
    return this.db.transaction((): ChangePage => {
      const floorSeq = this.stmts.meta.get('log_floor_seq') as number;
      if (afterSeq < floorSeq) {
        throw new SpacekvError('compacted', `changes after seq ${afterSeq} were removed by log retention (the log starts after seq ${floorSeq})`);
      }
      const headSeq = this.stmts.meta.get('last_seq') as number;
      const rows = this.stmts.page.all(afterSeq, limit + 1) as ChangeRow[]; // one more tells whether the last seq is whole
      return { changes: this.wholeSeqs(rows, limit), headSeq };
    })();
  }

  /** Cut a page at a seq boundary and at the page's byte bound (change-pages.ts), keeping at least the first seq whole. */
  private wholeSeqs(rows: readonly ChangeRow[], limit: number): Change[] {
    const page = cutPage(rows.map(changeOf), limit);
    return 'wholeSeq' in page ? (this.stmts.seq.all(page.wholeSeq) as ChangeRow[]).map(changeOf) : page.changes;
  }

  readCursor(name: string): number {
    return (this.stmts.cursor.get(name) as number | undefined) ?? 0;
  }

  /** Up to `limit` objects expired at `nowMs`, across spaces, oldest expiry first. */
  expiredObjects(nowMs: number, limit: number): ExpiredObject[] {
    const rows = this.stmts.expired.all(nowMs, limit) as [string, string | bigint, bigint][];
    return rows.map(([space, key, version]) => ({ space, key: keyOf(key), version: Number(version) }));
  }

  close(): void {
    this.db.close();
  }
}
