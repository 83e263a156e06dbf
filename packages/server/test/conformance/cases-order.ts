// Proves the engine's ordering and batching contract (docs/architecture.md §4.1, §4.3, §4.4, §4.7) holds over
// every store: writes sent in one tick really share one group-commit batch, and each member of it
// gets its own outcome (a failing member neither rolls back nor half-applies another); on one
// session operations on one key take effect in the order sent, so pipelined reads see earlier
// writes of their key, while a read of another key does not wait for a commit the case holds back;
// a tx, a search, a count and a list see every write sent before them; several sessions
// interleave without loss; past inflightRequestsMax or writeQueueDepthMax an operation fails
// `overloaded` and nothing of it applies.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { makeLimits, type Json, type Result } from '@spacekv/core';
import {
  INT64_MAX, assertIncreasing, attributeOf, conformanceCase, expectFault, expectFulfilled, expectRejected, expectResult, type Fixture,
  pageObjects, type SuiteContext, writtenVersion,
} from './fixture.js';

async function counter(fx: Fixture, key: string): Promise<Json | undefined> {
  return attributeOf(await fx.run({ op: 'get', space: 'c', key }), 'n');
}

export function orderCases(ctx: SuiteContext): void {
  describe('group commit', () => {
    conformanceCase(ctx, 'members of one batch succeed or fail on their own', async (fx) => {
      await fx.addSpace('space s key k attributes int n, string note');
      await fx.addSpace('space gone key k attributes int n');
      const vA = writtenVersion(await fx.run({ op: 'put', space: 's', key: 'a', attributes: { n: 1 } }));
      const vBig = writtenVersion(await fx.run({ op: 'put', space: 's', key: 'big', attributes: { n: INT64_MAX } }));
      const ops = [
        fx.parse({ op: 'put', space: 's', key: 'x', attributes: { n: 10 } }),
        fx.parse({ op: 'put_if_not_exist', space: 's', key: 'a', attributes: { n: 99 } }), // exists
        fx.parse({ op: 'put', space: 's', key: 'y', attributes: { n: 20 } }),
        fx.parse({ op: 'mutate', space: 's', key: 'big', mutations: [{ set: { note: 'half' } }, { add: { n: 1 } }] }), // overflow
        fx.parse({ op: 'rm_space', space: 'gone' }),
        fx.parse({ op: 'put', space: 'gone', key: 'g', attributes: { n: 1 } }), // its space is gone by now: fault
        fx.parse({ op: 'mutate', space: 's', key: 'a', mutations: [{ add: { n: 10 } }] }),
        fx.parse({ op: 'del', space: 's', key: 'nobody' }), // not_found
        fx.parse({ op: 'put', space: 's', key: 'z', attributes: { n: 30 } }),
      ];
      const batchesBefore = fx.batchCount;
      const outcomes = await Promise.allSettled(ops.map((op) => fx.session.execute(op)));

      assert.deepEqual(fx.store.batches.slice(batchesBefore).map((b) => b.length), [ops.length], 'all members shared one batch');
      const vX = expectResult(expectFulfilled(outcomes[0]), { ok: true, kind: 'written', key: 'x', created: true });
      expectResult(expectFulfilled(outcomes[1]), { ok: false, code: 'exists', version: vA });
      const vY = expectResult(expectFulfilled(outcomes[2]), { ok: true, kind: 'written', key: 'y', created: true });
      expectResult(expectFulfilled(outcomes[3]), { ok: false, code: 'overflow', version: vBig });
      expectResult(expectFulfilled(outcomes[4]), { ok: true, kind: 'space_removed', space: 'gone' });
      await expectRejected(outcomes[5], 'unknown_space');
      const vA2 = expectResult(expectFulfilled(outcomes[6]), { ok: true, kind: 'written', key: 'a', created: false, attributes: { n: 11, note: '' } });
      expectResult(expectFulfilled(outcomes[7]), { ok: false, code: 'not_found', version: 0 });
      const vZ = expectResult(expectFulfilled(outcomes[8]), { ok: true, kind: 'written', key: 'z', created: true });
      assertIncreasing([vBig, vX, vY, vA2, vZ]);

      expectResult(await fx.run({ op: 'get', space: 's', key: 'big' }), { ok: true, kind: 'object', key: 'big', version: vBig, attributes: { n: INT64_MAX, note: '' } });
      expectResult(await fx.run({ op: 'get', space: 's', key: 'a' }), { ok: true, kind: 'object', key: 'a', version: vA2, attributes: { n: 11, note: '' } });
      for (const [key, n, version] of [['x', 10, vX], ['y', 20, vY], ['z', 30, vZ]] as const) {
        expectResult(await fx.run({ op: 'get', space: 's', key }), { ok: true, kind: 'object', key, version, attributes: { n, note: '' } });
      }
      assert.equal(fx.engine.space('gone'), undefined);
    });

    conformanceCase(ctx, 'a fault inside a batch (too_large) rejects its member alone', async (fx) => {
      await fx.addSpace('space s key k attributes string v');
      const ops = [
        fx.parse({ op: 'put', space: 's', key: 'a', attributes: { v: 'ok' } }),
        fx.parse({ op: 'put', space: 's', key: 'b', attributes: { v: 'x'.repeat(200) } }),
        fx.parse({ op: 'put', space: 's', key: 'c', attributes: { v: 'ok' } }),
      ];
      const batchesBefore = fx.batchCount;
      const outcomes = await Promise.allSettled(ops.map((op) => fx.session.execute(op)));
      assert.deepEqual(fx.store.batches.slice(batchesBefore).map((b) => b.length), [3]);
      const vA = expectResult(expectFulfilled(outcomes[0]), { ok: true, kind: 'written', key: 'a', created: true });
      await expectRejected(outcomes[1], 'too_large');
      const vC = expectResult(expectFulfilled(outcomes[2]), { ok: true, kind: 'written', key: 'c', created: true });
      assert.ok(vC > vA);
      expectResult(await fx.run({ op: 'get', space: 's', key: 'b' }), { ok: false, code: 'not_found', version: 0 });
      expectResult(await fx.run({ op: 'get', space: 's', key: 'c' }), { ok: true, kind: 'object', key: 'c', version: vC, attributes: { v: 'ok' } });
    }, { limits: makeLimits({ valueBytesMax: 100 }) });

    conformanceCase(ctx, 'put, get, put, get... of one key sent without waiting share one batch, each get seeing the put before it', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      await fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: -1 } });
      const release = fx.store.holdCommits();
      const blocker = fx.run({ op: 'put', space: 'c', key: 'other', attributes: { n: 0 } }); // holds the committer busy
      await new Promise((resolve) => setImmediate(resolve));
      const batchesBefore = fx.batchCount;
      const pairs = Array.from({ length: 10 }, (_, n) => [
        fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n } }),
        fx.run({ op: 'get', space: 'c', key: 'a' }),
      ]);
      const missing = fx.run({ op: 'get', space: 'c', key: 'a-missing' });
      release();
      await blocker;
      const results = await Promise.all(pairs.flat());
      for (let n = 0; n < 10; n++) {
        const v = writtenVersion(results[2 * n] as Result);
        expectResult(results[2 * n + 1] as Result, { ok: true, kind: 'object', key: 'a', version: v, attributes: { n } });
      }
      expectResult(await missing, { ok: false, code: 'not_found', version: 0 });
      // The first batch held only the blocker; every put and get of a waited for it and rode the next one.
      assert.deepEqual(fx.store.batches.slice(batchesBefore - 1).map((b) => b.length), [1, 20]);
      assert.equal(fx.store.batches[batchesBefore - 1]?.[0]?.op.op, 'put');
    });

    conformanceCase(ctx, 'a batch never exceeds batchWritesMax, and every write of a long burst applies', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      await fx.run({ op: 'put', space: 'c', key: 'n', attributes: {} });
      const batchesBefore = fx.batchCount;
      const burst = Array.from({ length: 20 }, () => fx.run({ op: 'mutate', space: 'c', key: 'n', mutations: [{ add: { n: 1 } }] }));
      const results = await Promise.all(burst);
      assert.deepEqual(results.map((r) => attributeOf(r, 'n')), Array.from({ length: 20 }, (_, i) => i + 1));
      const sizes = fx.store.batches.slice(batchesBefore).map((b) => b.length);
      assert.deepEqual(sizes, [8, 8, 4]);
    }, { limits: makeLimits({ batchWritesMax: 8 }) });
  });

  describe('per-key order', () => {
    conformanceCase(ctx, 'a get sent right after a put, without waiting, sees the put', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      const put = fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: 7 } });
      const get = fx.run({ op: 'get', space: 'c', key: 'a' });
      const v = writtenVersion(await put);
      expectResult(await get, { ok: true, kind: 'object', key: 'a', version: v, attributes: { n: 7 } });
    });

    conformanceCase(ctx, '1,000 pipelined mutate add 1, then a get, reads exactly 1,000', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      await fx.run({ op: 'put', space: 'c', key: 'n', attributes: {} });
      const adds = Array.from({ length: 1000 }, () => fx.run({ op: 'mutate', space: 'c', key: 'n', mutations: [{ add: { n: 1 } }] }));
      const get = fx.run({ op: 'get', space: 'c', key: 'n' });
      const results = await Promise.all(adds);
      const versions = results.map(writtenVersion);
      assertIncreasing(versions);
      // Each add saw every add sent before it: the returned counts are 1, 2, ..., 1000 in order.
      results.forEach((r, i) => expectResult(r, { ok: true, kind: 'written', key: 'n', created: false, version: versions[i], attributes: { n: i + 1 } }));
      expectResult(await get, { ok: true, kind: 'object', key: 'n', version: versions[999], attributes: { n: 1000 } });
    });

    conformanceCase(ctx, 'a read queued behind writes is answered after them, and sees the last', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      const answered: string[] = [];
      const track = (name: string, p: Promise<Result>): Promise<Result> => p.then((r) => {
        answered.push(name);
        return r;
      });
      const w1 = track('put 1', fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: 1 } }));
      const w2 = track('put 2', fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: 2 } }));
      const r1 = track('get', fx.run({ op: 'get', space: 'c', key: 'a' }));
      const w3 = track('put 3', fx.run({ op: 'put', space: 'c', key: 'b', attributes: { n: 3 } }));
      const r2 = track('get b', fx.run({ op: 'get', space: 'c', key: 'b' }));
      const [put1, put2, , put3] = await Promise.all([w1, w2, r1, w3, r2]);
      const [v1, v2, v3] = [put1, put2, put3].map((r) => writtenVersion(r as Result));
      assertIncreasing([v1 as number, v2 as number, v3 as number]);
      assert.deepEqual(answered, ['put 1', 'put 2', 'get', 'put 3', 'get b']);
      expectResult(await r1, { ok: true, kind: 'object', key: 'a', version: v2, attributes: { n: 2 } });
      expectResult(await r2, { ok: true, kind: 'object', key: 'b', version: v3, attributes: { n: 3 } });
    });

    conformanceCase(ctx, 'a failing operation in a pipeline leaves the order of the rest intact', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      await fx.addSpace('space gone key k');
      const lost = fx.parse({ op: 'get', space: 'gone', key: 'x' });
      await fx.run({ op: 'rm_space', space: 'gone' });
      const answered: string[] = [];
      const track = (name: string, p: Promise<Result>): Promise<Result> => p.then(
        (r) => (answered.push(name), r),
        (err: unknown) => (answered.push(`${name} failed`), Promise.reject(err)),
      );
      const ops = [
        track('put a', fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: 1 } })),
        track('get gone', fx.session.execute(lost)),
        track('get a', fx.run({ op: 'get', space: 'c', key: 'a' })),
        track('bad mutate', fx.run({ op: 'mutate', space: 'c', key: 'a', mutations: [{ div: { n: 0 } }] })),
        track('get a again', fx.run({ op: 'get', space: 'c', key: 'a' })),
        track('put b', fx.run({ op: 'put', space: 'c', key: 'b', attributes: { n: 2 } })),
        track('get b', fx.run({ op: 'get', space: 'c', key: 'b' })),
      ];
      const outcomes = await Promise.allSettled(ops);
      // Per key, answers follow the order sent; the failure holds nothing up.
      assert.deepEqual(answered.filter((name) => name.endsWith(' a') || name.includes(' a ') || name === 'bad mutate'), ['put a', 'get a', 'bad mutate', 'get a again']);
      assert.deepEqual(answered.filter((name) => name.endsWith(' b')), ['put b', 'get b']);
      assert.equal(answered[0], 'get gone failed');
      await expectRejected(outcomes[1], 'unknown_space');
      const vA = writtenVersion(expectFulfilled(outcomes[0]));
      expectResult(expectFulfilled(outcomes[2]), { ok: true, kind: 'object', key: 'a', version: vA, attributes: { n: 1 } });
      expectResult(expectFulfilled(outcomes[3]), { ok: false, code: 'division_by_zero', version: vA });
      expectResult(expectFulfilled(outcomes[4]), { ok: true, kind: 'object', key: 'a', version: vA, attributes: { n: 1 } });
      const vB = writtenVersion(expectFulfilled(outcomes[5]));
      expectResult(expectFulfilled(outcomes[6]), { ok: true, kind: 'object', key: 'b', version: vB, attributes: { n: 2 } });
    });

    conformanceCase(ctx, 'a read of another key is answered while a write is held in its commit', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      const vB = writtenVersion(await fx.run({ op: 'put', space: 'c', key: 'b', attributes: { n: 1 } }));
      const release = fx.store.holdCommits();
      let putDone = false;
      const put = fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: 2 } }).finally(() => {
        putDone = true;
      });
      const getA = fx.run({ op: 'get', space: 'c', key: 'a' });
      // Neither the read of b nor the write of c waits for a's commit, which the case holds back.
      expectResult(await fx.run({ op: 'get', space: 'c', key: 'b' }), { ok: true, kind: 'object', key: 'b', version: vB, attributes: { n: 1 } });
      const putC = fx.run({ op: 'put', space: 'c', key: 'c', attributes: { n: 3 } });
      expectResult(await fx.run({ op: 'get', space: 'c', key: 'missing' }), { ok: false, code: 'not_found', version: 0 });
      assert.equal(putDone, false, 'the write of a is still held');
      release();
      const vA = writtenVersion(await put);
      writtenVersion(await putC);
      expectResult(await getA, { ok: true, kind: 'object', key: 'a', version: vA, attributes: { n: 2 } });
    });

    conformanceCase(ctx, 'a read of the written key waits for the held commit, and then sees it', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      await fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: 1 } });
      const release = fx.store.holdCommits();
      const put = fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: 2 } });
      let answered = false;
      const get = fx.run({ op: 'get', space: 'c', key: 'a' }).finally(() => {
        answered = true;
      });
      // Many turns of the event loop: an unordered read would have been answered by now.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(answered, false, 'the read of a waits for the write of a');
      release();
      const v = writtenVersion(await put);
      expectResult(await get, { ok: true, kind: 'object', key: 'a', version: v, attributes: { n: 2 } });
    });

    conformanceCase(ctx, 'a tx, search, count and list sent right after writes see every one of them', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      await fx.addSpace('space d key k attributes int n');
      const release = fx.store.holdCommits();
      const writes = [
        fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: 1 } }),
        fx.run({ op: 'put', space: 'c', key: 'b', attributes: { n: 2 } }),
        fx.run({ op: 'put', space: 'd', key: 'x', attributes: { n: 3 } }),
      ];
      const tx = fx.run({ op: 'tx', checks: [{ space: 'c', key: 'a', exists: true }], ops: [{ op: 'get', space: 'd', key: 'x' }] });
      const search = fx.run({ op: 'search', space: 'c', where: { n: { gte: 0 } } });
      const count = fx.run({ op: 'count', space: 'c', where: {} });
      const list = fx.run({ op: 'list', space: 'c' });
      const delB = fx.run({ op: 'del', space: 'c', key: 'b' });
      const countAfter = fx.run({ op: 'count', space: 'c', where: {} });
      release();
      const [vA, vB, vX] = (await Promise.all(writes)).map(writtenVersion);
      const txResult = await tx;
      assert.ok(txResult.ok && txResult.kind === 'tx', `the tx succeeds: ${JSON.stringify(txResult)}`);
      expectResult(txResult.results[0] as Result, { ok: true, kind: 'object', key: 'x', version: vX, attributes: { n: 3 } });
      const keysOf = (r: Result): unknown => pageObjects(r).map((o) => o.key);
      assert.deepEqual(keysOf(await search), ['a', 'b']);
      assert.deepEqual(keysOf(await list), ['a', 'b']);
      expectResult(await count, { ok: true, kind: 'count', count: 2 });
      // The delete sent after the scans waited for them (they saw b), and the count after it does not.
      const vDel = expectResult(await delB, { ok: true, kind: 'deleted', key: 'b' });
      expectResult(await countAfter, { ok: true, kind: 'count', count: 1 });
      assertIncreasing([vA as number, vDel]);
      assertIncreasing([vB as number, vDel]);
    });

    conformanceCase(ctx, 'two sessions interleaved: every operation completes and none is lost', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      for (const key of ['shared', 'one', 'two']) await fx.run({ op: 'put', space: 'c', key, attributes: {} });
      const sessions = { one: fx.engine.session(), two: fx.engine.session() };
      const pending: Promise<Result>[] = [];
      const reads: { readonly own: string; readonly expected: number; readonly read: Promise<Result> }[] = [];
      for (let i = 0; i < 200; i++) {
        for (const own of ['one', 'two'] as const) {
          const session = sessions[own];
          pending.push(fx.run({ op: 'mutate', space: 'c', key: 'shared', mutations: [{ add: { n: 1 } }] }, session));
          pending.push(fx.run({ op: 'mutate', space: 'c', key: own, mutations: [{ add: { n: 1 } }] }, session));
          const read = fx.run({ op: 'get', space: 'c', key: own }, session);
          reads.push({ own, expected: i + 1, read });
          pending.push(read);
        }
      }
      const results = await Promise.all(pending);
      assert.equal(results.length, 1200);
      assert.ok(results.every((r) => r.ok), 'every operation succeeded');
      // Each read follows exactly the adds its own session sent before it, and no others on its key.
      for (const { own, expected, read } of reads) assert.equal(attributeOf(await read, 'n'), expected, `session ${own}`);
      assert.deepEqual([await counter(fx, 'shared'), await counter(fx, 'one'), await counter(fx, 'two')], [400, 200, 200]);
    });

    conformanceCase(ctx, 'a write acknowledged on one session is seen by a read on another', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      const other = fx.engine.session();
      for (let i = 1; i <= 20; i++) {
        const v = writtenVersion(await fx.run({ op: 'put', space: 'c', key: 'a', attributes: { n: i } }));
        expectResult(await fx.run({ op: 'get', space: 'c', key: 'a' }, other), { ok: true, kind: 'object', key: 'a', version: v, attributes: { n: i } });
      }
    });
  });

  describe('backpressure', () => {
    conformanceCase(ctx, 'past inflightRequestsMax a session answers overloaded, and the op does not apply', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      const first = [1, 2, 3, 4].map((n) => fx.run({ op: 'put', space: 'c', key: `k${n}`, attributes: { n } }));
      const fifth = fx.run({ op: 'put', space: 'c', key: 'k5', attributes: { n: 5 } });
      // The bound is per session: another one is not limited by this one's load.
      const elsewhere = fx.run({ op: 'put', space: 'c', key: 'k6', attributes: { n: 6 } }, fx.engine.session());
      const err = await expectFault(fifth, 'overloaded');
      assert.equal(err.details.limit, 'inflightRequestsMax');
      assertIncreasing((await Promise.all(first)).map(writtenVersion));
      expectResult(await elsewhere, { ok: true, kind: 'written', key: 'k6', created: true });
      expectResult(await fx.run({ op: 'get', space: 'c', key: 'k5' }), { ok: false, code: 'not_found', version: 0 });
      // Once answered, the room is back.
      expectResult(await fx.run({ op: 'put', space: 'c', key: 'k5', attributes: { n: 5 } }), { ok: true, kind: 'written', key: 'k5', created: true });
    }, { limits: makeLimits({ inflightRequestsMax: 4 }) });

    conformanceCase(ctx, 'past writeQueueDepthMax a write answers overloaded, and the op does not apply', async (fx) => {
      await fx.addSpace('space c key k attributes int n');
      const [even, odd] = [fx.engine.session(), fx.engine.session()];
      const first = [1, 2, 3, 4].map((n) => fx.run({ op: 'put', space: 'c', key: `k${n}`, attributes: { n } }, n % 2 === 0 ? even : odd));
      const fifth = fx.run({ op: 'put', space: 'c', key: 'k5', attributes: { n: 5 } }, even);
      const err = await expectFault(fifth, 'overloaded');
      assert.equal(err.details.limit, 'writeQueueDepthMax');
      assertIncreasing((await Promise.all(first)).map(writtenVersion).sort((a, b) => a - b));
      expectResult(await fx.run({ op: 'get', space: 'c', key: 'k5' }), { ok: false, code: 'not_found', version: 0 });
      expectResult(await fx.run({ op: 'put', space: 'c', key: 'k5', attributes: { n: 5 } }), { ok: true, kind: 'written', key: 'k5', created: true });
    }, { limits: makeLimits({ writeQueueDepthMax: 4 }) });
  });
}
