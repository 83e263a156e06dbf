// Proves the PostgreSQL store keeps every contract of the conformance suite (suite.ts), with no
// skips: each case runs on its own schema (derived from the case's directory), dropped afterwards.
import { basename } from 'node:path';
import { test } from 'node:test';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, postgresMissing, storeUrl } from '../helpers/postgres.js';
import { conformanceSuite } from './suite.js';

/** The case's directory is unique (mkdtemp) and reopened for restart cases, so the schema follows it. */
function schemaOf(dir: string): string {
  return `t_conf_${basename(dir).replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
}

const missing = await postgresMissing();
if (missing) {
  test('conformance: postgres', { skip: missing }, () => {});
} else {
  conformanceSuite('postgres', (dir, limits) => new PostgresStore(storeUrl(schemaOf(dir)), limits, { poolSize: 4 }), {
    cleanup: (dir) => dropSchema(schemaOf(dir)),
  });
}
