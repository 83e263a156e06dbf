/**
 * Reads of the change log, its cursors and expired objects, on a read-only connection of their own
 * on the engine's thread. Each call is one short read transaction (a consistent head, floor and
 * page) bounded in rows and in bytes, so it stays near the ~1 ms the event loop may be held
 * (docs/architecture.md §4.5); WAL readers never wait for the writer.
 */
import Database from 'better-sqlite3';
import { type Change, type Key, type OpName, SpacekvError } from '@spacekv/core';
import { cutPage } from '../change-pages.js';
import type { ChangePage, ExpiredObject } from '../store.js';
import { spaceTable } from './layout.js';
import { configureReader } from './pragmas.js';
import { keyOf } from './search-executor.js';

/**
 * Spaces one expiredObjects call looks into, round robin: a store of thousands of spaces costs a
 * sweep of them all over several calls, never one long hold of the event loop.
 */
const SPACES_PER_SWEEP = 64;

type ChangeRow = [seq: bigint, space: string, key: string | bigint, op: string, attrs: string | null, committedAt: bigint];

function changeOf(row: ChangeRow): Change {
  return { seq: Number(row[0]), space: row[1], key: keyOf(row[2]), op: row[3] as OpName, attributesJson: row[4], committedAtMs: Number(row[5]) };
}

export class ChangeLogReader {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly expiredBySpaceId = new Map<number, Database.Statement>();
  /** The space id the last sweep looked into last; the next starts after it. */
  private sweptSpaceId = 0;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    configureReader(this.db);
    this.stmts = {
      meta: this.db.prepare("SELECT value FROM meta WHERE name = ?").pluck(),
      page: this.db.prepare('SELECT seq, space, key, op, attrs, committed_at FROM changes WHERE seq > ? ORDER BY seq, idx LIMIT ?').raw(true).safeIntegers(true),
      seq: this.db.prepare('SELECT seq, space, key, op, attrs, committed_at FROM changes WHERE seq = ? ORDER BY idx').raw(true).safeIntegers(true),
      cursor: this.db.prepare('SELECT seq FROM cursors WHERE name = ?').pluck(),
      spaces: this.db.prepare('SELECT id, name FROM spaces ORDER BY id').raw(true),
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

  /**
   * Expired rows of up to SPACES_PER_SWEEP spaces, taken round robin in id order after the last
   * call's, until `limit`; each space's oldest expiry first, through its expiry index.
   */
  expiredObjects(nowMs: number, limit: number): ExpiredObject[] {
    const spaces = this.stmts.spaces.all() as [number, string][];
    this.forgetRemovedSpaces(spaces);
    const start = Math.max(0, spaces.findIndex(([id]) => id > this.sweptSpaceId));
    const found: ExpiredObject[] = [];
    for (let n = 0; n < Math.min(spaces.length, SPACES_PER_SWEEP) && found.length < limit; n++) {
      const [id, space] = spaces[(start + n) % spaces.length] as [number, string];
      this.sweptSpaceId = id;
      const rows = this.expiredIn(id).all(nowMs, limit - found.length) as [string | bigint, bigint][];
      for (const [key, version] of rows) found.push({ space, key: keyOf(key), version: Number(version) });
    }
    return found;
  }

  /** Statements of removed spaces' tables go (ids are never reused, so they would never run again). */
  private forgetRemovedSpaces(spaces: readonly [number, string][]): void {
    if (this.expiredBySpaceId.size <= spaces.length) return;
    const live = new Set(spaces.map(([id]) => id));
    for (const id of this.expiredBySpaceId.keys()) if (!live.has(id)) this.expiredBySpaceId.delete(id);
  }

  private expiredIn(id: number): Database.Statement {
    let stmt = this.expiredBySpaceId.get(id);
    if (!stmt) {
      stmt = this.db
        .prepare(`SELECT key, version FROM ${spaceTable(id)} WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`)
        .raw(true).safeIntegers(true);
      this.expiredBySpaceId.set(id, stmt);
    }
    return stmt;
  }

  close(): void {
    this.db.close();
  }
}
