// Proves the PostgreSQL store's lease (the AMQP relay's leadership, store.ts acquireLease): of two
// stores sharing a schema (two servers), one holds a lease at a time; the other gets null until
// it is released; when its holder's session dies (as when a server is killed), PostgreSQL frees it,
// the holder's signal aborts at once, and the other can take it.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS } from '@spacekv/core';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import postgres from 'postgres';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const missing = await postgresMissing();
const schema = uniqueSchema('lease');
after(async () => {
  if (!missing) await dropSchema(schema);
});

test('one holder at a time across stores; a released or dead holder lets the other take over', { skip: missing }, async () => {
  const a = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  const b = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  await Promise.all([a.open(), b.open()]);
  try {
    const first = await a.acquireLease('relay');
    assert.ok(first, 'a free lease is granted');
    assert.equal(await b.acquireLease('relay'), null, 'held by a: refused to b');
    assert.ok(await b.acquireLease('other'), 'leases are per name');

    await first.release();
    const second = await b.acquireLease('relay');
    assert.ok(second, 'released by a: granted to b');
    assert.equal(await a.acquireLease('relay'), null);

    // b's session dies (as when its server is killed): PostgreSQL ends it; b's lease signal
    // aborts, and a can take the lease.
    const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
    try {
      const [killed] = await admin.unsafe<{ n: number }[]>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND objid = ((hashtext($1)::bigint & 4294967295)::text)::oid`,
        [`${schema}.relay`],
      );
      assert.equal(killed?.n, 1, 'one session held the lease');
    } finally {
      await admin.end({ timeout: 1 });
    }
    await withTimeout((async () => {
      while (!second.signal.aborted) await sleep(50);
    })(), 10_000, "the dead holder's lease to abort");
    const third = await withTimeout((async () => {
      for (;;) {
        const lease = await a.acquireLease('relay');
        if (lease) return lease;
        await sleep(50);
      }
    })(), 10_000, 'the lease to be free again');
    await third.release();
  } finally {
    await a.close();
    await b.close();
  }
});
