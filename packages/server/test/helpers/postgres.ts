/**
 * PostgreSQL for tests: the machine's server (SPACEKV_TEST_POSTGRES, default
 * postgres://postgres@127.0.0.1:5432/test), one fresh schema per store so runs and cases never
 * meet, dropped afterwards. When PostgreSQL is not there, tests skip with one line saying so.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export const POSTGRES_URL = process.env['SPACEKV_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why PostgreSQL tests cannot run, or undefined when they can. */
export async function postgresMissing(): Promise<string | undefined> {
  const sql = postgres(POSTGRES_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql.unsafe('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL is not reachable at ${POSTGRES_URL} (${(err as Error).message}); start it (.ci/run does) to run these tests`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** A schema name no other run uses. */
export function uniqueSchema(prefix: string): string {
  return `t_${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * The store URL for `schema` on `base` (default: the test server), with the portable-subset guard
 * on (statement-guard.ts): every PostgreSQL test proves the store needs nothing CockroachDB or
 * YugabyteDB lacks. `isolation` (default: SPACEKV_TEST_PG_ISOLATION, which runs every test that way)
 * sets the sessions' default_transaction_isolation, e.g. `serializable` (CockroachDB's default),
 * per connection, never on the server; the `*-serializable` test files pass it themselves.
 */
export function storeUrl(schema: string, base: string = POSTGRES_URL, isolation = process.env['SPACEKV_TEST_PG_ISOLATION']): string {
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  url.searchParams.set('guard', 'portable');
  if (isolation) url.searchParams.set('default_transaction_isolation', isolation);
  return url.toString();
}

export async function dropSchema(schema: string, base: string = POSTGRES_URL): Promise<void> {
  const sql = postgres(base, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}
