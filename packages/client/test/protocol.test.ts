/**
 * Proves the WebSocket protocol's handling of peers that do not follow it (docs/protocol.md),
 * using a raw `ws` connection: the hello carries protocol 1 and the limits; a handshake without
 * the subprotocol is refused with HTTP 400 and a wrong path with 404; a binary frame closes 1003,
 * non-JSON 1007, a request without an id 1008 (each after an error frame) and a frame past
 * requestBytesMax 1009; a bad request inside a good frame is answered under its id and the
 * connection stays usable; requests past inflightRequestsMax are answered `overloaded` and change
 * nothing, while the real client queues locally and never sees `overloaded`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { SUBPROTOCOLS } from '@spacekv/core';
import { type SpacekvClient, connect } from '../src/index.js';
import { RawClient, type TestServer, closeClient, refusedHandshake, startTestServer, teardown, withTimeout, wsUrl } from './support.js';

const REQUEST_BYTES_MAX = 64 * 1024;
const INFLIGHT_MAX = 8;

describe('the WebSocket protocol with a misbehaving peer', () => {
  let server: TestServer;
  const raws: RawClient[] = [];

  async function open(): Promise<RawClient> {
    const raw = await RawClient.open(server.url);
    raws.push(raw);
    return raw;
  }

  before(async () => {
    server = await startTestServer({ requestBytesMax: REQUEST_BYTES_MAX, inflightRequestsMax: INFLIGHT_MAX });
    const raw = await open();
    raw.send({ id: 1, op: 'add_space', schema: 'space things key k attributes int n, string s' });
    const [reply] = await raw.repliesFor([1]);
    assert.equal(reply?.ok, true, JSON.stringify(reply));
  });

  after(async () => {
    await teardown(() => Promise.all(raws.map((raw) => raw.close())), () => server?.stop());
  });

  it('says hello first: protocol 1, the server, the heartbeat and the limits', async () => {
    const raw = await open();
    assert.equal(raw.ws.protocol, 'spacekv.v1');
    assert.equal(raw.hello?.type, 'hello');
    assert.equal(raw.hello?.protocol, 1);
    assert.match(raw.hello?.server ?? '', /^spacekv\//);
    assert.equal(typeof raw.hello?.heartbeatIntervalMs, 'number');
    assert.deepEqual(raw.hello?.limits, { inflightRequestsMax: INFLIGHT_MAX, requestBytesMax: REQUEST_BYTES_MAX });
    assert.deepEqual(raw.frames, [], 'nothing but the hello before any request');
  });

  it('selects spacekv.v1 among the subprotocols offered', async () => {
    const ws = new WebSocket(wsUrl(server.url), ['spacekv.v99', ...SUBPROTOCOLS, 'chat']);
    const raw = new RawClient(ws);
    raws.push(raw);
    await raw.waitFor(() => raw.hello !== undefined, 'the hello');
    assert.equal(ws.protocol, 'spacekv.v1');
  });

  it('refuses a handshake without the subprotocol with HTTP 400 and a JSON error', async () => {
    for (const protocols of [[], ['spacekv.v2'], ['chat']]) {
      const refusal = await refusedHandshake(wsUrl(server.url), protocols);
      assert.equal(refusal.status, 400, `offering ${JSON.stringify(protocols)}`);
      const body = JSON.parse(refusal.body) as { ok: boolean; error: { code: string } };
      assert.equal(body.ok, false);
      assert.equal(body.error.code, 'bad_request');
    }
  });

  it('refuses a handshake on another path with HTTP 404', async () => {
    for (const path of ['/v1/wss', '/', '/v2/ws']) {
      const refusal = await refusedHandshake(wsUrl(server.url, path), SUBPROTOCOLS);
      assert.equal(refusal.status, 404, path);
      assert.equal((JSON.parse(refusal.body) as { error: { code: string } }).error.code, 'no_route');
    }
  });

  it('refuses a connection past connectionsMax with HTTP 503 overloaded', async () => {
    const small = await startTestServer({ connectionsMax: 2 });
    const held: RawClient[] = [];
    try {
      held.push(await RawClient.open(small.url), await RawClient.open(small.url));
      const refusal = await refusedHandshake(wsUrl(small.url), SUBPROTOCOLS);
      assert.equal(refusal.status, 503);
      assert.equal((JSON.parse(refusal.body) as { error: { code: string } }).error.code, 'overloaded');
      const first = held.shift();
      await first?.close();
      // A slot frees once the server has seen the close, which may be a moment after the client has.
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          held.push(await RawClient.open(small.url));
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
        }
      }
    } finally {
      await Promise.all(held.map((raw) => raw.close()));
      await small.stop();
    }
  });

  it('closes with 1003 on a binary frame, after an error frame', async () => {
    const raw = await open();
    raw.ws.send(Buffer.from('{"id":1,"op":"list_spaces"}'), { binary: true });
    const close = await raw.closeInfo();
    assert.equal(close.code, 1003);
    assert.equal(raw.errorFrames.length, 1, 'an error frame came before the close');
    assert.equal(raw.errorFrames[0]?.error.code, 'bad_request');
    assert.equal(raw.replies.size, 0);
  });

  it('closes with 1007 on a text frame that is not JSON, after an error frame', async () => {
    const raw = await open();
    raw.send('{"id":1,"op":"list_spaces"');
    const close = await raw.closeInfo();
    assert.equal(close.code, 1007);
    assert.equal(raw.errorFrames[0]?.error.code, 'bad_request');
  });

  for (const [what, request] of [
    ['without an id', { op: 'list_spaces' }],
    ['with a negative id', { id: -1, op: 'list_spaces' }],
    ['with a string id', { id: '1', op: 'list_spaces' }],
    ['that is not an object', 42],
  ] as const) {
    it(`closes with 1008 on a request ${what}, after an error frame`, async () => {
      const raw = await open();
      raw.send([request]);
      const close = await raw.closeInfo();
      assert.equal(close.code, 1008);
      assert.equal(raw.errorFrames[0]?.error.code, 'bad_request');
    });
  }

  it('closes with 1009 on a frame larger than requestBytesMax', async () => {
    const raw = await open();
    raw.send({ id: 1, op: 'put', space: 'things', key: 'big', attributes: { s: 'x'.repeat(REQUEST_BYTES_MAX) } });
    const close = await raw.closeInfo();
    assert.equal(close.code, 1009);
    const check = await open();
    check.send({ id: 1, op: 'get', space: 'things', key: 'big' });
    const [reply] = await check.repliesFor([1]);
    assert.deepEqual(reply?.error?.code, 'not_found', 'nothing of the oversized frame was applied');
  });

  it('answers a bad request inside a good frame under its id and stays usable', async () => {
    const raw = await open();
    raw.send([
      { id: 10, op: 'put', space: 'things', key: 'k', attributes: { n: 1 } },
      { id: 11, op: 'get', space: 'nope', key: 'k' },
      { id: 12, op: 'frobnicate', space: 'things', key: 'k' },
      { id: 13, op: 'get', space: 'things', key: 'k', extra: true },
      { id: 14, op: 'put', space: 'things', key: 'k', attributes: { n: 'one' } },
      { id: 15, op: 'mutate', space: 'things', key: 'k', mutations: [{ add: { n: 1 } }] },
      { id: 16, op: 'get', space: 'things', key: 'k' },
    ]);
    const replies = await raw.repliesFor([10, 11, 12, 13, 14, 15, 16]);
    assert.deepEqual(replies.map((r) => (r.ok ? 'ok' : r.error?.code)), [
      'ok', 'unknown_space', 'bad_request', 'bad_request', 'invalid_value', 'ok', 'ok',
    ]);
    assert.deepEqual(replies[6]?.attributes, { n: 2, s: '' }, 'the good requests around the bad ones took effect in order');
    raw.send({ id: 17, op: 'get', space: 'things', key: 'k' });
    const [later] = await raw.repliesFor([17]);
    assert.equal(later?.ok, true, 'the connection is still usable');
    assert.equal(raw.errorFrames.length, 0);
    assert.equal(raw.ws.readyState, WebSocket.OPEN);
  });

  it(`answers requests past inflightRequestsMax (${INFLIGHT_MAX}) with overloaded and applies none of them`, async () => {
    const raw = await open();
    raw.send({ id: 1, op: 'put', space: 'things', key: 'counter', attributes: { n: 0 } });
    await raw.repliesFor([1]);
    const ids = Array.from({ length: 50 }, (_, i) => 100 + i);
    raw.send(ids.map((id) => ({ id, op: 'mutate', space: 'things', key: 'counter', mutations: [{ add: { n: 1 } }] })));
    const replies = await raw.repliesFor(ids);
    const ok = replies.filter((r) => r.ok).length;
    const overloaded = replies.filter((r) => r.error?.code === 'overloaded').length;
    assert.equal(ok + overloaded, 50, 'every reply is a success or overloaded');
    assert.equal(ok, INFLIGHT_MAX, 'the writes within the bound succeeded');
    raw.send({ id: 2, op: 'get', space: 'things', key: 'counter' });
    const [read] = await raw.repliesFor([2]);
    assert.deepEqual((read?.attributes as { n: number }).n, ok, 'the overloaded requests changed nothing');
  });

  it('the client keeps at most inflightRequestsMax on the wire and never sees overloaded', async () => {
    let db: SpacekvClient | undefined;
    try {
      db = await withTimeout(connect(server.url), 5_000, 'connect');
      const client = db;
      await client.put('things', 'queued', { n: 0 });
      const adds = Array.from({ length: 1_000 }, () => client.atomicAdd('things', 'queued', { n: 1 }));
      const read = client.get('things', 'queued');
      await withTimeout(Promise.all(adds), 20_000, '1,000 adds through a window of 8');
      assert.equal((await read)?.attributes.n, 1_000);
    } finally {
      await closeClient(db);
    }
  });

  it('still serves other connections after closing misbehaving ones', async () => {
    const raw = await open();
    raw.send({ id: 1, op: 'list_spaces' });
    const [reply] = await raw.repliesFor([1]);
    assert.equal(reply?.ok, true);
  });
});
