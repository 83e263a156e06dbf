/**
 * Proves HyperDex's asynchronous patterns (seed 004): `loop()` hands out each outstanding operation
 * exactly once (the friend-names example), never one the caller awaited, and rejects `bad_request`
 * when nothing is outstanding; `window()` never has more than `size` operations outstanding (by the
 * client's own accounting and by the server's count of writes in progress), returns failures with
 * `collectFailures`, and otherwise rejects with the first failure and stops issuing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Operation, Result } from '@spacekv/core';
import { ExistsError, type SpaceObject, type SpacekvClient, SpacekvError, UnknownSpaceError, connect } from '../src/index.js';
import { type TestServer, closeClient, startTestServer, teardown, withTimeout } from './support.js';

const FRIENDLISTS = 'space friendlists key username attributes string first, string last, set(string) friends';

/** Assert that `promise` rejects with a SpacekvError of `code`, within a bound. */
async function rejectsWithCode(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(withTimeout(promise, 5_000, what), (error: unknown) => {
    assert.ok(error instanceof SpacekvError, `${what}: expected a SpacekvError, got ${String(error)}`);
    assert.equal(error.code, code, `${what}: ${error.message}`);
    return true;
  });
}

describe('loop()', () => {
  let server: TestServer;
  let db: SpacekvClient;

  before(async () => {
    server = await startTestServer();
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    await db.addSpace(FRIENDLISTS);
    await Promise.all([
      db.put('friendlists', 'jsmith1', { first: 'John', last: 'Smith', friends: ['jd', 'bjones1', 'jj'] }),
      db.put('friendlists', 'jd', { first: 'John', last: 'Doe' }),
      db.put('friendlists', 'bjones1', { first: 'Brian', last: 'Jones' }),
      db.put('friendlists', 'jj', { first: 'John', last: 'Jackson' }),
    ]);
  });

  after(async () => {
    await teardown(() => closeClient(db), () => server?.stop());
  });

  it('rejects with bad_request when nothing is outstanding', async () => {
    assert.equal(db.outstanding, 0);
    await rejectsWithCode(db.loop(), 'bad_request', 'loop() with nothing outstanding');
  });

  it("fetches the friends' first names in parallel (the HyperDex friend-names pattern)", async () => {
    const john = await db.get('friendlists', 'jsmith1');
    const usernames = john?.attributes.friends as string[];
    assert.equal(usernames.length, 3);
    const outstanding = new Set<Promise<unknown>>();
    for (const username of usernames) outstanding.add(db.get('friendlists', username));
    const friends: string[] = [];
    while (outstanding.size > 0) {
      const done = await withTimeout(db.loop(), 5_000, 'loop()');
      assert.ok(outstanding.delete(done.handle), 'loop() returned an operation that was outstanding, and only once');
      assert.ok(done.ok, 'the get succeeded');
      const friend = done.value as SpaceObject;
      assert.equal(await done.handle, friend, 'the handle resolves with the value loop() reported');
      friends.push(friend.attributes.first as string);
    }
    assert.deepEqual(friends.sort(), ['Brian', 'John', 'John']);
    await rejectsWithCode(db.loop(), 'bad_request', 'loop() after every operation was returned');
  });

  it('returns each of 500 outstanding operations exactly once, failures included', async () => {
    const issued = new Set<Promise<unknown>>();
    for (let i = 0; i < 499; i++) issued.add(db.get('friendlists', i % 2 === 0 ? 'jd' : `absent-${i}`));
    const failing = db.get('no_such_space', 'x');
    issued.add(failing);
    const returned = new Set<Promise<unknown>>();
    for (let i = 0; i < 500; i++) {
      const done = await withTimeout(db.loop(), 5_000, `loop() #${i}`);
      assert.ok(issued.has(done.handle), 'loop() returned one of the operations issued');
      assert.ok(!returned.has(done.handle), 'loop() returned no operation twice');
      returned.add(done.handle);
      if (done.handle === failing) {
        assert.equal(done.ok, false);
        assert.ok(!done.ok && done.error instanceof UnknownSpaceError, 'the failure is reported with its typed error');
      } else {
        assert.ok(done.ok, 'gets of present and absent keys succeed (absent reads are null)');
      }
    }
    assert.equal(returned.size, 500);
    await rejectsWithCode(db.loop(), 'bad_request', 'loop() after 500 returned');
  });

  it('does not return an operation the caller awaited before it completed', async () => {
    const awaited = db.get('friendlists', 'jd');
    const looped = db.get('friendlists', 'jj');
    assert.equal((await awaited)?.attributes.first, 'John');
    const done = await withTimeout(db.loop(), 5_000, 'loop()');
    assert.equal(done.handle, looped);
    await rejectsWithCode(db.loop(), 'bad_request', 'loop() after the only unawaited operation');
  });

  it('does not return an operation the caller awaited after it completed', async () => {
    const awaited = db.get('friendlists', 'jd');
    const looped = db.get('friendlists', 'bjones1');
    await withTimeout(db.flush(), 5_000, 'flush()');
    assert.equal(db.outstanding, 0);
    await awaited; // settled before anybody consumed it; awaiting it now consumes it
    const done = await withTimeout(db.loop(), 5_000, 'loop()');
    assert.equal(done.handle, looped);
    await rejectsWithCode(db.loop(), 'bad_request', 'loop() after the only unawaited operation');
  });

  it('wakes a waiting loop() with bad_request when the last outstanding operation is awaited instead', async () => {
    const awaited = db.get('friendlists', 'jd');
    const waiting = db.loop();
    await awaited;
    await rejectsWithCode(waiting, 'bad_request', 'a loop() waiting for an operation that was awaited instead');
  });
});

describe('window()', () => {
  let server: TestServer;
  let db: SpacekvClient;

  before(async () => {
    server = await startTestServer();
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    await db.addSpace('space counters key name attributes int n');
  });

  after(async () => {
    await teardown(() => closeClient(db), () => server?.stop());
  });

  /** Count the writes the server's engine has in progress at once (its view of the window). */
  function watchServerWrites(): { readonly max: () => number; readonly restore: () => void } {
    const engine = server.server.engine;
    const write = engine.write;
    let current = 0;
    let max = 0;
    engine.write = (op: Operation): Promise<Result> => {
      current++;
      max = Math.max(max, current);
      return write.call(engine, op).finally(() => {
        current--;
      });
    };
    return { max: () => max, restore: () => { engine.write = write; } };
  }

  for (const size of [1, 16, 100]) {
    it(`never has more than ${size} operations outstanding`, async () => {
      await db.put('counters', `w${size}`, { n: 0 });
      const serverWrites = watchServerWrites();
      let clientMax = 0;
      try {
        const items = Array.from({ length: 600 }, (_, i) => i);
        const result = await withTimeout(db.window(items, size, () => {
          assert.ok(db.outstanding < size, `a slot is free when fn runs (outstanding ${db.outstanding}, size ${size})`);
          const op = db.atomicAdd('counters', `w${size}`, { n: 1 });
          clientMax = Math.max(clientMax, db.outstanding);
          return op;
        }), 20_000, `window of ${size}`);
        assert.deepEqual(result, { completed: 600, failures: [] });
      } finally {
        serverWrites.restore();
      }
      assert.ok(clientMax <= size, `the client had ${clientMax} outstanding with a window of ${size}`);
      assert.equal(clientMax, size, 'the window was used to the full');
      assert.ok(serverWrites.max() <= size, `the server had ${serverWrites.max()} writes in progress with a window of ${size}`);
      if (size > 1) assert.ok(serverWrites.max() >= 2, 'the server saw more than one write of the window at once');
      assert.equal((await db.get('counters', `w${size}`))?.attributes.n, 600);
      assert.equal(db.outstanding, 0);
    });
  }

  it('with collectFailures tries every item and returns the failures', async () => {
    await Promise.all([db.put('counters', 'taken', { n: 1 }), db.put('counters', 'collected', { n: 0 })]);
    const items = Array.from({ length: 40 }, (_, i) => i);
    const result = await withTimeout(db.window(items, 8, (item) => item % 4 === 1
      ? db.putIfNotExist('counters', 'taken', { n: item })
      : db.atomicAdd('counters', 'collected', { n: 1 }), { collectFailures: true }), 10_000, 'window with collectFailures');
    assert.equal(result.completed, 30);
    assert.deepEqual(result.failures.map((f) => f.index).sort((a, b) => a - b), items.filter((i) => i % 4 === 1));
    for (const failure of result.failures) {
      assert.equal(failure.item, failure.index);
      assert.ok(failure.error instanceof ExistsError, `failure ${failure.index} is an ExistsError`);
    }
    assert.equal((await db.get('counters', 'collected'))?.attributes.n, 30);
  });

  it('without collectFailures rejects with the first failure and stops issuing (window of 1)', async () => {
    await db.put('counters', 'stop1', { n: 0 });
    let calls = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    await assert.rejects(withTimeout(db.window(items, 1, (item) => {
      calls++;
      return item === 5 ? db.putIfNotExist('counters', 'taken', { n: 0 }) : db.atomicAdd('counters', 'stop1', { n: 1 });
    }), 10_000, 'window of 1 with a failure'), (error: unknown) => error instanceof ExistsError);
    assert.equal(calls, 6, 'nothing was issued after the failing item');
    assert.equal((await db.get('counters', 'stop1'))?.attributes.n, 5);
    assert.equal(db.outstanding, 0, 'the window rejected only after its operations settled');
  });

  it('without collectFailures stops issuing soon after the first failure (window of 4)', async () => {
    await db.put('counters', 'stop4', { n: 0 });
    let calls = 0;
    const items = Array.from({ length: 500 }, (_, i) => i);
    await assert.rejects(withTimeout(db.window(items, 4, (item) => {
      calls++;
      return item === 10 ? db.putIfNotExist('counters', 'taken', { n: 0 }) : db.atomicAdd('counters', 'stop4', { n: 1 });
    }), 10_000, 'window of 4 with a failure'), (error: unknown) => error instanceof ExistsError);
    assert.ok(calls >= 11 && calls <= 11 + 4, `${calls} of 500 items were issued; the failure was item 10 in a window of 4`);
    assert.equal(db.outstanding, 0, 'the window rejected only after its operations settled');
  });

  it('refuses a size that is not a positive integer', async () => {
    await assert.rejects(db.window([1], 0, () => Promise.resolve()), RangeError);
  });
});
