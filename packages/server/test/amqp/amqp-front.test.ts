// Proves the AMQP front against the real RabbitMQ, in one server process that serves REST at the
// same time: an operation sent on the RPC queue is answered on reply_to with its correlation_id,
// in the same JSON and with the same error codes as the other fronts; a change made through AMQP
// is seen by a REST reader and a watcher, and a change made through REST reaches an AMQP consumer
// of the events exchange (routing key <space>.<op>, persistent, seq header) and an AMQP RPC reader;
// /healthz reports the AMQP front. Skips with one line when RabbitMQ is not there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { BROKER_URL, TestBroker, brokerMissing, uniqueNames } from '../helpers/amqp.js';
import { call, json } from '../helpers/http.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { withTimeout } from '../helpers/timeout.js';

const missing = await brokerMissing();

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('the AMQP front beside REST, in one process', { skip: missing }, () => {
  const names = uniqueNames('front');
  let dataDir = '';
  let server: RunningServer;
  let broker: TestBroker;

  before(async () => {
    dataDir = makeTempDir('amqp-front');
    broker = await TestBroker.open(names);
    server = await startServer({
      ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', amqpUrl: BROKER_URL, amqpRpcQueue: names.queue, amqpExchange: names.exchange,
    });
    await until('the AMQP tasks to run', async () => json<{ parts: { amqp: string } }>(await call(server.url, 'GET', '/healthz')).parts.amqp === 'ok');
  });

  after(async () => {
    await server?.close();
    await broker?.close();
    removeDir(dataDir);
  });

  it('answers RPC on reply_to with the other fronts\' JSON and error codes, while REST serves', async () => {
    assert.deepEqual(await withTimeout(broker.call({ op: 'add_space', schema: 'space users key id attributes int n, string name' }), 10_000, 'add_space'), {
      ok: true, space: { name: 'users', key: { name: 'id', type: 'string' }, attributes: [{ name: 'n', type: 'int' }, { name: 'name', type: 'string' }] },
    });
    // Many requests in flight at once, from AMQP and REST together.
    const amqpPuts = Array.from({ length: 50 }, (_, i) => broker.call({ op: 'put', space: 'users', key: `amqp${i}`, attributes: { n: i } }));
    const restPuts = Array.from({ length: 50 }, (_, i) => call(server.url, 'PUT', `/v1/spaces/users/objects/rest${i}`, { body: { n: i } }));
    const [amqpReplies, restReplies] = await Promise.all([withTimeout(Promise.all(amqpPuts), 20_000, 'AMQP puts'), Promise.all(restPuts)]);
    for (const reply of amqpReplies) assert.equal(reply.ok, true, JSON.stringify(reply));
    for (const reply of restReplies) assert.equal(reply.status, 201);
    // A change through either front is read through the other.
    assert.equal(json<{ attributes: { n: number } }>(await call(server.url, 'GET', '/v1/spaces/users/objects/amqp7')).attributes.n, 7);
    const got = await broker.call({ op: 'get', space: 'users', key: 'rest9' });
    assert.equal(got.ok, true);
    assert.deepEqual(got.attributes, { n: 9, name: '' });
    // Failures carry the catalogue's codes, as on every front.
    const missing = (await broker.call({ op: 'get', space: 'users', key: 'nobody' })) as { ok: boolean; error: { code: string; version: number; message: string } };
    assert.deepEqual([missing.ok, missing.error.code, missing.error.version], [false, 'not_found', 0]);
    assert.equal(((await broker.call({ op: 'get', space: 'nope', key: 'x' })).error as { code: string }).code, 'unknown_space');
    assert.equal(((await broker.call(undefined, '{not json')).error as { code: string }).code, 'bad_request');
    const cas = await broker.call({ op: 'compare_and_swap', space: 'users', key: 'amqp1', version: 1, attributes: { n: 0 } });
    assert.equal((cas.error as { code: string }).code, 'cmp_fail');
  });

  it('publishes every change, from either front, to the exchange: <space>.<op>, persistent, seq header, in seq order', async () => {
    await broker.call({ op: 'put', space: 'users', key: 'last-amqp', attributes: { n: 1 } });
    await call(server.url, 'DELETE', '/v1/spaces/users/objects/rest3');
    await until('the last events', () => broker.events.some((e) => e.routingKey === 'users.del'));
    const events = broker.events;
    assert.equal(events[0]?.routingKey, 'users.add_space');
    for (const event of events) {
      assert.equal(event.seqHeader, event.body.seq);
      assert.equal(event.persistent, true);
      assert.equal(event.routingKey, `${event.body.space}.${event.body.op}`);
    }
    for (let i = 1; i < events.length; i++) assert.ok((events[i]?.body.seq ?? 0) > (events[i - 1]?.body.seq ?? 0), 'seq order');
    const keys = new Set(events.map((e) => e.body.key));
    for (let i = 0; i < 50; i++) assert.ok(keys.has(`amqp${i}`) && keys.has(`rest${i}`), `both fronts' writes of ${i} were published`);
    assert.deepEqual(events.find((e) => e.body.key === 'rest3' && e.body.op === 'del')?.body.attributes, null);
  });

  it('a watcher over SSE sees a change made through AMQP', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/events?space=users&key=watched`, { signal: controller.signal });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await broker.call({ op: 'put', space: 'users', key: 'watched', attributes: { n: 42 } });
    let text = '';
    while (!text.includes('"key":"watched"')) {
      const { value, done } = await withTimeout(reader.read(), 10_000, 'the SSE event');
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const event = /id: (\d+)\nevent: change\ndata: (.*)\n/.exec(text);
    assert.ok(event, text);
    const data = JSON.parse(event[2] as string) as { seq: number; op: string; attributes: unknown };
    assert.equal(data.seq, Number(event[1]));
    assert.deepEqual([data.op, data.attributes], ['put', { n: 42, name: '' }]);
    controller.abort();
  });
});
