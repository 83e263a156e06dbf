// Proves the client's health checks on a list of servers (issue 17, item 5): `connect([a, b])`
// leaves a server that is up but unhealthy (its writer dead for good: /healthz answers 503) for the
// next, both when dialling and once connected, so writes go on against the healthy one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from '@spacekv/client';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { call, expectOk, objectPath } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

interface Served {
  readonly server: TestServer;
  readonly store: SqliteStore;
}

async function serve(name: string): Promise<Served> {
  let store: SqliteStore | undefined;
  const server = await startTestServer(name, { wrapStore: (real) => (store = real as SqliteStore) });
  expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space h key k attributes int n' } }));
  return { server, store: store as SqliteStore };
}

const servers: Served[] = [];
before(async () => {
  servers.push(await serve('health-a'), await serve('health-b'), await serve('health-c'), await serve('health-d'));
});
after(async () => {
  await Promise.all(servers.map((s) => s.server.stop()));
});

/** Which of the servers holds object `key` (each has a store of its own). */
async function holderOf(key: string, among: readonly Served[]): Promise<string[]> {
  const found: string[] = [];
  for (const { server } of among) if ((await call(server.url, 'GET', objectPath('h', key))).status === 200) found.push(server.url);
  return found;
}

test('dialling skips a server whose /healthz answers 503 for the next one', async () => {
  const [a, b] = servers as [Served, Served];
  await a.store.killWriterForTest(false); // a dead writer that stays dead: /healthz 503, reads still served
  assert.equal((await call(a.server.url, 'GET', '/healthz')).status, 503);
  const db = await connect([a.server.url, b.server.url], { connectTimeoutMs: 5_000 });
  try {
    await db.put('h', 'dialled', { n: 1 });
    assert.deepEqual(await holderOf('dialled', [a, b]), [b.server.url]);
  } finally {
    await db.close();
  }
});

test('a server that turns unhealthy while in use is left for the next one', async () => {
  const [, , c, d] = servers as [Served, Served, Served, Served];
  const db = await connect([c.server.url, d.server.url], { healthCheckIntervalMs: 50 });
  try {
    await db.put('h', 'first', { n: 1 });
    assert.deepEqual(await holderOf('first', [c, d]), [c.server.url], 'the first healthy server is used');
    await c.store.killWriterForTest(false);
    // Writes fail (unavailable) on the sick server until the client has moved; then they land on d.
    await withTimeout((async () => {
      for (;;) {
        try {
          await db.put('h', 'moved', { n: 2 });
          return;
        } catch (err) {
          assert.ok(['unavailable', 'outcome_unknown'].includes((err as { code: string }).code), String(err));
          await sleep(20);
        }
      }
    })(), 10_000, 'a write to succeed after the failover');
    assert.deepEqual(await holderOf('moved', [c, d]), [d.server.url]);
  } finally {
    await db.close();
  }
});
