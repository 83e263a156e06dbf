/**
 * The PostgreSQL store: the same Store as SQLite's, shared by any number of server processes.
 * Writes: one transaction per group-commit batch, serialized across processes by the meta row
 * lock (batch.ts). Reads: one statement each on the pool, read committed, so a read that starts
 * after a write was acknowledged sees it. The driver (postgres.js) reconnects by itself: an
 * operation caught by a lost connection fails `unavailable`, or `outcome_unknown` when its COMMIT
 * was sent and never answered, and the next one opens a new connection.
 */
import { type Key, type Limits, SpacekvError, type StoredObject } from '@spacekv/core';
import type { BatchMember, MemberOutcome, SharedCatalog, SpacesSnapshot, Store, StoreHealth, StoredSpace } from '../store.js';
import { CATALOG_CHANNEL, PgBatch } from './batch.js';
import { CATALOG_QUERY, PgCatalog, type PgSpace } from './catalog.js';
import { PgPool, type PostgresTarget, type Sql, isServerError, isUndefinedTable, parseTarget, withDeadline } from './connection.js';
import { migrate } from './layout.js';

export interface PostgresStoreOptions {
  /** Connections to PostgreSQL (default 8). */
  readonly poolSize?: number;
}

/** One change as the log holds it. */
export interface LoggedChange {
  readonly seq: number;
  readonly ordinal: number;
  readonly space: string;
  readonly key: string;
  readonly op: string;
  readonly attributesJson: string | null;
}

interface StoredRow {
  version: string;
  expires_at: string | null;
  attrs: string;
}

const HEALTH_TIMEOUT_MS = 2_000;
/** The longest a read may wait for PostgreSQL before it fails `unavailable`. */
const READ_DEADLINE_MS = 8_000;
/** The longest a batch may take, waiting for the meta row lock included (lock_timeout is 10 s). */
const BATCH_DEADLINE_MS = 20_000;

function unavailable(err: unknown): SpacekvError {
  return new SpacekvError('unavailable', `PostgreSQL cannot be reached: ${(err as Error).message}`);
}

export class PostgresStore implements Store {
  readonly target: PostgresTarget;
  readonly sharedCatalog: SharedCatalog;
  private pool: PgPool | undefined;
  private readonly catalog = new PgCatalog();
  private readonly catalogListeners = new Set<() => void>();
  /** The batch in flight or the catalog reload under way: they take turns, both change the catalog. */
  private turn: Promise<unknown> = Promise.resolve();
  private closing = false;

  constructor(url: string, private readonly limits: Limits, private readonly options: PostgresStoreOptions = {}) {
    this.target = parseTarget(url);
    this.sharedCatalog = {
      spaces: () => this.snapshot(),
      onChange: (listener) => this.catalogListeners.add(listener),
    };
  }

  async open(): Promise<readonly StoredSpace[]> {
    const pool = new PgPool(this.target, { poolSize: this.options.poolSize ?? 8 }, (sql) => {
      // A new set of connections: notifications sent meanwhile are lost, so listeners refresh too.
      this.listen(sql).catch(() => pool.replace(sql));
      this.catalogChanged();
    });
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

  /** Hear of spaces added or removed by other processes; onlisten runs again whenever the listening connection comes back. */
  private async listen(sql: Sql): Promise<void> {
    await sql.listen(CATALOG_CHANNEL, (schema) => {
      if (schema === this.target.schema) this.catalogChanged();
    }, () => this.catalogChanged());
  }

  async get(space: string, key: Key, nowMs: number): Promise<StoredObject | null> {
    const sql = this.open_();
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

  /** The change log after `afterSeq` (at most `limit` changes, in seq order) and the last committed seq. */
  async readChanges(afterSeq: number, limit: number): Promise<{ changes: LoggedChange[]; lastSeq: number }> {
    const sql = this.open_();
    try {
      // One statement, so the last seq and the changes come from one snapshot.
      const rows = await sql.unsafe<{ last_seq: string; seq: string | null; ordinal: number | null; space: string; key: string; op: string; attrs: string | null }[]>(
        `SELECT m.last_seq, c.seq, c.ordinal, c.space, c.key, c.op, c.attrs
         FROM meta m LEFT JOIN LATERAL (
           SELECT * FROM changes WHERE seq > $1 ORDER BY seq, ordinal LIMIT $2
         ) c ON true WHERE m.id = 1 ORDER BY c.seq, c.ordinal`,
        [afterSeq, limit],
        { prepare: true },
      );
      const lastSeq = Number(rows[0]?.last_seq ?? 0);
      const changes = rows.filter((r) => r.seq !== null).map((r) => ({
        seq: Number(r.seq), ordinal: r.ordinal as number, space: r.space, key: r.key, op: r.op, attributesJson: r.attrs,
      }));
      return { changes, lastSeq };
    } catch (err) {
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
   * One batch in one transaction. The meta row is locked first: from then until COMMIT no other
   * process commits a batch, so what this batch reads is current and the seq it takes follows the
   * last committed one.
   */
  private async runBatch(pool: PgPool, batch: readonly BatchMember[]): Promise<readonly MemberOutcome[]> {
    const sql = pool.current;
    let commitSent = false;
    let catalogSeq = this.catalog.seq;
    try {
      const outcomes = await withDeadline(pool, sql, BATCH_DEADLINE_MS, sql.begin(async (tx) => {
        const [meta] = await tx.unsafe<{ last_seq: string; catalog_seq: string }[]>('SELECT last_seq, catalog_seq FROM meta WHERE id = 1 FOR UPDATE', [], { prepare: true });
        if (!meta) throw new Error('the meta row is missing');
        if (Number(meta.catalog_seq) !== this.catalog.seq) this.catalog.load(await tx.unsafe(CATALOG_QUERY));
        const run = new PgBatch(tx, this.catalog, this.limits, Number(meta.last_seq), this.target.schema, Date.now());
        const result = await run.run(batch);
        catalogSeq = run.committedCatalogSeq;
        commitSent = true; // postgres.js sends COMMIT once this callback returns
        return result;
      }));
      this.catalog.seq = catalogSeq;
      return outcomes;
    } catch (err) {
      this.catalog.seq = -1; // what the batch did to the catalog in memory is not in the database: reload
      if (!isServerError(err)) pool.replace(sql);
      if (commitSent && !isServerError(err)) {
        throw new SpacekvError('outcome_unknown', `the connection to PostgreSQL was lost during COMMIT; the batch may or may not be applied: ${(err as Error).message}`);
      }
      const fault = { code: 'unavailable', message: `the commit failed, nothing was applied: ${(err as Error).message}` } as const;
      return batch.map(() => ({ fault }));
    }
  }

  private async snapshot(): Promise<SpacesSnapshot> {
    await this.reloadCatalog();
    return { spaces: this.catalog.list(), asOfSeq: this.catalog.seq };
  }

  /** Read the catalog again, between batches (a batch in flight changes it too). */
  private reloadCatalog(): Promise<void> {
    const sql = this.open_();
    return this.inTurn(async () => {
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
