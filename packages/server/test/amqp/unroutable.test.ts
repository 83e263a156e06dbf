// Proves why the relay publishes with `mandatory`: an event no queue is bound for is returned by
// RabbitMQ, not confirmed into the void, so the relay holds it back (reporting itself degraded),
// and once a queue is bound it publishes every event from the first, none lost. Skips with one
// line when RabbitMQ is not there.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { BROKER_URL, TestBroker, brokerMissing, uniqueNames } from '../helpers/amqp.js';
import { call, json } from '../helpers/http.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

const missing = await brokerMissing();
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1_500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('an unroutable event is held back, not lost, until a queue is bound', { skip: missing }, async () => {
  const names = uniqueNames('unroutable');
  const dataDir = makeTempDir('unroutable');
  cleanups.push(() => removeDir(dataDir));
  const server: RunningServer = await startServer({
    ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', amqpUrl: BROKER_URL, amqpRpcQueue: names.queue, amqpExchange: names.exchange,
  });
  cleanups.push(() => server.close());
  await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space s key k attributes int n' } });
  for (let i = 0; i < 5; i++) await call(server.url, 'PUT', `/v1/spaces/s/objects/k${i}`, { body: { n: i } });
  const relay = async () => json<{ parts: { tasks: { amqp_relay: { state: string; detail: string } } } }>(await call(server.url, 'GET', '/healthz')).parts.tasks.amqp_relay;
  await until('the relay to hold back the unroutable event', async () => /unroutable/.test((await relay()).detail));
  const broker = await TestBroker.open(names); // binds a queue to every routing key
  cleanups.push(() => broker.close());
  await until('every event to arrive', () => new Set(broker.events.map((e) => e.body.seq)).size === 6);
  assert.deepEqual([...new Set(broker.events.map((e) => e.body.seq))], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(broker.events.slice(0, 6).map((e) => e.routingKey), ['s.add_space', 's.put', 's.put', 's.put', 's.put', 's.put']);
});
