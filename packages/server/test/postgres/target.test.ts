// The store URL as docs/postgres.md describes it: the schema parameter is the store's and leaves the
// driver's URL; several hosts (a high-availability cluster) pass through to the driver unchanged,
// and `target_session_attrs=read-write` reaches it as `primary` (postgres.js 3.4.9 takes a PostgreSQL
// 14+ hot standby for read-write). No PostgreSQL is needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTarget } from '../../src/store/postgres/connection.js';

test('one host: the schema is taken out of the URL, the default is spacekv', () => {
  assert.deepEqual(parseTarget('postgres://u:p@db:5432/app?schema=s1&sslmode=disable'), { url: 'postgres://u:p@db:5432/app?sslmode=disable', schema: 's1', guard: false });
  assert.deepEqual(parseTarget('postgresql://db/app'), { url: 'postgresql://db/app', schema: 'spacekv', guard: false });
});

test('several hosts pass through to the driver, with read-write asked as primary', () => {
  assert.deepEqual(parseTarget('postgres://u:p@db1:5432,db2:5433,[::1]:5434/app?target_session_attrs=read-write&schema=ha'), {
    url: 'postgres://u:p@db1:5432,db2:5433,[::1]:5434/app?target_session_attrs=primary',
    schema: 'ha',
    guard: false,
  });
  assert.equal(parseTarget('postgres://h1:1,h2:2/app?target_session_attrs=primary').url, 'postgres://h1:1,h2:2/app?target_session_attrs=primary');
});

test('bad URLs and schema names are refused with a message naming them', () => {
  assert.throws(() => parseTarget('postgres://h1:1,h2:x/app'), /invalid PostgreSQL URL/);
  assert.throws(() => parseTarget('mysql://db/app'), /not a PostgreSQL URL/);
  assert.throws(() => parseTarget('postgres://h1:1,h2:2/app?schema=Bad-Name'), /invalid schema name 'Bad-Name'/);
});

test('lease_ttl_ms sets the lease expiry and leaves the driver\'s URL; a bad one is refused', () => {
  assert.deepEqual(parseTarget('postgres://db/app?lease_ttl_ms=1500&schema=s1'), { url: 'postgres://db/app', schema: 's1', guard: false, leaseTtlMs: 1500 });
  for (const bad of ['0', '99', '1.5', 'abc', '10000000']) assert.throws(() => parseTarget(`postgres://db/app?lease_ttl_ms=${bad}`), new RegExp(`invalid lease_ttl_ms '${bad.replace('.', '\\.')}'`));
});
