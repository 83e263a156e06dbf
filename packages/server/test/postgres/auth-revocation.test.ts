// Proves token records are shared by every server on one PostgreSQL store: two servers start at
// once (both create-or-find the token records), a token created on one is honoured by the other,
// and a revocation on one reaches the other through the store's notification (the catalog's
// path), ending that token on REST and on a WebSocket already open there; once refused, it is
// never accepted again. Skips with one line when PostgreSQL is down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type ServerConfig } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { ROOT_SECRET, WsPeer, bearer, createToken } from '../helpers/auth.js';
import { call, expectError, expectOk } from '../helpers/http.js';
import { dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const missing = await postgresMissing();
const schema = uniqueSchema('authrev');
const dataDir = makeTempDir('pg-auth');
const servers: RunningServer[] = [];

before(async () => {
  if (missing) return;
  const config: ServerConfig = { ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', store: storeUrl(schema), auth: 'on', rootToken: ROOT_SECRET };
  servers.push(...(await Promise.all([startServer(config, pino({ level: 'silent' })), startServer(config, pino({ level: 'silent' }))])));
});
after(async () => {
  for (const server of servers) await server.close();
  removeDir(dataDir);
  if (!missing) await dropSchema(schema);
});

/** Repeat `attempt` until `done` holds for its answer (bounded): the other server hears by notification. */
async function until(attempt: () => Promise<number>, done: (status: number) => boolean, what: string): Promise<void> {
  await withTimeout((async () => {
    while (!done(await attempt())) await sleep(5);
  })(), 10_000, what);
}

test('a token revoked on one server is refused by the other, on REST and on its open WebSocket, and stays refused', { skip: missing }, async () => {
  const [a, b] = servers as [RunningServer, RunningServer];
  expectOk(await call(a.url, 'POST', '/v1/spaces', { body: { schema: 'space shared key k attributes int n' }, headers: bearer(ROOT_SECRET) }), 201);
  const { id, token } = await createToken(a.url, { ops: ['read', 'write'], spaces: ['shared'] });
  const getOnB = async () => (await call(b.url, 'GET', '/v1/spaces/shared/objects?limit=1', { headers: bearer(token) })).status;
  await until(getOnB, (status) => status === 200, 'server B to honour a token created on A');
  const peer = await WsPeer.open(b.url, token);
  try {
    assert.equal(WsPeer.outcome(await peer.request({ op: 'put', space: 'shared', key: 'x', attributes: { n: 1 } })), 'ok');
    expectOk(await call(a.url, 'DELETE', `/v1/tokens/${id}`, { headers: bearer(ROOT_SECRET) }), 200);
    expectError(await call(a.url, 'GET', '/v1/spaces/shared/objects?limit=1', { headers: bearer(token) }), 401, 'unauthenticated');
    await until(getOnB, (status) => status === 401, 'server B to refuse the token revoked on A');
    assert.equal(WsPeer.outcome(await peer.request({ op: 'put', space: 'shared', key: 'x', attributes: { n: 2 } })), 'unauthenticated');
    for (let i = 0; i < 20; i++) assert.equal(await getOnB(), 401, 'once refused, never accepted again');
  } finally {
    peer.close();
  }
  const x = expectOk<{ attributes: { n: number } }>(await call(a.url, 'GET', '/v1/spaces/shared/objects/x', { headers: bearer(ROOT_SECRET) }), 200);
  assert.equal(x.attributes.n, 1, 'the write sent after the revocation was not applied');
});
