// Proves the per-token event streams of the AMQP front (docs/events.md): a `watch` request on the
// RPC queue is authorized like a WebSocket watch and answered with a queue of the server's that
// carries only what the token may read; no token, a bad token or one without the right gets a coded
// refusal reply; a revoked token's stream ends with a last `watch_end` message; and the stream's
// bounds (amqpWatchQueueMessagesMax, amqpWatchIdleMs) end a stream whose subscriber falls behind or
// never comes, deleting its queue. Skips with one line when RabbitMQ is not there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { makeLimits } from '@spacekv/core';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { BROKER_URL, TestBroker, brokerMissing, uniqueNames } from '../helpers/amqp.js';
import { ROOT_SECRET, bearer, createToken } from '../helpers/auth.js';
import { call, expectOk, json } from '../helpers/http.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const missing = await brokerMissing();
const LIMITS = makeLimits({ amqpWatchQueueMessagesMax: 5 });
/**
 * The idle test's server sweeps every second: a consumer must be there within a second of the
 * watch reply (the sweep needs two looks without one), which a loaded machine still manages.
 */
const IDLE_LIMITS = makeLimits({ amqpWatchIdleMs: 1_000 });

interface StreamMessage {
  readonly type: string;
  readonly body: { readonly seq?: number; readonly space?: string; readonly key?: string; readonly error?: { code: string } };
}

function code(reply: Record<string, unknown>): string {
  return reply.ok === true ? 'ok' : String((reply.error as { code?: string }).code);
}

/** Whether the broker still has `queue` (a failed passive declare closes its channel: one channel per look). */
async function queueExists(model: ChannelModel, queue: string): Promise<boolean> {
  const channel = await model.createChannel();
  channel.on('error', () => {});
  try {
    await channel.checkQueue(queue);
    await channel.close();
    return true;
  } catch {
    return false;
  }
}

async function startAmqpServer(dataDir: string, names: { queue: string; exchange: string }, limits: typeof LIMITS): Promise<RunningServer> {
  const server = await startServer({
    ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', amqpUrl: BROKER_URL, amqpRpcQueue: names.queue, amqpExchange: names.exchange,
    auth: 'on', rootToken: ROOT_SECRET, limits,
  });
  await withTimeout((async () => {
    while (json<{ parts?: { amqp: string } }>(await call(server.url, 'GET', '/healthz', { headers: bearer(ROOT_SECRET) })).parts?.amqp !== 'ok') await sleep(10);
  })(), 20_000, 'the AMQP tasks to run');
  for (const space of ['wa', 'wb']) {
    expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: `space ${space} key k attributes int n` }, headers: bearer(ROOT_SECRET) }), 201);
  }
  return server;
}

/** A server with tokens on an AMQP broker of its own names, a test broker connection, and a consumer channel. */
function streamsFixture(prefix: string, limits: typeof LIMITS) {
  const names = uniqueNames(prefix);
  const fixture = { server: undefined as unknown as RunningServer, broker: undefined as unknown as TestBroker, model: undefined as unknown as ChannelModel, consumer: undefined as unknown as Channel };
  let dataDir = '';
  before(async () => {
    dataDir = makeTempDir(`amqp-${prefix}`);
    fixture.broker = await TestBroker.open(names);
    fixture.model = await amqp.connect(BROKER_URL);
    fixture.consumer = await fixture.model.createChannel();
    fixture.server = await startAmqpServer(dataDir, names, limits);
  });
  after(async () => {
    await fixture.server?.close();
    await fixture.model?.close().catch(() => {});
    await fixture.broker?.close();
    removeDir(dataDir);
  });
  const put = async (space: string, key: string) =>
    expectOk(await call(fixture.server.url, 'PUT', `/v1/spaces/${space}/objects/${key}`, { body: { n: 1 }, headers: bearer(ROOT_SECRET) }), 201);
  const watch = (fields: Record<string, unknown>, token?: string) =>
    withTimeout(fixture.broker.call({ op: 'watch', ...fields }, undefined, token === undefined ? undefined : { authorization: `Bearer ${token}` }), 10_000, 'a watch reply');
  /** Consume a stream's queue, recording every message in order. */
  const consume = async (queue: string): Promise<StreamMessage[]> => {
    const messages: StreamMessage[] = [];
    await fixture.consumer.consume(queue, (message) => {
      if (message) messages.push({ type: String(message.properties.type), body: JSON.parse(message.content.toString('utf8')) as StreamMessage['body'] });
    }, { noAck: true });
    return messages;
  };
  return { fixture, put, watch, consume };
}

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  await withTimeout((async () => {
    while (!(await done())) await sleep(10);
  })(), 15_000, what);
}

describe('AMQP event streams per token', { skip: missing }, () => {
  const { fixture, put, watch, consume } = streamsFixture('watch', LIMITS);

  it('refuses a watch with a coded reply: no token, a bad token, a token without watch on the space', async () => {
    assert.equal(code(await watch({ space: 'wa' })), 'unauthenticated');
    assert.equal(code(await watch({ space: 'wa' }, 'skv1_garbage')), 'unauthenticated');
    const watcherOfA = (await createToken(fixture.server.url, { ops: ['watch'], spaces: ['wa'] })).token;
    assert.equal(code(await watch({ space: 'wb' }, watcherOfA)), 'forbidden');
    assert.equal(code(await watch({}, watcherOfA)), 'forbidden', 'a watch on every space needs watch on every space');
    const readerOfA = (await createToken(fixture.server.url, { ops: ['read'], spaces: ['wa'] })).token;
    assert.equal(code(await watch({ space: 'wa' }, readerOfA)), 'forbidden', 'read is not watch');
    assert.equal(code(await watch({ space: 'nope' }, ROOT_SECRET)), 'unknown_space');
  });

  it('a watch-scoped token for space wa receives the events of wa in order and never one of wb', async () => {
    const token = (await createToken(fixture.server.url, { ops: ['watch'], spaces: ['wa'] })).token;
    const reply = await watch({ space: 'wa' }, token);
    assert.equal(code(reply), 'ok');
    assert.match(String(reply.queue), /^spacekv\.watch\./);
    const messages = await consume(String(reply.queue));
    await put('wb', 'b1');
    await put('wa', 'a1');
    await put('wb', 'b2');
    await put('wa', 'a2');
    await put('wb', 'b3');
    await put('wa', 'last');
    await until('the last event of wa', () => messages.some((m) => m.body.key === 'last'));
    await put('wb', 'after');
    expectOk(await call(fixture.server.url, 'PUT', '/v1/spaces/wa/objects/fence', { body: { n: 1 }, headers: bearer(ROOT_SECRET) }), 201);
    await until('the fence event of wa', () => messages.some((m) => m.body.key === 'fence'));
    assert.deepEqual(messages.map((m) => m.body.key), ['a1', 'a2', 'last', 'fence']);
    assert.ok(messages.every((m) => m.type === 'change' && m.body.space === 'wa'));
    const seqs = messages.map((m) => m.body.seq as number);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  });

  it('a revoked token ends its stream with a last watch_end message', async () => {
    const created = await createToken(fixture.server.url, { ops: ['watch'], spaces: ['wa'] });
    const reply = await watch({ space: 'wa' }, created.token);
    const messages = await consume(String(reply.queue));
    expectOk(await call(fixture.server.url, 'DELETE', `/v1/tokens/${created.id}`, { headers: bearer(ROOT_SECRET) }));
    await put('wa', 'after-revoke');
    await until('the watch_end message', () => messages.some((m) => m.type === 'watch_end'));
    assert.deepEqual(messages.map((m) => [m.type, m.body.error?.code]), [['watch_end', 'unauthenticated']], 'no event after the revocation');
  });

  it('a stream whose queue reaches amqpWatchQueueMessagesMax unread ends and its queue is deleted', async () => {
    const reply = await watch({ space: 'wb' }, ROOT_SECRET);
    const queue = String(reply.queue);
    // A consumer that takes one message and never acks it: present (so the idle sweep leaves the
    // stream alone) but reading nothing more, so the queue fills.
    const slow = await fixture.model.createChannel();
    await slow.prefetch(1);
    let cancelled = false;
    await slow.consume(queue, (message) => {
      if (message === null) cancelled = true;
    }, { noAck: false });
    for (let i = 0; i < LIMITS.amqpWatchQueueMessagesMax + 3; i++) await put('wb', `full${i}`);
    await until('the slow consumer to be cancelled by the deletion of the full queue', () => cancelled);
    assert.equal(await queueExists(fixture.model, queue), false);
    await slow.close().catch(() => {});
  });

});

describe('AMQP event streams per token: the idle sweep', { skip: missing }, () => {
  const { fixture, put, watch, consume } = streamsFixture('watch-idle', IDLE_LIMITS);

  it('a stream whose queue has no consumer for amqpWatchIdleMs ends and its queue is deleted; a consumed one stays', async () => {
    const idle = String((await watch({ space: 'wb' }, ROOT_SECRET)).queue);
    const consumed = String((await watch({ space: 'wb' }, ROOT_SECRET)).queue);
    const messages = await consume(consumed);
    await until('the idle queue to be deleted', async () => !(await queueExists(fixture.model, idle)));
    await put('wb', 'still-served');
    await until('the consumed stream to carry on', () => messages.some((m) => m.body.key === 'still-served'));
  });
});
