// Proves a server whose broker is unreachable keeps serving: REST reads and writes work, /healthz
// answers 200 and says AMQP is degraded, and the AMQP tasks keep retrying with backoff (their
// restart count grows) instead of giving up or taking the server down. Needs no RabbitMQ: the
// broker URL points at a port that refuses connections.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { call, expectOk, json } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

let server: RunningServer | undefined;
const dataDir = makeTempDir('broker-down');
after(async () => {
  await server?.close();
  removeDir(dataDir);
});

interface Health {
  readonly status: string;
  readonly parts: { readonly amqp: string; readonly tasks: Record<string, { state: string; restarts: number; detail: string }> };
}

test('with the broker unreachable, REST serves, /healthz says AMQP is degraded, and the AMQP tasks keep retrying', async () => {
  server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', amqpUrl: `amqp://guest:guest@127.0.0.1:${await freePort()}` });
  const url = server.url;
  expectOk(await call(url, 'POST', '/v1/spaces', { body: { schema: 'space s key k attributes int n' } }), 201);
  expectOk(await call(url, 'PUT', '/v1/spaces/s/objects/a', { body: { n: 1 } }), 201);
  assert.deepEqual(json<{ attributes: unknown }>(await call(url, 'GET', '/v1/spaces/s/objects/a')).attributes, { n: 1 });
  let health: Health | undefined;
  for (let i = 0; i < 500; i++) {
    const reply = await call(url, 'GET', '/healthz');
    assert.equal(reply.status, 200, 'the server serves while AMQP is down');
    health = json<Health>(reply);
    if (health.parts.tasks.amqp_relay?.restarts !== undefined && health.parts.tasks.amqp_relay.restarts >= 2 && health.parts.tasks.amqp_rpc?.restarts !== undefined && health.parts.tasks.amqp_rpc.restarts >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(health?.parts.amqp, 'degraded');
  assert.ok((health?.parts.tasks.amqp_relay?.restarts ?? 0) >= 2, 'the relay keeps retrying');
  assert.ok((health?.parts.tasks.amqp_rpc?.restarts ?? 0) >= 2, 'the RPC consumer keeps retrying');
  assert.match(health?.parts.tasks.amqp_relay?.detail ?? '', /failed: .*ECONNREFUSED/);
  expectOk(await call(url, 'PUT', '/v1/spaces/s/objects/b', { body: { n: 2 } }), 201);
});
