// Proves the client's health checks on a list of servers (issue 17, item 5): `connect([a, b])`
// leaves a server that is up but unhealthy (its writer dead for good: /healthz answers 503) for the
// next, both when dialling and once connected, so writes go on against the healthy one; over TLS
// too, where the health check trusts the client's `ca` (without it the check could not reach the
// server, would not judge it, and the client would stay on the sick one).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from '@spacekv/client';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { call, expectOk, objectPath } from '../helpers/http.js';
import { makeTestCertificate } from '../helpers/certificate.js';
import { type TestServer, type TestServerOptions, startTestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep } from '../helpers/timeout.js';

interface Served {
  readonly server: TestServer;
  readonly store: SqliteStore;
}

async function serve(name: string, config: TestServerOptions['config'] = {}): Promise<Served> {
  let store: SqliteStore | undefined;
  const server = await startTestServer(name, { config, wrapStore: (real) => (store = real as SqliteStore) });
  if (config.tls === undefined) {
    expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space h key k attributes int n' } }));
  } else {
    const db = await connect(server.url, { ca: config.tls.cert, reconnect: false });
    await db.addSpace('space h key k attributes int n').finally(() => db.close());
  }
  return { server, store: store as SqliteStore };
}

const certDir = makeTempDir('health-tls');
const tls = makeTestCertificate(certDir);
const servers: Served[] = [];
const tlsServers: Served[] = [];
before(async () => {
  servers.push(await serve('health-a'), await serve('health-b'), await serve('health-c'), await serve('health-d'));
  tlsServers.push(await serve('health-tls-a', { tls }), await serve('health-tls-b', { tls }));
});
after(async () => {
  await Promise.all([...servers, ...tlsServers].map((s) => s.server.stop()));
  removeDir(certDir);
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

/**
 * Puts `key` through `db` until it succeeds; a refusal by a sick server while the client moves is
 * expected. Gives up after 10 s (the loop ends too, so a failing test does not keep its process alive).
 */
async function putUntilAccepted(db: Awaited<ReturnType<typeof connect>>, key: string, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await db.put('h', key, { n });
      return;
    } catch (err) {
      assert.ok(['unavailable', 'outcome_unknown'].includes((err as { code: string }).code), String(err));
      if (Date.now() > deadline) assert.fail(`still refused after 10 s (${String(err)}): the client did not move to the healthy server`);
      await sleep(20);
    }
  }
}

test('a server that turns unhealthy while in use is left for the next one', async () => {
  const [, , c, d] = servers as [Served, Served, Served, Served];
  const db = await connect([c.server.url, d.server.url], { healthCheckIntervalMs: 50 });
  try {
    await db.put('h', 'first', { n: 1 });
    assert.deepEqual(await holderOf('first', [c, d]), [c.server.url], 'the first healthy server is used');
    await c.store.killWriterForTest(false);
    // Writes fail (unavailable) on the sick server until the client has moved; then they land on d.
    await putUntilAccepted(db, 'moved', 2);
    assert.deepEqual(await holderOf('moved', [c, d]), [d.server.url]);
  } finally {
    await db.close();
  }
});

test('over TLS, the health check trusts the client\'s ca and the client leaves the sick server', async () => {
  const [a, b] = tlsServers as [Served, Served];
  const db = await connect([a.server.url, b.server.url], { ca: tls.cert, healthCheckIntervalMs: 50 });
  try {
    await db.put('h', 'first', { n: 1 });
    await a.store.killWriterForTest(false);
    await putUntilAccepted(db, 'moved', 2);
    // Each server has a store of its own: the write accepted after the move is on b, not a.
    for (const [served, expected] of [[a, undefined], [b, 2]] as const) {
      const direct = await connect(served.server.url, { ca: tls.cert, reconnect: false });
      try {
        assert.equal((await direct.get('h', 'moved'))?.attributes.n, expected, served.server.url);
      } finally {
        await direct.close();
      }
    }
  } finally {
    await db.close();
  }
});
