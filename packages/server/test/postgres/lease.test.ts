// Proves the PostgreSQL store's lease (the AMQP relay's leadership, store.ts acquireLease), a row
// with holder, expiry and fencing epoch (lease.ts): of two stores sharing a schema (two servers),
// one holds a lease at a time; the other gets null until it is released or expires; a holder whose
// lease expired and was taken by another (as when it was paused past its expiry) is fenced off by
// the epoch at its next renewal and stops, so two holders never act at once; asked to confirm the
// lease before acting, it learns so at once; and an expired lease is not renewed.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS } from '@spacekv/core';
import postgres from 'postgres';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const missing = await postgresMissing();
const schema = uniqueSchema('lease');
after(async () => {
  if (!missing) await dropSchema(schema);
});

const TTL_MS = 1_000;

test('one holder at a time across stores; a released or expired holder lets the other take over, and the old holder is fenced off', { skip: missing }, async () => {
  const a = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2, leaseTtlMs: TTL_MS });
  const b = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2, leaseTtlMs: TTL_MS });
  await Promise.all([a.open(), b.open()]);
  const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
  try {
    const first = await a.acquireLease('relay');
    assert.ok(first, 'a free lease is granted');
    assert.equal(await b.acquireLease('relay'), null, 'held by a: refused to b');
    assert.ok(await b.acquireLease('other'), 'leases are per name');

    // Held past several expiries by renewal alone.
    await sleep(TTL_MS * 2);
    assert.equal(first.signal.aborted, false, 'a renews what it holds');
    assert.equal(await b.acquireLease('relay'), null, 'still held by a');

    await first.release();
    assert.ok(first.signal.aborted);
    const second = await b.acquireLease('relay');
    assert.ok(second, 'released by a: granted to b');
    assert.equal(await a.acquireLease('relay'), null);

    // b stops renewing, as a paused or partitioned holder does: its expiry passes (moved back here,
    // so the test does not depend on pausing a process), and a takes the lease with a new epoch.
    await admin.unsafe(`UPDATE ${schema}.leases SET expires_at = now() - interval '1 second' WHERE name = 'relay'`);
    const third = await a.acquireLease('relay');
    assert.ok(third, 'an expired lease is granted to another');
    // Asked before acting, b learns at once that its epoch is no longer current; a is confirmed.
    await assert.rejects(second.confirm(), /lease 'relay' was lost/);
    await third.confirm();
    // b's next renewal names its old epoch: it finds nothing, and b stops.
    await withTimeout((async () => {
      while (!second.signal.aborted) await sleep(20);
    })(), TTL_MS * 2, "the fenced holder's signal to abort");
    assert.match(String((second.signal.reason as Error).message), /fenced off|expiry passed/);
    await sleep(TTL_MS);
    assert.equal(third.signal.aborted, false, 'the new holder keeps it');
    const [row] = await admin.unsafe<{ epoch: string }[]>(`SELECT epoch FROM ${schema}.leases WHERE name = 'relay'`);
    assert.equal(Number(row?.epoch), 3, 'each grant a new epoch');

    // Expired in the row though no one took it (a renewal that ran late, after a pause): the
    // holder's next renewal does not bring it back, and the holder stops.
    await admin.unsafe(`UPDATE ${schema}.leases SET expires_at = now() - interval '1 second' WHERE name = 'relay'`);
    await withTimeout((async () => {
      while (!third.signal.aborted) await sleep(20);
    })(), TTL_MS * 2, 'the holder of an expired lease to stop');
    assert.match(String((third.signal.reason as Error).message), /expired/);
    await assert.rejects(third.confirm());
    assert.ok(await b.acquireLease('relay'), 'the expired lease is free for another');
  } finally {
    await admin.end({ timeout: 1 });
    await a.close();
    await b.close();
  }
});
