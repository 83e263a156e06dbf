/**
 * Proves ordered pipelining on one connection (docs/architecture.md §4.3, docs/protocol.md "Ordering"):
 * operations issued without awaiting take effect in the order issued (a get right after a put
 * sees the put; 10,000 pipelined atomicAdds then a get read exactly 10,000), requests issued in
 * one tick leave the client in one frame, and a raw frame of 500 requests gets exactly one reply
 * for each id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { type SpacekvClient, connect } from '../src/index.js';
import { RawClient, type TestServer, closeClient, startTestServer, teardown, withTimeout } from './support.js';

const SCHEMA = 'space counters key name attributes int n, string note, set(string) tags';

describe('pipelining over one connection', () => {
  let server: TestServer;
  let db: SpacekvClient;

  before(async () => {
    server = await startTestServer();
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    await db.addSpace(SCHEMA);
  });

  after(async () => {
    await teardown(() => closeClient(db), () => server?.stop());
  });

  it('a get sent right after a put, without awaiting, sees the put', async () => {
    const put = db.put('counters', 'a', { note: 'first', n: 1 });
    const get = db.get('counters', 'a');
    const [written, read] = await withTimeout(Promise.all([put, get]), 10_000, 'put then get');
    assert.ok(read, 'the get found the object the put wrote');
    assert.equal(read.attributes.note, 'first');
    assert.equal(read.version, written.version);
  });

  it('a pipelined sequence of mixed operations takes effect in the order issued', async () => {
    const ops = [
      db.put('counters', 'mix', { n: 5, note: 'x' }),
      db.get('counters', 'mix'),
      db.atomicAdd('counters', 'mix', { n: 2 }),
      db.get('counters', 'mix'),
      db.setAdd('counters', 'mix', { tags: 'b' }),
      db.setAdd('counters', 'mix', { tags: 'a' }),
      db.del('counters', 'mix'),
      db.get('counters', 'mix'),
      db.putIfNotExist('counters', 'mix', { note: 'again' }),
      db.get('counters', 'mix'),
    ] as const;
    const results = await withTimeout(Promise.all(ops), 10_000, 'the mixed pipeline');
    const [, read1, , read2, , tags, , read3, , read4] = results;
    assert.equal(read1?.attributes.n, 5);
    assert.equal(read2?.attributes.n, 7);
    assert.deepEqual(tags.attributes.tags, ['a', 'b']);
    assert.equal(read3, null, 'the get after del sees the deletion');
    assert.deepEqual(read4?.attributes, { n: 0, note: 'again', tags: [] }, 'the get after the re-create sees a fresh object');
  });

  it('10,000 pipelined atomicAdds, then a get, read exactly 10,000', async () => {
    await db.put('counters', 'hits', { n: 0 });
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) adds.push(db.atomicAdd('counters', 'hits', { n: 1 }));
    const read = db.get('counters', 'hits');
    const object = await withTimeout(read, 20_000, 'the get after 10,000 adds');
    assert.equal(object?.attributes.n, 10_000, 'the get took effect after every add sent before it');
    await withTimeout(Promise.all(adds), 20_000, 'the 10,000 adds');
    assert.equal(db.outstanding, 0);
  });

  it('requests issued in one tick leave in one frame', async () => {
    // Record the text of every frame a client-side `ws` socket sends (server-side sockets have no url).
    const proto = WebSocket.prototype as unknown as { send: (this: WebSocket, data: unknown, ...rest: unknown[]) => void };
    const originalSend = proto.send;
    const frames: string[] = [];
    proto.send = function (this: WebSocket, data: unknown, ...rest: unknown[]): void {
      if (this.url) frames.push(String(data));
      originalSend.call(this, data, ...rest);
    };
    try {
      const gets = Array.from({ length: 500 }, () => db.get('counters', 'a'));
      const results = await withTimeout(Promise.all(gets), 10_000, '500 gets');
      assert.ok(results.every((r) => r?.attributes.note === 'first'));
    } finally {
      proto.send = originalSend;
    }
    assert.equal(frames.length, 1, `500 gets issued in one tick left in ${frames.length} frames`);
    const requests = JSON.parse(frames[0] as string) as { id: number; op: string }[];
    assert.equal(requests.length, 500);
    assert.equal(new Set(requests.map((r) => r.id)).size, 500, 'ids are unique among requests in flight');
    assert.ok(requests.every((r) => r.op === 'get'));
  });

  it('a raw frame of 500 requests gets exactly one reply per id, in effect order', async () => {
    const raw = await RawClient.open(server.url);
    try {
      const frame: Record<string, unknown>[] = [{ id: 0, op: 'put', space: 'counters', key: 'raw', attributes: { n: 0 } }];
      for (let id = 1; id < 500; id++) {
        frame.push(id % 2 === 1
          ? { id, op: 'mutate', space: 'counters', key: 'raw', mutations: [{ add: { n: 1 } }] }
          : { id, op: 'get', space: 'counters', key: 'raw' });
      }
      raw.send(frame);
      const replies = await raw.repliesFor(frame.map((r) => r.id as number));
      assert.ok(replies.every((r) => r.ok), 'every request succeeded');
      for (let id = 2; id < 500; id += 2) {
        const attributes = replies[id]?.attributes as { n: number };
        assert.equal(attributes.n, id / 2, `get ${id} sees exactly the ${id / 2} adds sent before it`);
      }
    } finally {
      await raw.close();
    }
  });
});
