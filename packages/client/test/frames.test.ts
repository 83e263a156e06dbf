/**
 * Proves that pipelining never produces a frame the other end refuses (docs/protocol.md: frames
 * are at most requestBytesMax; the hello tells the client that bound): many requests issued in one
 * tick whose total passes requestBytesMax still all succeed, a single request larger than the bound
 * fails `too_large` on its own without taking the operations around it down, and replies to one
 * tick of gets totalling more than 100 MiB (the default frame limit of Node's `ws`) all arrive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type SpacekvClient, SpacekvError, connect } from '../src/index.js';
import { type TestServer, closeClient, startTestServer, teardown, withTimeout } from './support.js';

const REQUEST_BYTES_MAX = 64 * 1024;

describe('frame sizes with a small requestBytesMax', () => {
  let server: TestServer;
  let db: SpacekvClient;

  before(async () => {
    server = await startTestServer({ requestBytesMax: REQUEST_BYTES_MAX });
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    await db.addSpace('space docs key k attributes string body');
  });

  after(async () => {
    await teardown(() => closeClient(db), () => server?.stop());
  });

  it('requests issued in one tick whose total passes requestBytesMax all succeed', async () => {
    const body = 'b'.repeat(1_000); // 100 requests of ~1 KB: about 100 KB in one tick
    const results = await withTimeout(Promise.allSettled(Array.from({ length: 100 }, (_, i) => db.put('docs', `d${i}`, { body }))), 10_000, '100 puts');
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(failures.length, 0, `${failures.length} of 100 puts failed, the first with: ${String(failures[0]?.reason)}`);
  });

  it('a request larger than requestBytesMax fails too_large alone; the requests around it succeed', async () => {
    const before = db.put('docs', 'small-1', { body: 'a' });
    const huge = db.put('docs', 'huge', { body: 'h'.repeat(REQUEST_BYTES_MAX) });
    const afterIt = db.put('docs', 'small-2', { body: 'c' });
    const [first, middle, last] = await withTimeout(Promise.allSettled([before, huge, afterIt]), 10_000, 'three puts');
    assert.equal(first?.status, 'fulfilled', `the put before: ${first?.status === 'rejected' ? String(first.reason) : 'ok'}`);
    assert.equal(last?.status, 'fulfilled', `the put after: ${last?.status === 'rejected' ? String(last.reason) : 'ok'}`);
    assert.ok(middle?.status === 'rejected' && middle.reason instanceof SpacekvError && middle.reason.code === 'too_large',
      `the oversized put fails too_large, got ${middle?.status === 'rejected' ? String(middle.reason) : 'success'}`);
  });
});

describe('reply frames past 100 MiB', () => {
  let server: TestServer;
  let db: SpacekvClient;

  before(async () => {
    server = await startTestServer();
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    await db.addSpace('space docs key k attributes string body');
  });

  after(async () => {
    await teardown(() => closeClient(db), () => server?.stop());
  });

  it('1,900 gets of a 60 KB object issued in one tick (114 MB of replies) all succeed', async () => {
    await db.put('docs', 'wide', { body: 'w'.repeat(60_000) });
    const results = await withTimeout(Promise.allSettled(Array.from({ length: 1_900 }, () => db.get('docs', 'wide'))), 20_000, '1,900 gets');
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(failures.length, 0, `${failures.length} of 1,900 gets failed, the first with: ${String(failures[0]?.reason)}`);
  });
});
