// Proves the AMQP front of a server that requires tokens: an RPC request without a token, with a
// malformed one, or with one outside its scope is refused with a reply carrying the catalogue code
// (never dropped, never run); a token in the `authorization` header (`Bearer <token>`) within scope
// is served; and the event relay never publishes the server's own token records. Skips with one
// line when RabbitMQ is not there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { BROKER_URL, TestBroker, brokerMissing, uniqueNames } from '../helpers/amqp.js';
import { ROOT_SECRET, bearer, createToken } from '../helpers/auth.js';
import { call, expectOk, json } from '../helpers/http.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const missing = await brokerMissing();

function code(reply: Record<string, unknown>): string {
  return reply.ok === true ? 'ok' : String((reply.error as { code?: string }).code);
}

describe('AMQP RPC with tokens', { skip: missing }, () => {
  const names = uniqueNames('auth');
  let dataDir = '';
  let server: RunningServer;
  let broker: TestBroker;

  before(async () => {
    dataDir = makeTempDir('amqp-auth');
    broker = await TestBroker.open(names);
    server = await startServer({
      ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', amqpUrl: BROKER_URL, amqpRpcQueue: names.queue, amqpExchange: names.exchange,
      auth: 'on', rootToken: ROOT_SECRET,
    });
    await withTimeout((async () => {
      while (json<{ parts?: { amqp: string } }>(await call(server.url, 'GET', '/healthz', { headers: bearer(ROOT_SECRET) })).parts?.amqp !== 'ok') await sleep(10);
    })(), 20_000, 'the AMQP tasks to run');
    expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space q key k attributes int n' }, headers: bearer(ROOT_SECRET) }), 201);
  });
  after(async () => {
    await server?.close();
    await broker?.close();
    removeDir(dataDir);
  });

  it('refuses with a reply: no token, a malformed one, one outside its scope; serves one within it', async () => {
    const put = { op: 'put', space: 'q', key: 'a', attributes: { n: 1 } };
    const reply = (headers?: Record<string, string>) => withTimeout(broker.call(put, undefined, headers), 10_000, 'an RPC reply');
    assert.equal(code(await reply()), 'unauthenticated');
    assert.equal(code(await reply({ authorization: 'Bearer skv1_garbage' })), 'unauthenticated');
    assert.equal(code(await reply({ authorization: 'Basic Z3Vlc3Q6Z3Vlc3Q=' })), 'unauthenticated');
    const reader = (await createToken(server.url, { ops: ['read'], spaces: ['q'] })).token;
    assert.equal(code(await reply({ authorization: `Bearer ${reader}` })), 'forbidden');
    expectOk(await call(server.url, 'GET', '/v1/spaces/q/objects?limit=1', { headers: bearer(ROOT_SECRET) }));
    assert.equal(json<{ objects: unknown[] }>(await call(server.url, 'GET', '/v1/spaces/q/objects', { headers: bearer(ROOT_SECRET) })).objects.length, 0, 'nothing was written');
    const writer = (await createToken(server.url, { ops: ['write'], spaces: ['q'] })).token;
    assert.equal(code(await reply({ authorization: `Bearer ${writer}` })), 'ok');
  });

  it('never publishes the token records to the events exchange', async () => {
    await createToken(server.url, { ops: ['read'] }, 'relay-check');
    expectOk(await call(server.url, 'PUT', '/v1/spaces/q/objects/marker', { body: { n: 1 }, headers: bearer(ROOT_SECRET) }));
    await withTimeout((async () => {
      while (!broker.events.some((e) => e.body.key === 'marker')) await sleep(10);
    })(), 10_000, 'the marker event');
    assert.deepEqual(broker.events.filter((e) => e.body.space.startsWith('_spacekv')), []);
  });
});
