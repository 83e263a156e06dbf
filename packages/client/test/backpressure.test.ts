/**
 * Proves that a client which never reads cannot grow the server's memory without bound
 * (docs/protocol.md "Flow control"): with a small sendBufferBytesMax, the server stops reading the
 * slow reader's requests once its replies back up (the count of requests it executed for that
 * connection stops growing, far below what was sent), while another client on the same server is
 * still answered; once the slow reader reads again, every one of its requests is answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Operation, Result } from '@spacekv/core';
import { type SpacekvClient, connect } from '../src/index.js';
import { RawClient, type TestServer, closeClient, startTestServer, teardown, withTimeout } from './support.js';

const VALUE_BYTES = 256 * 1024;
const REQUESTS = 200; // 50 MB of replies if nothing held the server back
const PADDING = ' '.repeat(4_000); // a few requests per TCP read, as a stream of separate frames gives
const SAFETY_CAP = 120; // past this many executed reads the server is not bounded: stop feeding it

describe('a slow reader', () => {
  let server: TestServer;
  let fast: SpacekvClient;
  let slow: RawClient | undefined;

  before(async () => {
    server = await startTestServer({ sendBufferBytesMax: 64 * 1024 });
    fast = await withTimeout(connect(server.url), 5_000, 'connect');
    await fast.addSpace('space blobs key k attributes string s');
    await fast.put('blobs', 'big', { s: 'x'.repeat(VALUE_BYTES) });
    await fast.put('blobs', 'small', { s: 'y' });
  });

  after(async () => {
    await teardown(() => slow?.terminate(), () => closeClient(fast), () => server?.stop());
  });

  /** Run `count` sequential round trips on the fast client: each must complete, bounded. */
  async function roundTrips(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const read = await withTimeout(fast.get('blobs', 'small'), 5_000, `round trip ${i} of the fast client`);
      assert.equal(read?.attributes.s, 'y');
    }
  }

  it('stops being read once its replies back up, while another client is served', async () => {
    const engine = server.server.engine;
    const read = engine.read;
    let executed = 0;
    let capped = true;
    engine.read = (op: Operation): Result | Promise<Result> => {
      if ('key' in op && op.key === 'big' && ++executed > SAFETY_CAP && capped) slow?.terminate();
      return read.call(engine, op);
    };
    try {
      const raw = await RawClient.open(server.url);
      slow = raw;
      raw.ws.pause(); // stop reading: replies pile up in the kernel, then in the server
      for (let id = 0; id < REQUESTS; id++) raw.send(`{"id":${id},"op":"get","space":"blobs","key":"big"}${PADDING}`);

      await roundTrips(50);
      const afterFirst = executed;
      await roundTrips(50);
      const afterSecond = executed;
      assert.ok(afterFirst > 0, 'the server read some of the slow reader\'s requests');
      assert.ok(afterFirst <= SAFETY_CAP, `the server executed ${afterFirst} of ${REQUESTS} reads for a client that reads nothing`);
      assert.equal(afterSecond, afterFirst, 'the server stopped reading the slow reader');
      assert.equal(raw.replies.size, 0, 'the slow reader has read nothing');

      capped = false;
      raw.ws.resume();
      const replies = await raw.repliesFor(Array.from({ length: REQUESTS }, (_, id) => id), 30_000);
      assert.ok(replies.every((r) => r.ok && (r.attributes as { s: string }).s.length === VALUE_BYTES), 'every request was answered in full');
      assert.equal(executed, REQUESTS);
    } finally {
      engine.read = read;
    }
  });
});
