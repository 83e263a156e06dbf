/**
 * The portable-subset guard (docs/postgres.md, "Portability"): a wrapper around the driver that
 * refuses, before it reaches the database, every statement CockroachDB or YugabyteDB would not
 * run as PostgreSQL does. Tests switch it on with `?guard=portable` on the store URL (the test
 * helpers do by default), so the whole conformance suite and the two-server tests prove that the
 * store needs nothing outside the subset:
 * - no advisory locks, no `pg_cancel_backend`/`pg_terminate_backend` (CockroachDB lacks them, or
 *   stubs them);
 * - no LISTEN/NOTIFY: refused outright, so the store must work by polling alone (a notification
 *   may only ever be an optional wake-up);
 * - no `COLLATE` (CockroachDB rejects `COLLATE "C"` columns) and no SAVEPOINT (partial rollback);
 * - no DDL in a transaction that also writes data (neither engine makes that atomic).
 */
import type { Session, Sql } from './connection.js';

export class PortabilityError extends Error {
  constructor(statement: string, why: string) {
    super(`statement outside the portable SQL subset (${why}): ${statement.replace(/\s+/g, ' ').slice(0, 120)}`);
    this.name = 'PortabilityError';
  }
}

const FORBIDDEN: readonly [RegExp, string][] = [
  [/\bpg_(try_)?advisory/i, 'advisory lock'],
  [/\bpg_(cancel|terminate)_backend\b/i, 'backend signalling'],
  [/\bpg_notify\b|^\s*(LISTEN|NOTIFY|UNLISTEN)\b/i, 'LISTEN/NOTIFY'],
  [/\bCOLLATE\b/i, 'COLLATE'],
  [/^\s*(SAVEPOINT|ROLLBACK\s+TO|RELEASE\s+SAVEPOINT)\b/i, 'savepoint'],
];
const DDL = /^\s*(CREATE|ALTER|DROP|TRUNCATE)\b/i;
/** A write, alone or in a data-modifying WITH (the batch's seq bump, batch.ts). */
const WRITE = /^\s*(INSERT|UPDATE|DELETE|UPSERT)\b|^\s*WITH\b[\s\S]*\b(INSERT|UPDATE|DELETE)\b/i;
const BEGIN = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const END = /^\s*(COMMIT|ROLLBACK|END)\b/i;

/** What one session's open transaction has done so far. */
class TxState {
  open = false;
  ddl = false;
  write = false;

  check(statement: string): void {
    for (const [pattern, why] of FORBIDDEN) if (pattern.test(statement)) throw new PortabilityError(statement, why);
    if (BEGIN.test(statement)) {
      this.open = true;
      this.ddl = this.write = false;
      return;
    }
    if (END.test(statement)) {
      this.open = false;
      return;
    }
    if (!this.open) return; // autocommit: a statement is its own transaction
    if (DDL.test(statement)) this.ddl = true;
    if (WRITE.test(statement)) this.write = true;
    if (this.ddl && this.write) throw new PortabilityError(statement, 'DDL and data writes in one transaction');
  }
}

type Unsafe = Sql['unsafe'];

function guardedUnsafe(target: { unsafe: Unsafe }, state: TxState): Unsafe {
  return ((query: string, ...rest: unknown[]) => {
    try {
      state.check(query);
    } catch (err) {
      return Promise.reject(err);
    }
    return (target.unsafe as (...args: unknown[]) => unknown)(query, ...rest);
  }) as Unsafe;
}

/** `session` (a reserved connection or a transaction) with every statement checked; `state` follows its BEGIN and COMMIT. */
function guardSession<T extends { unsafe: Unsafe }>(session: T, state: TxState): T {
  const unsafe = guardedUnsafe(session, state);
  return new Proxy(session, {
    get: (target, prop, receiver) => (prop === 'unsafe' ? unsafe : Reflect.get(target, prop, receiver)),
    apply: (_target, _this, args) => {
      throw new PortabilityError(String(args[0]), 'tagged templates bypass the guard; use unsafe');
    },
  });
}

export function guardSql(sql: Sql): Sql {
  const autocommit = new TxState();
  const unsafe = guardedUnsafe(sql, autocommit);
  const begin = (...args: unknown[]): unknown => {
    const callback = args[args.length - 1] as (tx: Sql) => unknown;
    const state = new TxState();
    state.open = true;
    return (sql.begin as (...a: unknown[]) => unknown)(...args.slice(0, -1), (tx: Sql) => callback(guardSession(tx, state)));
  };
  const reserve = async (): Promise<Session> => guardSession(await sql.reserve(), new TxState());
  const listen = (): Promise<never> => Promise.reject(new PortabilityError('LISTEN', 'LISTEN/NOTIFY'));
  return new Proxy(sql, {
    get: (target, prop, receiver) => {
      if (prop === 'unsafe') return unsafe;
      if (prop === 'begin') return begin;
      if (prop === 'reserve') return reserve;
      if (prop === 'listen') return listen;
      return Reflect.get(target, prop, receiver);
    },
  });
}
