/**
 * The PostgreSQL store: the same Store as SQLite's, shared by any number of server processes.
 * Writes: one transaction per group-commit batch, serialized across processes by the meta row
 * lock (batch.ts). Reads: one statement each on the pool, read committed, so a read that starts
 * after a write was acknowledged sees it. The driver (postgres.js) reconnects by itself: an
 * operation caught by a lost connection fails `unavailable`, or `outcome_unknown` when its COMMIT
 * was sent and never answered, and the next one opens a new connection.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Change, type Key, type KeyTypeName, type Limits, type OpName, type SearchPage, type SearchPlan, type SpaceSchema, SpacekvError, StepBudget, type StoredObject, parseJson,
} from '@spacekv/core';
import { cutPage, pruneCut } from '../change-pages.js';
import { BestByAttribute, type CandidateRow, KeyOrderedPage, counts } from '../search-rows.js';
import type {
  BatchMember, ChangePage, ExpiredObject, IndexBuildProgress, Lease, MemberOutcome, RetentionRule, SharedCatalog, SpacesSnapshot, Store, StoreHealth,
  StoredSpace,
} from '../store.js';
import { CATALOG_CHANGED, PgBatch, channelOf } from './batch.js';
import { CATALOG_QUERY, PgCatalog, type PgSpace } from './catalog.js';
import { PgPool, type PostgresTarget, type Session, type Sql, isServerError, isUndefinedTable, parseTarget, withDeadline } from './connection.js';
import { migrate } from './layout.js';
import { PgLargeValues } from './large-values.js';

export interface PostgresStoreOptions {
  /** Connections to PostgreSQL (default 8). */
  readonly poolSize?: number;
}

interface ChangeRow {
  seq: string;
  space: string;
  key_json: string;
  op: string;
  attrs: string | null;
  committed_at: string;
}

function changeOf(row: ChangeRow): Change {
  return {
    seq: Number(row.seq), space: row.space, key: parseJson(row.key_json) as Key, op: row.op as OpName,
    attributesJson: row.attrs, committedAtMs: Number(row.committed_at),
  };
}

/** A key as PostgreSQL returns it (int8 as text), as the rest of the server has it: a number when exact, else a bigint. */
export function keyFromText(text: string, keyType: KeyTypeName): Key {
  if (keyType !== 'int') return text;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

function keyOf(text: string, space: PgSpace): Key {
  return keyFromText(text, space.space.schema.key.type);
}

/** Cancels sent, 100 ms apart, to end a lease's waiting statement. */
const LEASE_CANCEL_TRIES = 50;
/** How long a failed LISTEN waits before the next try. */
const LISTEN_RETRY_MS = 1_000;
/** Lease names become advisory lock keys: this constant and the hash of schema and name. */
const LEASE_LOCK = 0x5ace1e;

interface StoredRow {
  version: string;
  expires_at: string | null;
  attrs: string;
}

const HEALTH_TIMEOUT_MS = 2_000;
/** Rows a search reads per statement. */
const SCAN_CHUNK_ROWS = 1_000;
/** The longest a read may wait for PostgreSQL before it fails `unavailable`. */
const READ_DEADLINE_MS = 5_000;
/** The longest a batch may wait for a connection of its own. */
const SESSION_DEADLINE_MS = 3_000;
/** The longest a batch may take, waiting for the meta row lock included (lock_timeout is 10 s). */
const BATCH_DEADLINE_MS = 15_000;

function unavailable(err: unknown): SpacekvError {
  return new SpacekvError('unavailable', `PostgreSQL cannot be reached: ${(err as Error).message}`);
}

export class PostgresStore implements Store {
  readonly target: PostgresTarget;
  readonly sharedCatalog: SharedCatalog;
  private pool: PgPool | undefined;
  private readonly catalog = new PgCatalog();
  private readonly catalogListeners = new Set<() => void>();
  private readonly commitListeners = new Set<() => void>();
  /** The release of each lease held: on close, every one is given up. */
  private readonly leases = new Set<() => Promise<void>>();
  /** The batch in flight or the catalog reload under way: they take turns, both change the catalog. */
  private turn: Promise<unknown> = Promise.resolve();
  private closing = false;
  readonly largeValues = new PgLargeValues(async (query) => {
    const sql = this.open_();
    try {
      return await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, query(sql));
    } catch (err) {
      throw this.failure(sql, err);
    }
  }, (space, key, nowMs) => this.readLive(space, key, nowMs));

  constructor(url: string, private readonly limits: Limits, private readonly options: PostgresStoreOptions = {}) {
    this.target = parseTarget(url);
    this.sharedCatalog = {
      spaces: () => this.snapshot(),
      onChange: (listener) => this.catalogListeners.add(listener),
    };
  }

  async open(): Promise<readonly StoredSpace[]> {
    const pool = new PgPool(this.target, { poolSize: this.options.poolSize ?? 8 }, (sql) => this.keepListening(pool, sql));
    this.pool = pool;
    try {
      const sql = pool.current;
      await migrate(sql, this.target.schema);
      this.catalog.load(await sql.unsafe(CATALOG_QUERY));
      await this.listen(sql);
    } catch (err) {
      await pool.end();
      throw new Error(`cannot open the PostgreSQL store (schema ${this.target.schema}): ${(err as Error).message}`);
    }
    return this.catalog.list();
  }

  /**
   * Listen on a new set of connections, retrying each second while PostgreSQL is unreachable.
   * Once listening, onlisten tells the listeners to refresh: notifications sent meanwhile are lost.
   */
  private keepListening(pool: PgPool, sql: Sql): void {
    this.listen(sql).catch(() => {
      if (pool.isCurrent(sql)) setTimeout(() => pool.isCurrent(sql) && this.keepListening(pool, sql), LISTEN_RETRY_MS).unref();
    });
  }

  /** Hear of spaces added or removed and of commits by other processes; onlisten runs again whenever the listening connection comes back. */
  private async listen(sql: Sql): Promise<void> {
    const heard = (what: string): void => {
      if (what === CATALOG_CHANGED) this.catalogChanged();
      else this.foreignCommit();
    };
    await sql.listen(channelOf(this.target.schema), heard, () => {
      this.catalogChanged();
      this.foreignCommit();
    });
  }

  private foreignCommit(): void {
    for (const listener of this.commitListeners) listener();
  }

  /** The object, or null when it or its space is gone (the large-value sweeper's check). */
  private async readLive(space: string, key: Key, nowMs: number): Promise<StoredObject | null> {
    try {
      return await this.get(space, key, nowMs);
    } catch (err) {
      if (err instanceof SpacekvError && err.code === 'unknown_space') return null;
      throw err;
    }
  }

  async get(space: string, key: Key, nowMs: number): Promise<StoredObject | null> {
    let sql = this.open_();
    let entry = this.catalog.get(space) ?? (await this.reloadCatalog(), this.catalog.get(space));
    for (let attempt = 0; ; attempt++) {
      if (!entry) throw new SpacekvError('unknown_space', `no space named '${space}'`);
      try {
        const query = sql.unsafe<StoredRow[]>(`SELECT version, expires_at, attrs FROM ${entry.table} WHERE key = $1`, [String(key)], { prepare: true });
        const [row] = await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, query);
        if (!row) return null;
        const expiresAt = row.expires_at === null ? null : Number(row.expires_at);
        if (expiresAt !== null && expiresAt <= nowMs) return null;
        return { version: Number(row.version), expiresAt, attributesJson: row.attrs };
      } catch (err) {
        // Another process removed the space (and perhaps re-created it under a new table).
        // A read is safe to repeat: once on the fresh connections that replace lost ones.
        if (attempt === 0 && !isServerError(err)) {
          this.pool?.replace(sql);
          if (this.pool && this.pool.current !== sql) {
            sql = this.pool.current;
            continue;
          }
        }
        if (isUndefinedTable(err) && attempt === 0) {
          const stale: PgSpace = entry;
          await this.reloadCatalog();
          entry = this.catalog.get(space);
          if (entry?.table === stale.table) entry = undefined;
          continue;
        }
        throw this.failure(sql, err);
      }
    }
  }

  commit(batch: readonly BatchMember[]): Promise<readonly MemberOutcome[]> {
    if (this.closing || !this.pool) return Promise.reject(new SpacekvError('unavailable', 'the store is closed'));
    const pool = this.pool;
    return this.inTurn(() => this.runBatch(pool, batch));
  }

  async readChanges(afterSeq: number, limit: number): Promise<ChangePage> {
    const sql = this.open_();
    try {
      // One statement, so the head, the floor and the page come from one snapshot.
      const rows = await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, sql.unsafe<(ChangeRow & { head: string; floor: string; seq: string | null })[]>(
        `SELECT m.last_seq AS head, l.floor_seq AS floor, c.*
         FROM meta m CROSS JOIN log_state l LEFT JOIN LATERAL (
           SELECT seq, idx, space, key_json, op, attrs, committed_at FROM changes WHERE seq > $1 ORDER BY seq, idx LIMIT $2
         ) c ON true WHERE m.id = 1 AND l.id = 1 ORDER BY c.seq, c.idx`,
        [afterSeq, limit + 1], // one more tells whether the last seq is whole
        { prepare: true },
      ));
      const first = rows[0];
      const floorSeq = Number(first?.floor ?? 0);
      if (afterSeq < floorSeq) {
        throw new SpacekvError('compacted', `changes after seq ${afterSeq} were removed by log retention (the log starts after seq ${floorSeq})`);
      }
      const page = cutPage(rows.filter((r) => r.seq !== null).map(changeOf), limit);
      if ('changes' in page) return { changes: page.changes, headSeq: Number(first?.head ?? 0) };
      const whole = await sql.unsafe<ChangeRow[]>('SELECT seq, space, key_json, op, attrs, committed_at FROM changes WHERE seq = $1 ORDER BY idx', [page.wholeSeq], { prepare: true });
      return { changes: whole.map(changeOf), headSeq: Number(first?.head ?? 0) };
    } catch (err) {
      if (err instanceof SpacekvError) throw err;
      throw this.failure(sql, err);
    }
  }

  /** One short transaction, serialized with other servers' pruning by the log_state row lock; writers never wait on it. */
  async pruneChanges(rule: RetentionRule, limit: number): Promise<{ readonly removed: number; readonly floorSeq: number }> {
    const sql = this.open_();
    try {
      return await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, sql.begin(async (tx) => {
        const [state] = await tx.unsafe<{ floor_seq: string; head: string }[]>(
          'SELECT l.floor_seq, m.last_seq AS head FROM log_state l CROSS JOIN meta m WHERE l.id = 1 AND m.id = 1 FOR UPDATE OF l', [], { prepare: true });
        const floorSeq = Number(state?.floor_seq ?? 0);
        const oldest = await tx.unsafe<{ seq: string; committed_at: string }[]>('SELECT seq, committed_at FROM changes ORDER BY seq, idx LIMIT $1', [limit + 1], { prepare: true });
        const cut = pruneCut(rule, oldest.map((r) => ({ seq: Number(r.seq), committedAtMs: Number(r.committed_at) })), limit, floorSeq, Number(state?.head ?? 0));
        if (cut <= floorSeq) return { removed: 0, floorSeq };
        const removed = await tx.unsafe('DELETE FROM changes WHERE seq <= $1', [cut], { prepare: true });
        await tx.unsafe('UPDATE log_state SET floor_seq = $1 WHERE id = 1', [cut], { prepare: true });
        return { removed: removed.count, floorSeq: cut };
      }));
    } catch (err) {
      throw this.failure(sql, err);
    }
  }

  async readCursor(name: string): Promise<number> {
    const sql = this.open_();
    try {
      const [row] = await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, sql.unsafe<{ seq: string }[]>('SELECT seq FROM cursors WHERE name = $1', [name], { prepare: true }));
      return row ? Number(row.seq) : 0;
    } catch (err) {
      throw this.failure(sql, err);
    }
  }

  /** Durable on return: an autocommit statement under synchronous_commit=on. */
  async saveCursor(name: string, seq: number): Promise<void> {
    const sql = this.open_();
    try {
      await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, sql.unsafe(
        'INSERT INTO cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq', [name, seq], { prepare: true }));
    } catch (err) {
      throw this.failure(sql, err);
    }
  }

  /**
   * An advisory lock held by a session reserved for it: exactly one server holds `name` at a time,
   * and PostgreSQL frees it the moment that session ends (the server died or lost its connection).
   * The session is checked every second; when it is gone, `signal` aborts so the holder stops.
   */
  async acquireLease(name: string): Promise<Lease | null> {
    const sql = this.open_();
    let session: Awaited<ReturnType<Sql['reserve']>>;
    try {
      session = await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, sql.reserve());
    } catch (err) {
      throw this.failure(sql, err);
    }
    const key = `${this.target.schema}.${name}`;
    let backendPid = 0;
    try {
      const [row] = await session.unsafe<{ locked: boolean; pid: number }[]>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked, pg_backend_pid() AS pid', [LEASE_LOCK, key]);
      if (!row?.locked) {
        session.release();
        return null;
      }
      backendPid = row.pid;
    } catch (err) {
      session.release();
      throw this.failure(sql, err);
    }
    // The session then waits in a statement that never ends: when the connection dies, the
    // statement fails at once and the lease is lost. (Nothing is ever written to the session after
    // that: postgres.js 3.4.9 throws from a timer on a write to a closed connection.)
    const controller = new AbortController();
    // PostgreSQL notices a client gone mid-statement only if asked to check (14+); otherwise a killed
    // server's sleeping session, and its lock, would outlive it.
    await session.unsafe('SET client_connection_check_interval = 1000').catch(() => {});
    const watch = session.unsafe('SELECT pg_sleep(1e9)');
    const lose = (reason: string): void => {
      this.leases.delete(release);
      if (!controller.signal.aborted) controller.abort(new SpacekvError('unavailable', `the lease '${name}' was lost: ${reason}`));
    };
    watch.then(() => lose('its session ended'), (err: unknown) => {
      if (!controller.signal.aborted) lose((err as Error).message);
    });
    const release = async (): Promise<void> => {
      if (controller.signal.aborted) return;
      lose('released');
      try {
        // Interrupt the waiting statement from another connection (again until it stops: a cancel
        // that arrives before the statement starts is lost), then unlock on the session.
        const settled = watch.then(() => true, () => true);
        for (let tries = 0; ; tries++) {
          if (tries === LEASE_CANCEL_TRIES) throw new SpacekvError('unavailable', `the lease '${name}' could not be released`);
          await (this.pool as PgPool).current.unsafe('SELECT pg_cancel_backend($1)', [backendPid]); // also while closing
          if (await Promise.race([settled, sleep(100).then(() => false)])) break;
        }
        await session.unsafe('SELECT pg_advisory_unlock($1, hashtext($2))', [LEASE_LOCK, key]);
      } finally {
        session.release();
      }
    };
    this.leases.add(release);
    return { signal: controller.signal, release };
  }

  /** Across spaces in creation order, until `limit`; each space's expired rows oldest expiry first, through its expiry index. */
  async expiredObjects(nowMs: number, limit: number): Promise<readonly ExpiredObject[]> {
    const sql = this.open_();
    const found: ExpiredObject[] = [];
    const spaces = this.catalog.entriesInOrder();
    try {
      for (const entry of spaces) {
        if (found.length >= limit) break;
        const rows = await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, sql.unsafe<{ key: string; version: string }[]>(
          `SELECT key::text AS key, version FROM ${entry.table} WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
          [nowMs, limit - found.length], { prepare: true }));
        for (const row of rows) found.push({ space: entry.space.schema.name, key: keyOf(row.key, entry), version: Number(row.version) });
      }
      return found;
    } catch (err) {
      if (isUndefinedTable(err)) return found; // a space removed meanwhile: its objects went with it
      throw this.failure(sql, err);
    }
  }

  /** `listener` runs when another server committed changes (LISTEN/NOTIFY), so this one's watchers read them from the log. */
  onForeignCommit(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /**
   * Search by scanning the space's rows in key order (in chunks, in one REPEATABLE READ snapshot
   * that includes every commit acknowledged before the call) and testing each with core's
   * evaluateCondition (search-rows.ts). The plan's index access is not used yet: PostgreSQL keeps
   * no index entries, so an indexed search scans too; the answer is the same, only slower.
   */
  async search(plan: SearchPlan): Promise<SearchPage> {
    const entry = await this.spaceAt(plan.space, plan.spaceCreatedSeq);
    if (plan.order.by === 'key') {
      const page = new KeyOrderedPage(plan, entry.space, this.limits.searchPageBytesMax, StepBudget.forSearch(this.limits));
      await this.scan(entry, plan, plan.order.reverse, (row) => page.add(row));
      return page.page();
    }
    const best = new BestByAttribute(plan, entry.space, StepBudget.forSearch(this.limits));
    await this.scan(entry, plan, false, (row) => {
      best.add(row);
      return true;
    });
    return { objects: best.objects(), resumeAfter: null };
  }

  async count(plan: SearchPlan): Promise<number> {
    const entry = await this.spaceAt(plan.space, plan.spaceCreatedSeq);
    let found = 0;
    const budget = StepBudget.forSearch(this.limits);
    await this.scan(entry, plan, false, (row) => {
      if (counts(plan, entry.space, row, budget)) found++;
      return true;
    });
    return found;
  }

  /**
   * An online build as the Store contract describes it: the space's objects are walked in bounded
   * steps between batches (`indexBuildBatchRowsMax` each, `progress` after each), then the
   * attribute joins the schema's indexes under the meta row lock, with a catalog notification. A
   * space removed meanwhile fails the build `unknown_space`. PostgreSQL keeps no index entries yet
   * (searches scan), so the steps only walk the objects.
   */
  async addIndex(space: string, spaceCreatedSeq: number, attribute: string, progress: IndexBuildProgress): Promise<SpaceSchema | null> {
    const entry = await this.spaceAt(space, spaceCreatedSeq);
    if (entry.space.isIndexed(attribute)) return null;
    const cast = entry.space.schema.key.type === 'int' ? 'int8' : 'text';
    let after: string | undefined;
    let walked = 0;
    for (;;) {
      const rows = await this.inTurn(async () => {
        const sql = this.open_();
        try {
          return await sql.unsafe<{ key_text: string }[]>(
            `SELECT key::text AS key_text FROM ${entry.table}${after === undefined ? '' : ` WHERE key > $1::${cast}`} ORDER BY key LIMIT ${this.limits.indexBuildBatchRowsMax}`,
            after === undefined ? [] : [after],
          );
        } catch (err) {
          if (isUndefinedTable(err)) throw new SpacekvError('unknown_space', `no space named '${space}'`);
          throw this.failure(sql, err);
        }
      });
      walked += rows.length;
      progress(walked);
      if (rows.length < this.limits.indexBuildBatchRowsMax) break;
      after = (rows[rows.length - 1] as { key_text: string }).key_text;
    }
    return this.inTurn(async () => {
      const sql = this.open_();
      try {
        const schema = await sql.begin(async (tx) => {
          await tx.unsafe('SELECT 1 FROM meta WHERE id = 1 FOR UPDATE');
          const [row] = await tx.unsafe<{ schema: string; created_seq: string }[]>('SELECT schema, created_seq FROM spaces WHERE name = $1', [space]);
          if (!row || Number(row.created_seq) !== spaceCreatedSeq) throw new SpacekvError('unknown_space', `no space named '${space}'`);
          const current = JSON.parse(row.schema) as SpaceSchema;
          if (current.indexes?.includes(attribute)) return null;
          const next: SpaceSchema = { ...current, indexes: [...(current.indexes ?? []), attribute] };
          await tx.unsafe('UPDATE spaces SET schema = $1 WHERE name = $2', [JSON.stringify(next), space]);
          await tx.unsafe('UPDATE meta SET catalog_seq = last_seq WHERE id = 1');
          await tx.unsafe('SELECT pg_notify($1, $2)', [channelOf(this.target.schema), CATALOG_CHANGED]);
          return next;
        });
        if (schema) this.catalog.seq = -1; // the next batch reads the new schema
        return schema;
      } catch (err) {
        if (err instanceof SpacekvError) throw err;
        throw this.failure(sql, err);
      }
    });
  }

  /** The space `name`, if it is still the incarnation `createdSeq` (after one reload of the catalog). */
  private async spaceAt(name: string, createdSeq: number): Promise<PgSpace> {
    let entry = this.catalog.get(name);
    if (entry?.space.createdSeq !== createdSeq) {
      await this.reloadCatalog();
      entry = this.catalog.get(name);
    }
    if (!entry || entry.space.createdSeq !== createdSeq) throw new SpacekvError('unknown_space', `no space named '${name}'`);
    return entry;
  }

  /** Feed the plan's key range to `take` in key order, a chunk at a time, until it returns false or the rows run out. */
  private async scan(entry: PgSpace, plan: SearchPlan, reverse: boolean, take: (row: CandidateRow) => boolean): Promise<void> {
    const sql = this.open_();
    const cast = entry.space.schema.key.type === 'int' ? 'int8' : 'text';
    const where: string[] = [];
    const params: string[] = [];
    const bound = (op: string, key: Key | string): void => {
      params.push(String(key));
      where.push(`key ${op} $${params.length}::${cast}`);
    };
    if (plan.keys.start !== undefined) bound('>=', plan.keys.start);
    if (plan.keys.end !== undefined) bound('<', plan.keys.end);
    if (plan.keys.prefix !== undefined) {
      // Every key with this prefix lies in [prefix, prefix + U+10FFFF × n] when n code points are more than a key can hold.
      bound('>=', plan.keys.prefix);
      bound('<=', plan.keys.prefix + '\u{10FFFF}'.repeat(Math.ceil(this.limits.keyBytesMax / 4) + 1));
    }
    try {
      await sql.begin('isolation level repeatable read read only', async (tx) => {
        let after: Key | undefined = plan.keys.after;
        for (;;) {
          const clauses = [...where];
          const values = [...params];
          if (after !== undefined) {
            values.push(String(after));
            clauses.push(`key ${reverse ? '<' : '>'} $${values.length}::${cast}`);
          }
          // The key as text under another name: ORDER BY key must sort the column, not the text.
          const rows = await tx.unsafe<{ key_text: string; version: string; expires_at: string | null; attrs: string }[]>(
            `SELECT key::text AS key_text, version, expires_at, attrs FROM ${entry.table}${clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''}
             ORDER BY key ${reverse ? 'DESC' : 'ASC'} LIMIT ${SCAN_CHUNK_ROWS}`,
            values,
            { prepare: true },
          );
          for (const row of rows) {
            const key = keyOf(row.key_text, entry);
            after = key;
            const more = take({ key, version: Number(row.version), expiresAt: row.expires_at === null ? null : Number(row.expires_at), attributesJson: row.attrs });
            if (!more) return;
          }
          if (rows.length < SCAN_CHUNK_ROWS) return;
        }
      });
    } catch (err) {
      if (isUndefinedTable(err)) throw new SpacekvError('unknown_space', `no space named '${plan.space}'`);
      if (err instanceof SpacekvError) throw err;
      throw this.failure(sql, err);
    }
  }

  async health(): Promise<StoreHealth> {
    if (!this.pool) return { ok: false, detail: 'store postgres: not open' };
    const sql = this.pool.current;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    try {
      await Promise.race([sql.unsafe('SELECT 1'), timeout]);
      return { ok: true, detail: `store postgres (schema ${this.target.schema}): connected` };
    } catch (err) {
      if (!isServerError(err)) this.pool.replace(sql);
      return { ok: false, detail: `store postgres (schema ${this.target.schema}): ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all([...this.leases].map((release) => release().catch(() => {})));
    await this.turn;
    await this.pool?.end();
  }

  private open_(): Sql {
    if (!this.pool || this.closing) throw new SpacekvError('unavailable', 'the store is closed');
    return this.pool.current;
  }

  /** The error to report for `err` from `sql`; a lost connection also replaces the connections. */
  private failure(sql: Sql, err: unknown): Error {
    if (isServerError(err)) return err as Error;
    this.pool?.replace(sql);
    return unavailable(err);
  }

  /**
   * One batch in one transaction on a reserved connection, in three round trips: BEGIN with the
   * meta row lock, the rows the batch names, then its writes with COMMIT right behind them. The meta
   * row is locked first: from then until COMMIT no other process commits a batch, so what this
   * batch reads is current and the seq it takes follows the last committed one. READ COMMITTED
   * explicitly: each statement must see what committed before it (the lock wait included), which a
   * database defaulting to REPEATABLE READ or SERIALIZABLE would not give.
   */
  private async runBatch(pool: PgPool, batch: readonly BatchMember[]): Promise<readonly MemberOutcome[]> {
    const sql = pool.current;
    let session: Session | undefined;
    let commitSent = false;
    try {
      const outcomes = await withDeadline(pool, sql, BATCH_DEADLINE_MS, (async () => {
        session = await withDeadline(pool, sql, SESSION_DEADLINE_MS, sql.reserve());
        const tx = session;
        const [, [meta]] = await Promise.all([
          tx.unsafe('BEGIN ISOLATION LEVEL READ COMMITTED'),
          tx.unsafe<{ last_seq: string; catalog_seq: string }[]>('SELECT last_seq, catalog_seq FROM meta WHERE id = 1 FOR UPDATE', [], { prepare: true }),
        ]);
        if (!meta) throw new Error('the meta row is missing');
        if (Number(meta.catalog_seq) !== this.catalog.seq) this.catalog.load(await tx.unsafe(CATALOG_QUERY));
        const run = new PgBatch(tx, this.catalog, this.limits, Number(meta.last_seq), this.target.schema, Date.now());
        const result = await run.execute(batch);
        const writes = run.flush();
        commitSent = true;
        // COMMIT goes right behind the writes; if one of them failed, PostgreSQL rolls back instead.
        const settled = await Promise.allSettled([...writes, tx.unsafe('COMMIT')]);
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        this.catalog.seq = run.committedCatalogSeq;
        return result;
      })());
      return outcomes;
    } catch (err) {
      this.catalog.seq = -1; // what the batch did to the catalog in memory is not in the database: reload
      const left = session as Session | undefined;
      session = undefined;
      if (!isServerError(err)) {
        // Lost or stuck: the whole set of connections goes, this one with it. It is not given back
        // (it may hold an open transaction), nor written to (postgres.js 3.4.9 throws from a timer
        // when a pipelined write meets a closed socket, which would end the process).
        pool.replace(sql);
      } else if (left) {
        // PostgreSQL refused a statement: the connection is sound; it goes back once rolled back.
        void left.unsafe('ROLLBACK').catch(() => {}).finally(() => left.release());
      }
      if (commitSent && !isServerError(err)) {
        throw new SpacekvError('outcome_unknown', `the connection to PostgreSQL was lost during COMMIT; the batch may or may not be applied: ${(err as Error).message}`);
      }
      const fault = { code: 'unavailable', message: `the commit failed, nothing was applied: ${(err as Error).message}` } as const;
      return batch.map(() => ({ fault }));
    } finally {
      (session as Session | undefined)?.release();
    }
  }

  private async snapshot(): Promise<SpacesSnapshot> {
    await this.reloadCatalog();
    return { spaces: this.catalog.list(), asOfSeq: this.catalog.seq };
  }

  /** Read the catalog again, between batches (a batch in flight changes it too). */
  private reloadCatalog(): Promise<void> {
    return this.inTurn(async () => {
      const sql = this.open_(); // the connections in use when its turn comes, not those of when it was asked
      try {
        this.catalog.load(await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, sql.unsafe(CATALOG_QUERY)));
      } catch (err) {
        throw this.failure(sql, err);
      }
    });
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work, work);
    this.turn = next.catch(() => {});
    return next;
  }

  private catalogChanged(): void {
    for (const listener of this.catalogListeners) listener();
  }
}
