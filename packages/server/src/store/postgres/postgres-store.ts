/**
 * The PostgreSQL store: the same Store as SQLite's, shared by any number of server processes, on
 * the SQL subset that CockroachDB and YugabyteDB run too (docs/postgres.md, "Portability").
 * Writes: one transaction per group-commit batch, serialized across processes by the meta row
 * lock (batch.ts), retried as a whole when the database gives it up to stay serializable
 * (40001/40P01). Reads: statements on the pool sent after the read was asked (point reads of one
 * space asked together share one, point-reads.ts), so a read that starts after a write was
 * acknowledged sees it. Other servers' commits and catalog changes reach this one through a poll of
 * the meta row (a NOTIFY, where the engine has one, only wakes the poll early). The driver
 * (postgres.js) reconnects by itself: an operation caught by a lost connection fails
 * `unavailable`, or `outcome_unknown` when its COMMIT was sent and never answered.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Change, type EncodedSearchPage, type Key, type Limits, type OpName, type SearchPage, type SearchPlan, type Space, type SpaceSchema, SpacekvError,
  type StoredObject, encodeSearchPage, parseJson,
} from '@spacekv/core';
import { cutPage, pruneCut } from '../change-pages.js';
import type {
  BatchMember, ChangePage, ExpiredObject, IndexBuildProgress, Lease, MemberOutcome, RetentionRule, SharedCatalog, SpacesSnapshot, Store, StoreHealth,
  StoredSpace,
} from '../store.js';
import { PgBatch, changesCatalog } from './batch.js';
import { CATALOG_QUERY, type CatalogRow, PgCatalog, type PgSpace } from './catalog.js';
import { PgPool, type PostgresTarget, type Queries, type Session, type Sql, isCatalogMoved, isLostInsertRace, isRetryable, isServerError, parseTarget, withDeadline } from './connection.js';
import { keyBytes, keyFromBytes } from './key-bytes.js';
import { fillIndexSlice, migrate } from './layout.js';
import { PgLargeValues } from './large-values.js';
import { LeaseRows } from './lease.js';
import { PointReads } from './point-reads.js';
import { clearEntries, purgeSlice } from './purges.js';
import { PgSearcher, type Readers } from './searcher.js';

export interface PostgresStoreOptions {
  /** Connections to PostgreSQL (default 8). */
  readonly poolSize?: number;
  /** How long a lease lasts unrenewed (default 5 s): how soon another server takes over the relay from a dead one. */
  readonly leaseTtlMs?: number;
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

/** The one notification channel of a schema's store: an optional wake-up of the other servers' poll. */
function channelOf(schema: string): string {
  return `spacekv_${schema}`;
}

interface MetaRow {
  last_seq: string;
  catalog_gen: string;
}

const META_SQL = 'SELECT last_seq, catalog_gen FROM meta WHERE id = 1';

/** The meta row as the poll compares it. */
function pollView(meta: MetaRow): { lastSeq: number; catalogGen: number } {
  return { lastSeq: Number(meta.last_seq), catalogGen: Number(meta.catalog_gen) };
}

const HEALTH_TIMEOUT_MS = 2_000;
/** The longest a read may wait for PostgreSQL before it fails `unavailable`. */
const READ_DEADLINE_MS = 5_000;
/** The longest a batch may wait for a connection of its own. */
const SESSION_DEADLINE_MS = 3_000;
/** The longest a batch may take, waiting for the meta row lock and retries included (lock_timeout is 10 s). */
const BATCH_DEADLINE_MS = 15_000;
/**
 * Attempts at a batch the database gave up to keep transactions serializable (40001, 40P01).
 * Under SERIALIZABLE a batch that waited for the meta row lock is given up once its holder
 * commits (its snapshot predates that commit), so two busy servers retry often; the batch deadline
 * bounds them too.
 */
const BATCH_ATTEMPTS = 40;
/** The first retry waits up to this long (at random), each next one up to twice as long, to at most RETRY_WAIT_MAX_MS. */
const RETRY_JITTER_MS = 2;
const RETRY_WAIT_MAX_MS = 50;
/**
 * How long after a batch last found another server's commit before its own a server keeps taking the
 * meta row lock late (attemptBatch): a server writing alone takes it at BEGIN, one round trip fewer.
 */
const OTHER_WRITERS_MEMORY_MS = 1_000;
/** How often the meta row is read to learn of other servers' commits and catalog changes. */
const POLL_MS = 100;
/** Polls between looks for pending purges of removed spaces and indexes. */
const PURGE_EVERY_POLLS = 10;
const DEFAULT_LEASE_TTL_MS = 5_000;
/**
 * The longest opening may take (migrations, catalog). Past it the server exits saying it
 * cannot open the store, for its supervisor to start it again, rather than hang: started during a
 * failover, a connection can stay stuck in the driver's reconnect loop (porsager/postgres#1193).
 */
const OPEN_DEADLINE_MS = 10_000;

function unavailable(err: unknown): SpacekvError {
  return new SpacekvError('unavailable', `PostgreSQL cannot be reached: ${(err as Error).message}`);
}

export class PostgresStore implements Store {
  readonly target: PostgresTarget;
  readonly sharedCatalog: SharedCatalog;
  private pool: PgPool | undefined;
  private readonly catalog = new PgCatalog();
  private readonly searcher: PgSearcher;
  private readonly leases: LeaseRows;
  /** Gets of one space asked together go to PostgreSQL as one statement. */
  readonly pointReads: PointReads;
  private readonly catalogListeners = new Set<() => void>();
  private readonly commitListeners = new Set<() => void>();
  /** The batch in flight or the catalog reload under way: they take turns, both change the catalog. */
  private turn: Promise<unknown> = Promise.resolve();
  private closing = false;
  /** The meta row as the last poll read it: a change means another server committed or changed the catalog. */
  private polled = { lastSeq: -1, catalogGen: -1 };
  private pollTimer: NodeJS.Timeout | undefined;
  private polls = 0;
  private purging: Promise<void> | undefined;
  /** Whether LISTEN works here: then commits also send a NOTIFY, a wake-up the poll does not need. */
  private notifies = false;
  /**
   * This store's NOTIFY payload, so it is not woken by its own commits: it knows of those already,
   * and polling after each of them cost a statement per batch.
   */
  private readonly notifier = randomUUID();
  private retries = 0;
  /** `last_seq` after this server's last commit: a batch that finds another knows some other server wrote since. */
  private ownSeq = -1;
  /** When (performance.now()) a batch last found another server's commit before its own. */
  private othersWroteAt = Number.NEGATIVE_INFINITY;
  /** Committed batches and how long they held the meta row lock, from its grant (as this process saw it) to COMMIT's reply. */
  readonly lockHold = { batches: 0, heldMs: 0 };
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
    this.searcher = new PgSearcher(limits);
    // On the hot connection when it is free, so lone gets meet one backend with warm caches, not each of the pool's in turn.
    this.pointReads = new PointReads(limits.pointReadBatchKeysMax, (sql, statement) => (this.pool?.isCurrent(sql) ? this.pool.reading(statement) : statement(sql)));
    this.leases = new LeaseRows(() => this.open_(), { ttlMs: options.leaseTtlMs ?? this.target.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS });
    this.sharedCatalog = {
      spaces: () => this.snapshot(),
      onChange: (listener) => this.catalogListeners.add(listener),
    };
  }

  async open(): Promise<readonly StoredSpace[]> {
    const pool = new PgPool(this.target, { poolSize: this.options.poolSize ?? 8 }, (sql) => this.listen(sql));
    this.pool = pool;
    try {
      const sql = pool.current;
      await withDeadline(pool, sql, OPEN_DEADLINE_MS, (async () => {
        await migrate(sql, this.target.schema);
        // The poll's baseline is read before the catalog: a space another server creates between the
        // two reads then shows as a change at the first poll. Starting the poll from nothing instead
        // took whatever it first read as the baseline, and a space created before that poll was never
        // heard of by this server.
        const [meta] = await sql.unsafe<MetaRow[]>(META_SQL);
        if (meta) {
          this.polled = pollView(meta);
          this.ownSeq = Number(meta.last_seq);
        }
        this.catalog.load(await sql.unsafe<CatalogRow[]>(CATALOG_QUERY));
      })());
    } catch (err) {
      await pool.end();
      throw new Error(`cannot open the PostgreSQL store (schema ${this.target.schema}): ${(err as Error).message}`);
    }
    this.listen(pool.current);
    this.schedulePoll();
    return this.catalog.list();
  }

  /**
   * Batches run again since open: given up by the database to stay serializable (40001/40P01),
   * beaten to creating a key they found absent, or overtaken by a catalog change; for /metrics.
   */
  get serializationRetries(): number {
    return this.retries;
  }

  /**
   * An optional wake-up: where the engine has LISTEN, a NOTIFY from another server polls at once.
   * Where it has not (or the guard refuses it), the poll alone carries everything.
   */
  private listen(sql: Sql): void {
    const woken = (payload: string): void => {
      if (payload !== this.notifier) void this.poll();
    };
    sql.listen(channelOf(this.target.schema), woken, () => this.poll()).then(() => {
      this.notifies = true;
    }, () => {
      this.notifies = false;
    });
  }

  private schedulePoll(): void {
    if (this.closing) return;
    this.pollTimer = setTimeout(() => void this.poll().finally(() => this.schedulePoll()), POLL_MS);
    this.pollTimer.unref();
  }

  /** Read the meta row; tell the listeners what moved since the last read; now and then, purge a slice. */
  private async poll(): Promise<void> {
    if (!this.pool || this.closing) return;
    const sql = this.pool.current;
    try {
      const [meta] = await withDeadline(this.pool, sql, READ_DEADLINE_MS, sql.unsafe<MetaRow[]>(META_SQL, [], { prepare: true }));
      if (!meta) return;
      const now = pollView(meta);
      const before = this.polled;
      this.polled = now;
      if (before.catalogGen !== -1 && now.catalogGen !== before.catalogGen) this.catalogChanged();
      if (before.lastSeq !== -1 && now.lastSeq !== before.lastSeq) this.foreignCommit();
    } catch (err) {
      if (!isServerError(err)) this.pool?.replace(sql);
      return;
    }
    if (++this.polls % PURGE_EVERY_POLLS === 0) this.purging ??= this.purge().finally(() => (this.purging = undefined));
  }

  /** Work through the pending purges, a slice per transaction, while the store is open. */
  private async purge(): Promise<void> {
    try {
      while (!this.closing && await purgeSlice(this.open_(), this.limits.indexBuildBatchRowsMax));
    } catch {
      // Another server purging the same slice (40001), or PostgreSQL away: the next poll tries again.
    }
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
        const query = this.pointReads.read(sql, entry.space.createdSeq, keyBytes(key, entry.space.schema.key.type));
        const row = await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, query);
        if (!row) {
          if (attempt > 0) throw new SpacekvError('unknown_space', `no space named '${space}'`);
          // Removed by another server, perhaps re-created: once more with the catalog as it is now.
          const stale = entry.space.createdSeq;
          await this.reloadCatalog();
          entry = this.catalog.get(space);
          if (entry?.space.createdSeq === stale) entry = undefined;
          continue;
        }
        if (row.version === null) return null;
        const expiresAt = row.expires_at === null ? null : Number(row.expires_at);
        if (expiresAt !== null && expiresAt <= nowMs) return null;
        return { version: Number(row.version), expiresAt, attributesJson: row.attrs as string };
      } catch (err) {
        // A read is safe to repeat: once on the fresh connections that replace lost ones.
        if (attempt === 0 && !isServerError(err) && !(err instanceof SpacekvError)) {
          this.pool?.replace(sql);
          if (this.pool && this.pool.current !== sql) {
            sql = this.pool.current;
            continue;
          }
        }
        if (err instanceof SpacekvError) throw err;
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

  /** A lease row (lease.ts): one holder at a time across the servers, fenced by its epoch. */
  acquireLease(name: string): Promise<Lease | null> {
    return this.leases.acquire(name).catch((err: unknown) => {
      throw err instanceof SpacekvError ? err : this.failure(this.open_(), err);
    });
  }

  /** Across spaces in creation order, until `limit`, oldest expiry first, through the expiry index; objects of removed spaces are not. */
  async expiredObjects(nowMs: number, limit: number): Promise<readonly ExpiredObject[]> {
    const sql = this.open_();
    try {
      const rows = await withDeadline(this.pool as PgPool, sql, READ_DEADLINE_MS, sql.unsafe<{ name: string; key: Buffer; version: string; schema: string }[]>(
        `SELECT s.name, s.schema, o.key, o.version FROM objects o JOIN spaces s ON s.created_seq = o.space_seq
         WHERE o.expires_at IS NOT NULL AND o.expires_at <= $1 ORDER BY o.expires_at LIMIT $2`,
        [nowMs, limit], { prepare: true }));
      return rows.map((row) => {
        const keyType = this.catalog.get(row.name)?.space.schema.key.type ?? (JSON.parse(row.schema) as SpaceSchema).key.type;
        return { space: row.name, key: keyFromBytes(row.key, keyType), version: Number(row.version) };
      });
    } catch (err) {
      throw this.failure(sql, err);
    }
  }

  /** `listener` runs when another server committed changes (the poll saw the seq move), so this one's watchers read them from the log. */
  onForeignCommit(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** Search (searcher.ts) in one snapshot that includes every commit acknowledged before the call: one statement's, or a REPEATABLE READ transaction's. */
  search(plan: SearchPlan): Promise<SearchPage> {
    return this.searcher.search(this.readers, plan);
  }

  /** The searches run on this thread (postgres.js), so the text is written here as well. */
  async searchEncoded(plan: SearchPlan): Promise<EncodedSearchPage> {
    return encodeSearchPage(await this.search(plan));
  }

  private readonly readers: Readers = {
    statement: (work) => this.reading(work),
    snapshot: (work) => this.inSnapshot(work),
  };

  count(plan: SearchPlan): Promise<number> {
    return this.inSnapshot((tx) => this.searcher.count(tx, plan));
  }

  private async inSnapshot<T>(work: (tx: Queries) => Promise<T>): Promise<T> {
    const sql = this.open_();
    try {
      return await sql.begin('isolation level repeatable read read only', work) as T;
    } catch (err) {
      if (err instanceof SpacekvError) throw err;
      throw this.failure(sql, err);
    }
  }

  /**
   * An online build as the Store contract describes it, shared by every server:
   * 1. the attribute's leftover entries (an earlier index on it, a build cut short) are cleared,
   *    while no write makes any (it is not `building` yet);
   * 2. under the meta row lock it becomes the space's `building` attribute and the catalog moves
   *    on, so from the next batch on every server's writes maintain its entries;
   * 3. the objects are indexed in slices of `indexBuildBatchRowsMax`, each under the meta row lock
   *    (a batch writes only under that lock, so a slice never writes entries of a stale object);
   * 4. under the lock it joins the schema's indexes. A failure gives the attribute up: its entries
   *    are purged later.
   * One build per space at a time (`overloaded` otherwise); a build of the same attribute that a
   * crash cut short is taken over.
   */
  async addIndex(space: string, spaceCreatedSeq: number, attribute: string, progress: IndexBuildProgress): Promise<SpaceSchema | null> {
    const entry = await this.spaceNow(space, spaceCreatedSeq);
    if (entry.space.isIndexed(attribute)) return null;
    if (entry.building !== undefined && entry.building !== attribute) {
      throw new SpacekvError('overloaded', `space '${space}' is already building an index on '${entry.building}'; retry when it is done`);
    }
    const rowsMax = this.limits.indexBuildBatchRowsMax;
    if (entry.building === undefined) await this.unlessClosed((sql) => clearEntries(sql, spaceCreatedSeq, attribute, rowsMax));
    const started = await this.catalogTx(space, spaceCreatedSeq, async (tx, row) => {
      if (row.schema.indexes?.includes(attribute)) return false;
      if (row.building !== null && row.building !== attribute) {
        throw new SpacekvError('overloaded', `space '${space}' is already building an index on '${row.building}'; retry when it is done`);
      }
      await tx.unsafe('DELETE FROM purges WHERE space_seq = $1 AND attr = $2', [spaceCreatedSeq, attribute]);
      await tx.unsafe('UPDATE spaces SET building = $1 WHERE name = $2', [attribute, space]);
      return true;
    });
    if (!started) return null;
    try {
      await this.bestEffort('ANALYZE objects');
      let after: Buffer | undefined;
      let indexed = 0;
      for (;;) {
        const slice = await this.catalogTx(space, spaceCreatedSeq, (tx, row) => {
          if (row.building !== attribute) throw new SpacekvError('unavailable', `the build of the index on '${attribute}' was given up`);
          return fillIndexSlice(tx, entry.space, [attribute], after, rowsMax);
        }, false);
        indexed += slice.rows;
        progress(indexed);
        if (slice.last === undefined) break;
        after = slice.last;
      }
      const built = await this.catalogTx(space, spaceCreatedSeq, async (tx, row) => {
        const next: SpaceSchema = { ...row.schema, indexes: [...(row.schema.indexes ?? []), attribute] };
        await tx.unsafe('UPDATE spaces SET schema = $1, building = NULL WHERE name = $2', [JSON.stringify(next), space]);
        return next;
      });
      await this.bestEffort('VACUUM (ANALYZE) index_entries');
      return built;
    } catch (err) {
      await this.catalogTx(space, spaceCreatedSeq, async (tx, row) => {
        if (row.building !== attribute) return;
        await tx.unsafe('UPDATE spaces SET building = NULL WHERE name = $1', [space]);
        await tx.unsafe('INSERT INTO purges (space_seq, attr) VALUES ($1, $2) ON CONFLICT DO NOTHING', [spaceCreatedSeq, attribute]);
      }).catch(() => {}); // the space is gone, or PostgreSQL: its leftovers are cleared by the next build
      throw err;
    }
  }

  /**
   * `work` in a short transaction holding the meta row lock, with the space's catalog row as
   * committed (`unknown_space` when it is not incarnation `createdSeq`). When `changesCatalog`,
   * the catalog moves on (every server reloads it before its next batch).
   */
  private catalogTx<T>(
    space: string, createdSeq: number, work: (tx: Queries, row: { schema: SpaceSchema; building: string | null }) => Promise<T>, changesCatalog = true,
  ): Promise<T> {
    return this.inTurn(() => this.unlessClosed((sql) => this.retrying(() => sql.begin(async (tx) => {
      await tx.unsafe('SELECT last_seq FROM meta WHERE id = 1 FOR UPDATE');
      const [row] = await tx.unsafe<{ schema: string; created_seq: string; building: string | null }[]>(
        'SELECT schema, created_seq, building FROM spaces WHERE name = $1', [space]);
      if (!row || Number(row.created_seq) !== createdSeq) throw new SpacekvError('unknown_space', `no space named '${space}'`);
      const result = await work(tx, { schema: JSON.parse(row.schema) as SpaceSchema, building: row.building });
      if (changesCatalog) await tx.unsafe('UPDATE meta SET catalog_seq = last_seq, catalog_gen = catalog_gen + 1 WHERE id = 1');
      return result;
    }) as Promise<T>)).finally(() => {
      if (changesCatalog) this.catalog.gen = -1; // the next batch reads the catalog again
    }));
  }

  /** One read statement, on the pool's hot connection when it is free (PgPool.reading). */
  private async reading<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    this.open_(); // refuses when the store is closed, as unlessClosed does
    return (this.pool as PgPool).reading((sql) => this.reportingLoss(sql, work));
  }

  /** `work` on the current connections; a lost connection fails it `unavailable` (and replaces them). */
  private async unlessClosed<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return this.reportingLoss(this.open_(), work);
  }

  /** `work` on `sql`; its errors as `failure` says (a lost connection replaces the set). */
  private async reportingLoss<T>(sql: Sql, work: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      return await work(sql);
    } catch (err) {
      if (err instanceof SpacekvError) throw err;
      throw this.failure(sql, err);
    }
  }

  /**
   * `attempt` again, after a short random wait, while the database gives it up to stay serializable
   * (40001/40P01), or a batch lost the race to create a key it had found absent (batch.ts).
   */
  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(isRetryable(err) || isLostInsertRace(err)) || tries === BATCH_ATTEMPTS) throw err;
        this.retries++;
        await sleep(Math.random() * Math.min(RETRY_WAIT_MAX_MS, RETRY_JITTER_MS * 2 ** (tries - 1)));
      }
    }
  }

  /**
   * Housekeeping an index build does in place of an autovacuum that has not come yet (or is off):
   * - `ANALYZE objects` before the build walks the space. A space loaded since autovacuum last
   *   analyzed the table leaves the planner thinking it holds a few thousand rows, and it then reads
   *   every row after the slice's start and sorts them for each slice of 2,000: a million objects
   *   took minutes, not seconds.
   * - `VACUUM (ANALYZE) index_entries` after it. Until a vacuum marks the new entries' pages all
   *   visible, an indexed search checks the table row of every entry it reads as well as the object
   *   (100 more random pages for a page of 100): at a million objects that was a fifth to a third of
   *   PostgreSQL's CPU per search (issue 18), about 2 s of vacuum for 2,000,000 entries.
   * The database may refuse (a role that does not own the table gets a warning; another engine may
   * lack the statement): the build goes on regardless.
   */
  private async bestEffort(statement: string): Promise<void> {
    try {
      await this.unlessClosed((sql) => sql.unsafe(statement));
    } catch (err) {
      if (err instanceof SpacekvError && err.code === 'unavailable') throw err; // the connection is gone: so is the build
    }
  }

  /**
   * The space `name` as the catalog is now, if it is still the incarnation `createdSeq`. Always read
   * afresh: the view in memory may date from during a build that has finished since (this server's
   * or another's), and its `building` would refuse the next add_index until a batch reloaded it.
   */
  private async spaceNow(name: string, createdSeq: number): Promise<PgSpace> {
    await this.reloadCatalog();
    const entry = this.catalog.get(name);
    if (!entry || entry.space.createdSeq !== createdSeq) throw new SpacekvError('unknown_space', `no space named '${name}'`);
    return entry;
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
    clearTimeout(this.pollTimer);
    await this.leases.releaseAll();
    await this.turn;
    await this.purging;
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
   * One batch in one transaction on a reserved connection (attemptBatch): its rows read and locked,
   * then its writes, led by the meta row lock, with COMMIT right behind them. From the meta row lock
   * until COMMIT no other process commits a batch, so the seq it takes follows the last committed
   * one; the row locks and the absent-key guards (batch.ts) keep what it read current until then.
   * The isolation is the database's default: under READ COMMITTED the locks order the batches;
   * under SERIALIZABLE (CockroachDB's default) a batch that read the meta row before another
   * committed is given up with 40001, and runs again as a whole, a few times, after a short random
   * wait; so does a batch that lost the race to create a key (23505 on `objects`).
   */
  private async runBatch(pool: PgPool, batch: readonly BatchMember[]): Promise<readonly MemberOutcome[]> {
    const sql = pool.current;
    let session: Session | undefined;
    let commitSent = false;
    try {
      const outcomes = await withDeadline(pool, sql, BATCH_DEADLINE_MS, (async () => {
        session = await withDeadline(pool, sql, SESSION_DEADLINE_MS, sql.reserve());
        const tx = session;
        return this.retrying(async () => {
          try {
            return await this.attemptBatch(tx, batch, (sent) => (commitSent = sent));
          } catch (err) {
            this.catalog.gen = -1; // what the batch did to the catalog in memory is not in the database: reload
            if (isServerError(err)) {
              commitSent = false; // the database answered: nothing was applied
              await tx.unsafe('ROLLBACK');
            }
            throw err;
          }
        });
      })());
      return outcomes;
    } catch (err) {
      const left = session as Session | undefined;
      session = undefined;
      if (!isServerError(err)) {
        // Lost or stuck: the whole set of connections goes, this one with it. It is not given back
        // (it may hold an open transaction), nor written to (postgres.js 3.4.9 throws from a timer
        // when a pipelined write meets a closed socket, which would end the process).
        pool.replace(sql);
      } else if (left) {
        left.release(); // rolled back already: the connection is sound
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

  /**
   * One attempt at a batch on `tx`: it commits, or throws with the transaction still to be rolled
   * back. Two round trips either way: BEGIN with the meta row and the batch's rows; then the
   * writes with COMMIT right behind them. The meta row lock is taken one of two ways (batch.ts):
   * - at BEGIN, by a server writing alone (no other server's commit found before its batches for
   *   OTHER_WRITERS_MEMORY_MS), by a batch that changes the catalog, and by a batch run again because
   *   the catalog changed under it (so that runs at most twice); its rows are read under the lock;
   * - in the last round trip, while other servers write too: the rows are locked as they are read,
   *   the members run on provisional seqs, and the first statement of the last round trip takes the
   *   lock with the seq range, so the lock is held for the writes' execution and the WAL flush only,
   *   and the rest of the batch overlaps other servers' batches.
   */
  private async attemptBatch(
    tx: Session, batch: readonly BatchMember[], commitSent: (sent: boolean) => void, lockFirst = batch.some(changesCatalog) || this.writingAlone(),
  ): Promise<readonly MemberOutcome[]> {
    // BEGIN, the meta row and the batch's rows go in one round trip: the rows are those of the
    // catalog this server holds, almost always current; when it is not, they are fetched again.
    // postgres.js sends a statement once it is awaited or executed: BEGIN and the meta row are sent
    // here, before the fetch sends its own, or the fetch would run (and lock) outside the transaction.
    const begun = [tx.unsafe('BEGIN').execute(), tx.unsafe<MetaRow[]>(lockFirst ? `${META_SQL} FOR UPDATE` : META_SQL, [], { prepare: true }).execute()] as const;
    let run = new PgBatch(tx, this.catalog, this.limits, Date.now(), !lockFirst);
    const [, [meta]] = await Promise.all([...begun, run.fetch(batch)]);
    if (!meta) throw new Error('the meta row is missing');
    const lockedAt = performance.now();
    if (Number(meta.catalog_gen) !== this.catalog.gen) {
      this.catalog.load(await tx.unsafe<CatalogRow[]>(CATALOG_QUERY));
      run = new PgBatch(tx, this.catalog, this.limits, Date.now(), !lockFirst);
    }
    const catalogGen = this.catalog.gen;
    const outcomes = await run.execute(batch, lockFirst ? Number(meta.last_seq) : null);
    // The wake-up for the other servers rides on the seq bump and is delivered at COMMIT: a NOTIFY
    // of its own would be one more statement per batch, and outside the transaction a transaction
    // of its own (PostgreSQL gives it an xid), with a WAL flush of its own. Only where LISTEN worked.
    const { statements, range } = run.flush(this.notifies ? { channel: channelOf(this.target.schema), payload: this.notifier } : undefined);
    commitSent(true);
    const sentAt = performance.now();
    // COMMIT goes right behind the writes; if one of them failed, PostgreSQL rolls back instead.
    const settled = await Promise.allSettled([...statements, tx.unsafe('COMMIT')]);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed && !lockFirst && isCatalogMoved(failed.reason)) {
      // The catalog changed after this batch read it (an index build began, a space went): it runs
      // again from the start on the catalog as it is now, holding the lock from BEGIN this time, so
      // a catalog that keeps changing cannot send it round again. Its COMMIT rolled back.
      commitSent(false);
      this.retries++;
      return this.attemptBatch(tx, batch, commitSent, true);
    }
    if (failed) throw failed.reason;
    const taken = await range;
    if (lockFirst || taken) {
      // Taken late, the lock was granted within the last round trip, once the bump had waited for it.
      const grantedAt = lockFirst ? lockedAt : sentAt + (taken?.waitedMs ?? 0);
      this.lockHold.heldMs += performance.now() - grantedAt;
      this.lockHold.batches++;
    }
    const after = taken?.base ?? Number(meta.last_seq);
    if (after !== this.ownSeq) this.othersWroteAt = performance.now();
    this.ownSeq = after + run.seqCount;
    this.catalog.seq = run.committedCatalogSeq;
    if (run.catalogChanged) this.catalog.gen = catalogGen + 1;
    return run.settle(outcomes, after);
  }

  /** Whether no batch of this server found another server's commit before its own lately. */
  private writingAlone(): boolean {
    return performance.now() - this.othersWroteAt > OTHER_WRITERS_MEMORY_MS;
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
