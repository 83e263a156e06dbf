/**
 * The conformance suite (suite.ts) on the PostgreSQL store, with no skips, under the sessions'
 * default isolation or another (`serializable`, CockroachDB's default): each case runs on its own
 * schema (derived from the case's directory), dropped afterwards. A last test reports how many
 * batches the stores ran again after a serialization failure (40001/40P01).
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { test } from 'node:test';
import { connect, parseTarget } from '../../src/store/postgres/connection.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl } from '../helpers/postgres.js';
import { conformanceSuite } from './suite.js';

/** The case's directory is unique (mkdtemp) and reopened for restart cases, so the schema follows it. */
function schemaOf(dir: string): string {
  return `t_conf_${basename(dir).replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
}

export async function postgresConformance(isolation?: string): Promise<void> {
  const name = isolation ? `postgres (${isolation})` : 'postgres';
  const missing = await postgresMissing();
  if (missing) {
    test(`conformance: ${name}`, { skip: missing }, () => {});
    return;
  }
  const stores: PostgresStore[] = [];
  conformanceSuite(name, (dir, limits) => {
    const store = new PostgresStore(storeUrl(schemaOf(dir), POSTGRES_URL, isolation), limits, { poolSize: 4 });
    stores.push(store);
    return store;
  }, { cleanup: (dir) => dropSchema(schemaOf(dir)) });
  test(`conformance: ${name}: serialization retries`, async (t) => {
    if (isolation) {
      // The stores' sessions really ran that way: the setting reaches PostgreSQL through the URL.
      const sql = connect(parseTarget(storeUrl('public', POSTGRES_URL, isolation)), { poolSize: 1 });
      try {
        const [row] = await sql.unsafe<{ transaction_isolation: string }[]>('SHOW transaction_isolation');
        assert.equal(row?.transaction_isolation, isolation);
      } finally {
        await sql.end({ timeout: 1 });
      }
    }
    // Expect few or none: one store's batches queue on the meta row lock; servers racing on one
    // schema (two-servers-serializable.test.ts) are where 40001 comes from.
    const retries = stores.reduce((sum, store) => sum + store.serializationRetries, 0);
    t.diagnostic(`batches retried on 40001/40P01 over ${stores.length} stores (isolation ${isolation ?? process.env['SPACEKV_TEST_PG_ISOLATION'] ?? 'default'}): ${retries}`);
  });
}
