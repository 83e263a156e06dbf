/**
 * The PostgreSQL connection settings, set explicitly rather than left to server defaults
 * (STYLE.md §15): every commit durable on return (`synchronous_commit=on`, docs/architecture.md §4.2), the
 * store's tables in one schema named on the URL, and errors sorted into those that say "the
 * database answered" and those that say "the connection is gone".
 */
import postgres from 'postgres';
import { guardDriverWrites } from './driver-guard.js';
import { guardSql } from './statement-guard.js';

export type Sql = postgres.Sql;
/** Whatever runs statements: the pool, a reserved connection, or a transaction. */
export type Queries = Pick<Sql, 'unsafe'>;

/** A connection reserved for one transaction (BEGIN and COMMIT are the store's own, so it can pipeline them). */
export type Session = postgres.ReservedSql;

/** Where the store lives: the connection URL without our own parameters, the schema, and whether the portable-subset guard is on. */
export interface PostgresTarget {
  readonly url: string;
  readonly schema: string;
  /** `?guard=portable`: every statement is checked against the portable subset (statement-guard.ts); for tests. */
  readonly guard: boolean;
  /** `?lease_ttl_ms=`: how long a lease lasts unrenewed (lease.ts), when not the store's default. */
  readonly leaseTtlMs?: number;
}

/** At most 50 characters, so the schema's notification channel (`spacekv_<schema>`) stays a 63-byte identifier. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,49}$/;

/**
 * Split `postgres://…?schema=name&guard=portable&lease_ttl_ms=5000` into the driver's URL, the
 * schema (default `spacekv`), the guard and the lease expiry, and check the schema is a plain identifier, since it is spliced into
 * SQL. Other parameters go to the driver, which sends those it does not know as session settings
 * (e.g. `default_transaction_isolation=serializable`). The URL may name several
 * hosts (`postgres://h1:5432,h2:5432/db?target_session_attrs=read-write`, a high-availability
 * cluster: the driver tries each in turn and keeps the one that takes writes); WHATWG URLs take one
 * host, so the list is set aside while the rest is parsed and put back after, as postgres.js does.
 */
export function parseTarget(url: string): PostgresTarget {
  const hosts = hostList(url);
  let parsed: URL;
  try {
    // Each host of a list must parse as one would alone.
    for (const host of hosts?.split(',') ?? []) new URL(`postgres://${host}/`);
    parsed = new URL(hosts ? url.replace(hosts, hosts.split(',')[0] as string) : url);
  } catch {
    throw new Error(`invalid PostgreSQL URL '${url}'`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error(`not a PostgreSQL URL: '${url}'`);
  const schema = parsed.searchParams.get('schema') ?? 'spacekv';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name '${schema}' (lower-case letters, digits and _, at most 50)`);
  const guard = parsed.searchParams.get('guard');
  if (guard !== null && guard !== 'portable') throw new Error(`invalid guard '${guard}' (the one guard is 'portable')`);
  const leaseTtl = parsed.searchParams.get('lease_ttl_ms');
  if (leaseTtl !== null && !/^[1-9][0-9]{2,6}$/.test(leaseTtl)) throw new Error(`invalid lease_ttl_ms '${leaseTtl}' (milliseconds, 100 to 9999999)`);
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('guard');
  parsed.searchParams.delete('lease_ttl_ms');
  // postgres.js 3.4.9 judges `read-write` by default_transaction_read_only, which a hot standby of
  // PostgreSQL 14+ reports `off`: it would take a standby for the primary. `primary` asks the
  // server whether it is in recovery, which is what read-write means for a replicated cluster.
  if (parsed.searchParams.get('target_session_attrs') === 'read-write') parsed.searchParams.set('target_session_attrs', 'primary');
  const single = parsed.toString();
  return {
    url: hosts ? single.replace(parsed.host, hosts) : single, schema, guard: guard !== null, ...(leaseTtl !== null ? { leaseTtlMs: Number(leaseTtl) } : {}),
  };
}

/** The `host:port,host:port` part of a URL naming several hosts, or undefined for one host. */
function hostList(url: string): string | undefined {
  const authority = url.slice(url.indexOf('://') + 3).split(/[?/]/)[0] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  return hosts.includes(',') ? hosts : undefined;
}

export interface ConnectOptions {
  /** Connections in the pool: the writer takes one per batch in flight, reads share the rest. */
  readonly poolSize: number;
}

export function connect(target: PostgresTarget, options: ConnectOptions): Sql {
  guardDriverWrites();
  const sql = postgres(target.url, {
    max: options.poolSize,
    // Array parameters are the store's own literals (array-literals.ts): the driver's query for the
    // array types, run on every new connection, is not needed, and its answer raced statements.
    fetch_types: false,
    // A server that does not answer the connection attempt fails the operation rather than hanging it.
    connect_timeout: 10,
    idle_timeout: 60,
    onnotice: () => {},
    connection: {
      application_name: 'spacekv',
      search_path: target.schema,
      synchronous_commit: 'on',
      // Writers queue on the meta row lock for as long as a batch commits; a lock held longer than
      // this means a stuck peer, and the batch fails `unavailable` instead of waiting forever.
      lock_timeout: 10_000,
      idle_in_transaction_session_timeout: 60_000,
    },
  });
  return target.guard ? guardSql(sql) : sql;
}

/**
 * The store's connections, replaced as a whole when one of them is lost. postgres.js reconnects by
 * itself, but after PostgreSQL restarts some of its pooled connections can stay stuck in their
 * reconnect loop and hold the queries given to them forever (seen with 3.4.9; see
 * porsager/postgres#1193). So on a lost connection, or an operation past its deadline, the store
 * drops every connection of the instance it used and starts a fresh one: queries still held by the
 * old one fail (CONNECTION_DESTROYED), new ones get new connections.
 */
/** At most one replacement this often: while PostgreSQL is down every operation fails, and replacing on each would only churn. */
const REPLACE_INTERVAL_MS = 1_000;
/** How long a fresh set of connections may take to answer its first query. */
const PROBE_DEADLINE_MS = 3_000;

export class PgPool {
  private sql: Sql;
  /** A connection of its own for one read statement at a time (`reading`), replaced with the pool. */
  private hot: Sql;
  private hotBusy = false;
  private ended = false;
  /** When the last replacement was made; none yet is long ago (not 0: performance.now() starts near 0 with the process). */
  private replacedAt = Number.NEGATIVE_INFINITY;
  private deferred: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: PostgresTarget,
    private readonly options: ConnectOptions,
    private readonly onReplaced: (sql: Sql) => void,
  ) {
    this.sql = connect(target, options);
    this.hot = this.connectHot();
  }

  /** The hot connection: the pool's options, one connection. */
  private connectHot(): Sql {
    return connect(this.target, { ...this.options, poolSize: 1 });
  }

  get current(): Sql {
    return this.sql;
  }

  /** Whether `sql` is still an instance in use (not replaced, not ended). */
  isCurrent(sql: Sql): boolean {
    return (sql === this.sql || sql === this.hot) && !this.ended;
  }

  /**
   * `work`, one read statement, on the hot connection while no other read is on it, else on the
   * pool. postgres.js hands out a pool's idle connections in turn, so one read at a time met each
   * backend in turn, every one with cold caches: PostgreSQL spent about a third more CPU on an
   * indexed search of 100 objects, and answered later (issue 18). Reads at once overflow to the pool.
   */
  async reading<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.hotBusy) return work(this.sql);
    this.hotBusy = true;
    try {
      return await work(this.hot);
    } finally {
      this.hotBusy = false;
    }
  }

  /**
   * `failed` lost a connection (or hung): replace it, unless that was done already. Within a second
   * of the last replacement the replacement is put off to the end of that second, not dropped: the
   * set that failed must go, or its stuck connections would hold every later operation.
   */
  replace(failed: Sql): void {
    if (!this.isCurrent(failed)) return;
    const wait = this.replacedAt + REPLACE_INTERVAL_MS - performance.now();
    if (wait > 0) {
      this.deferred ??= setTimeout(() => {
        this.deferred = undefined;
        this.replace(failed);
      }, wait);
      this.deferred.unref();
      return;
    }
    this.replacedAt = performance.now();
    const old = [this.sql, this.hot];
    const fresh = connect(this.target, this.options);
    const freshHot = this.connectHot();
    this.sql = fresh;
    this.hot = freshHot;
    // Queries still answering finish; those stuck are destroyed after a few seconds.
    for (const sql of old) void sql.end({ timeout: 5 }).catch(() => {});
    this.onReplaced(fresh);
    // A fresh set made while PostgreSQL starts up can itself be stuck: try it, and replace it again if it does not answer.
    for (const sql of [fresh, freshHot]) withDeadline(this, sql, PROBE_DEADLINE_MS, sql.unsafe('SELECT 1')).catch(() => this.replace(sql));
  }

  async end(): Promise<void> {
    this.ended = true;
    clearTimeout(this.deferred);
    await Promise.all([this.sql.end({ timeout: 5 }), this.hot.end({ timeout: 5 })]);
  }
}

/**
 * `work` on `sql`, failing with a connection-loss error once `ms` pass without an answer; `sql`
 * is then replaced, which also ends whatever `work` still waits for.
 */
export async function withDeadline<T>(pool: PgPool, sql: Sql, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      pool.replace(sql);
      reject(new Error(`PostgreSQL did not answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error the database itself sent (it answered, so it knows what it did), as opposed to a lost connection. */
export function isServerError(err: unknown): boolean {
  return err instanceof postgres.PostgresError && !isConnectionLoss(err);
}

/**
 * SQLSTATEs that mean the session is of no use: 08 connection exception, 57P0x shutdown, and 25006
 * read_only_sql_transaction, a node that no longer takes writes (a primary demoted in a failover):
 * the connections are replaced, and the new ones find the primary.
 */
function isConnectionLoss(err: postgres.PostgresError): boolean {
  return err.code.startsWith('08') || err.code.startsWith('57P0') || err.code === '25006';
}

/**
 * `serialization_failure` (40001) or `deadlock_detected` (40P01): the database gave up the
 * transaction so that the others stay serializable; run again, it may well succeed.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof postgres.PostgresError && (err.code === '40001' || err.code === '40P01');
}

/**
 * A unique violation on `objects`: a batch inserted a key it had found absent and another batch
 * created it first (batch.ts). Like a 40001, the batch runs again and then finds the key present.
 */
export function isLostInsertRace(err: unknown): boolean {
  return err instanceof postgres.PostgresError && err.code === '23505' && err.table_name === 'objects';
}

/**
 * The catalog moved between a batch's first round trip and its seq bump: the bump matched no meta
 * row and left its change log rows without a seq (batch.ts SEQ_SQL). The batch runs again.
 */
export function isCatalogMoved(err: unknown): boolean {
  return err instanceof postgres.PostgresError && err.code === '23502' && err.table_name === 'changes';
}
