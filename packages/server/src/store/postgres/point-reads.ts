/**
 * Point reads coalesced: the gets of one space asked while the store's read statements are busy
 * (or within one turn of the event loop) go to PostgreSQL as one statement (a primary-key probe per key, keyed-rows.ts), and
 * each get takes its own row from the answer. PostgreSQL then parses, plans and round-trips once
 * per batch instead of once per get, which is most of a point read's cost on both sides.
 *
 * Linearizable, as one statement per get was: a batch is sent only after every one of its gets
 * was asked, and PostgreSQL takes the statement's snapshot once it receives it. So the snapshot
 * holds every commit acknowledged before any of its gets was asked, and it is taken before any of
 * them is answered: each get takes effect at that snapshot, within its own call.
 */
import { type Sql } from './connection.js';
import { byteaArray } from './array-literals.js';
import { rowsOfKeys } from './keyed-rows.js';

/** An object's columns, all null when it is absent. */
export interface PointRow {
  version: string | null;
  expires_at: string | null;
  attrs: string | null;
}

interface BatchRow extends PointRow {
  key: Buffer | null;
}

/**
 * Through the space's catalog row, found by its incarnation (`created_seq`, the `objects` rows'
 * `space_seq`), so a space removed by another server (its rows not yet purged), or removed and
 * re-created, is not read: no space row, no rows at all; a space row and none of the keys, one row
 * of nulls.
 */
const POINT_READS_SQL = `SELECT o.key, o.version, o.expires_at, o.attrs FROM spaces s
  LEFT JOIN LATERAL (SELECT o.* FROM ${rowsOfKeys('s.created_seq', '$2::bytea[]', false)}) o ON true WHERE s.created_seq = $1`;

/**
 * A lone get (nothing else was asked in its turn, as at one request in flight): the same answer
 * from a plain join on the primary key, which PostgreSQL plans and runs in about half the time of
 * the unnest and lateral probe. The key equality names the whole primary key, so no plan can
 * narrow it to `space_seq` alone (the trap keyed-rows.ts avoids for lists of keys). Only the
 * object's columns: the get knows its key, and each column more is parsed on every read.
 */
const POINT_READ_SQL = `SELECT o.version, o.expires_at, o.attrs FROM spaces s
  LEFT JOIN objects o ON o.space_seq = s.created_seq AND o.key = $2::bytea WHERE s.created_seq = $1`;

/**
 * Statements in flight at once. Two, not one: the next batch is sent while the last one's answer is
 * parsed and handed out, so PostgreSQL is not left idle; more would only cut the batches smaller.
 */
const STATEMENTS_INFLIGHT_MAX = 2;

interface Waiter {
  readonly key: Buffer;
  resolve(row: PointRow | undefined): void;
  reject(err: unknown): void;
}

export class PointReads {
  /** Gets not yet sent, by the connections they were asked on, then by space incarnation, in the order asked. */
  private readonly waiting = new Map<Sql, Map<number, Waiter[]>>();
  private inflight = 0;
  private flushScheduled = false;
  /** Gets asked and statements sent since open: their ratio is how well reads coalesce. */
  readonly counts = { gets: 0, statements: 0 };

  /**
   * `batchKeysMax`: the most keys one statement reads (pointReadBatchKeysMax). `onConnection` runs
   * a statement of the gets asked on `sql`, on whichever of its connections it picks (PgPool.reading).
   */
  constructor(
    private readonly batchKeysMax: number,
    private readonly onConnection: <T>(sql: Sql, statement: (on: Sql) => Promise<T>) => Promise<T>,
  ) {}

  /**
   * The row of `key` (its bytes) in the space incarnation `spaceSeq`, read on `sql` together with
   * whatever other gets wait; undefined when that incarnation is gone.
   */
  read(sql: Sql, spaceSeq: number, key: Buffer): Promise<PointRow | undefined> {
    this.counts.gets++;
    return new Promise((resolve, reject) => {
      let spaces = this.waiting.get(sql);
      if (!spaces) this.waiting.set(sql, (spaces = new Map()));
      let queue = spaces.get(spaceSeq);
      if (!queue) spaces.set(spaceSeq, (queue = []));
      queue.push({ key, resolve, reject });
      if (this.inflight < STATEMENTS_INFLIGHT_MAX && !this.flushScheduled) {
        // At the end of this turn: the gets of the other requests read in the same turn join in.
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Send batches while statements may be added; the rest wait for one to finish. */
  private flush(): void {
    while (this.inflight < STATEMENTS_INFLIGHT_MAX) {
      const next = this.take();
      if (!next) return;
      this.inflight++;
      this.counts.statements++;
      void this.send(next.sql, next.spaceSeq, next.waiters).finally(() => {
        this.inflight--;
        this.flush();
      });
    }
  }

  /** Up to batchKeysMax of the longest-waiting gets of one space on one set of connections, the spaces in turn. */
  private take(): { sql: Sql; spaceSeq: number; waiters: Waiter[] } | undefined {
    for (const [sql, spaces] of this.waiting) {
      for (const [spaceSeq, queue] of spaces) {
        const waiters = queue.splice(0, this.batchKeysMax);
        // Whatever is left goes behind the other spaces, so one busy space does not hold up the rest.
        spaces.delete(spaceSeq);
        if (queue.length > 0) spaces.set(spaceSeq, queue);
        if (spaces.size === 0) this.waiting.delete(sql);
        return { sql, spaceSeq, waiters };
      }
    }
    return undefined;
  }

  private async send(sql: Sql, spaceSeq: number, waiters: readonly Waiter[]): Promise<void> {
    try {
      const [lone] = waiters;
      if (waiters.length === 1) {
        const [row] = await this.onConnection(sql, (on) => on.unsafe<PointRow[]>(POINT_READ_SQL, [spaceSeq, (lone as Waiter).key] as never[], { prepare: true }));
        (lone as Waiter).resolve(row);
        return;
      }
      const rows = await this.onConnection(sql, (on) => on.unsafe<BatchRow[]>(POINT_READS_SQL, [spaceSeq, byteaArray(waiters.map((w) => w.key))] as never[], { prepare: true }));
      if (rows.length === 0) {
        for (const waiter of waiters) waiter.resolve(undefined);
        return;
      }
      const found = new Map<string, BatchRow>();
      for (const row of rows) if (row.key) found.set(row.key.toString('latin1'), row);
      const absent: PointRow = { version: null, expires_at: null, attrs: null };
      for (const waiter of waiters) waiter.resolve(found.get(waiter.key.toString('latin1')) ?? absent);
    } catch (err) {
      for (const waiter of waiters) waiter.reject(err);
    }
  }
}
