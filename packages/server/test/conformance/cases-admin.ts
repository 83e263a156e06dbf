// Proves the admin operations and durability (docs/architecture.md §3 admin, §4.1, §4.2, §6) behave the same on
// every store: add_space in DSL and JSON form, describe_space and list_spaces, space_exists,
// spacesMax, rm_space making every later operation unknown_space (also for operations validated
// before it, and for reads racing it), a re-added space starting empty, operations accepted before
// a close all answered, and everything acknowledged before a close (spaces, objects, removals, the
// seq) still there after a reopen.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { SpacekvError, makeLimits, type SpaceSchema } from '@spacekv/core';
import {
  assertIncreasing, conformanceCase, expectFault, expectResult, type Fixture, type SuiteContext, type Wire, writtenVersion,
} from './fixture.js';

const PEOPLE_DSL = 'space people key username attributes string first, int age, set(string) friends';
const PEOPLE: SpaceSchema = {
  name: 'people',
  key: { name: 'username', type: 'string' },
  attributes: [
    { name: 'first', type: { kind: 'string' } },
    { name: 'age', type: { kind: 'int' } },
    { name: 'friends', type: { kind: 'set', of: { kind: 'string' } } },
  ],
};

const COUNTERS_JSON = { name: 'counters', key: { name: 'id', type: 'int' }, attributes: { n: 'int', tags: 'map(string, float)' }, ttl_seconds: 3600 };
const COUNTERS: SpaceSchema = {
  name: 'counters',
  key: { name: 'id', type: 'int' },
  attributes: [
    { name: 'n', type: { kind: 'int' } },
    { name: 'tags', type: { kind: 'map', key: { kind: 'string' }, value: { kind: 'float' } } },
  ],
  ttlSeconds: 3600,
};

async function describeSpace(fx: Fixture, space: string): Promise<number> {
  const result = await fx.run({ op: 'describe_space', space });
  if (!result.ok || result.kind !== 'space') return assert.fail(`describe_space ${space} failed`);
  return result.createdSeq;
}

async function spaceNames(fx: Fixture): Promise<string[]> {
  const result = await fx.run({ op: 'list_spaces' });
  if (!result.ok || result.kind !== 'spaces') return assert.fail('list_spaces failed');
  return result.spaces.map((s) => s.name).sort();
}

export function adminCases(ctx: SuiteContext): void {
  describe('spaces', () => {
    conformanceCase(ctx, 'add_space (DSL and JSON form), describe_space and list_spaces', async (fx) => {
      expectResult(await fx.run({ op: 'list_spaces' }), { ok: true, kind: 'spaces', spaces: [] });
      const seqPeople = expectCreated(await fx.run({ op: 'add_space', schema: PEOPLE_DSL }), PEOPLE);
      const seqCounters = expectCreated(await fx.run({ op: 'add_space', schema: COUNTERS_JSON }), COUNTERS);
      assert.ok(seqCounters > seqPeople);
      expectResult(await fx.run({ op: 'describe_space', space: 'people' }), { ok: true, kind: 'space', schema: PEOPLE, createdSeq: seqPeople });
      expectResult(await fx.run({ op: 'describe_space', space: 'counters' }), { ok: true, kind: 'space', schema: COUNTERS, createdSeq: seqCounters });
      const listed = await fx.run({ op: 'list_spaces' });
      assert.ok(listed.ok && listed.kind === 'spaces');
      assert.deepEqual([...listed.spaces].sort((a, b) => a.name.localeCompare(b.name)), [COUNTERS, PEOPLE]);
      await expectFault(fx.run({ op: 'describe_space', space: 'nowhere' }), 'unknown_space');
      // The new spaces take objects, and their writes follow their creation in seq order.
      const v = writtenVersion(await fx.run({ op: 'put', space: 'counters', key: 1, attributes: { tags: { b: 1.5 } } }));
      assert.ok(v > seqCounters);
    });

    conformanceCase(ctx, 'adding a space that exists is the fault space_exists, and leaves it as it was', async (fx) => {
      const seq = await fx.addSpace(PEOPLE_DSL);
      await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { age: 36 } });
      await expectFault(fx.run({ op: 'add_space', schema: 'space people key id attributes int other' }), 'space_exists');
      await expectFault(fx.run({ op: 'add_space', schema: { name: 'people', key: 'x' } }), 'space_exists');
      assert.equal(await describeSpace(fx, 'people'), seq);
      expectResult(await fx.run({ op: 'describe_space', space: 'people' }), { ok: true, kind: 'space', schema: PEOPLE, createdSeq: seq });
      expectResult(
        await fx.run({ op: 'get_partial', space: 'people', key: 'ada', select: ['age'] }),
        { ok: true, kind: 'object', key: 'ada', attributes: { age: 36 } },
      );
    });

    conformanceCase(ctx, 'rm_space: every later operation on it is unknown_space, even one validated before', async (fx) => {
      await fx.addSpace(PEOPLE_DSL);
      await fx.addSpace('space other key k attributes int n');
      await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { age: 36 } });
      const validatedGet = fx.parse({ op: 'get', space: 'people', key: 'ada' });
      const validatedPut = fx.parse({ op: 'put', space: 'people', key: 'bob', attributes: {} });
      expectResult(await fx.run({ op: 'rm_space', space: 'people' }), { ok: true, kind: 'space_removed', space: 'people' });
      const ops: Wire[] = [
        { op: 'get', space: 'people', key: 'ada' },
        { op: 'put', space: 'people', key: 'ada', attributes: {} },
        { op: 'mutate', space: 'people', key: 'ada', mutations: [{ add: { age: 1 } }] },
        { op: 'del', space: 'people', key: 'ada' },
        { op: 'describe_space', space: 'people' },
        { op: 'rm_space', space: 'people' },
      ];
      for (const wire of ops) await expectFault(fx.run(wire), 'unknown_space');
      await expectFault(fx.session.execute(validatedGet), 'unknown_space');
      await expectFault(fx.session.execute(validatedPut), 'unknown_space');
      assert.deepEqual(await spaceNames(fx), ['other']);
    });

    conformanceCase(ctx, 'rm_space then add_space of the same name gives a new, empty space', async (fx) => {
      const seq1 = await fx.addSpace(PEOPLE_DSL);
      await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { age: 36 } });
      await fx.run({ op: 'rm_space', space: 'people' });
      const seq2 = await fx.addSpace('space people key username attributes int age, string note');
      assert.ok(seq2 > seq1);
      expectResult(await fx.run({ op: 'get', space: 'people', key: 'ada' }), { ok: false, code: 'not_found', version: 0 });
      expectResult(
        await fx.run({ op: 'put_if_not_exist', space: 'people', key: 'ada', attributes: { note: 'new' } }),
        { ok: true, kind: 'written', key: 'ada', created: true },
      );
      expectResult(await fx.run({ op: 'get', space: 'people', key: 'ada' }), { ok: true, kind: 'object', key: 'ada', attributes: { age: 0, note: 'new' } });
    });

    conformanceCase(ctx, 'a write validated against a removed space never lands in its successor of the same name', async (fx) => {
      await fx.addSpace(PEOPLE_DSL);
      const stale = fx.parse({ op: 'put', space: 'people', key: 'ada', attributes: { age: 36 } });
      // Removal, re-creation and the stale write share one batch: the write must fail alone.
      const removed = fx.run({ op: 'rm_space', space: 'people' });
      const added = fx.run({ op: 'add_space', schema: PEOPLE_DSL });
      const write = fx.session.execute(stale);
      expectResult(await removed, { ok: true, kind: 'space_removed', space: 'people' });
      const created = await added;
      assert.ok(created.ok && created.kind === 'space');
      await expectFault(write, 'unknown_space');
      expectResult(await fx.run({ op: 'get', space: 'people', key: 'ada' }), { ok: false, code: 'not_found', version: 0 });
    });
  });

  describe('spaces under concurrency', () => {
    conformanceCase(ctx, 'a write validated before its space was replaced fails unknown_space, even when run after', async (fx) => {
      await fx.addSpace('space people key username attributes int age');
      // Validated against `int age`; the successor declares `string age`. Landing there would store
      // an int in a string attribute, so it must fail like any write to a removed space.
      const stale = fx.parse({ op: 'put', space: 'people', key: 'ada', attributes: { age: 36 } });
      await fx.run({ op: 'rm_space', space: 'people' });
      await fx.addSpace('space people key username attributes string age');
      await expectFault(fx.session.execute(stale), 'unknown_space');
      expectResult(await fx.run({ op: 'get', space: 'people', key: 'ada' }), { ok: false, code: 'not_found', version: 0 });
    });

    conformanceCase(ctx, 'reads racing rm_space answer the object or unknown_space, never a storage error', async (fx) => {
      await fx.addSpace(PEOPLE_DSL);
      const v = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { age: 36 } }));
      const get = fx.parse({ op: 'get', space: 'people', key: 'ada' });
      const reader = fx.engine.session();
      await reader.execute(get); // a space in use, as it is when it is removed in production
      await new Promise((resolve) => setImmediate(resolve)); // a new event-loop turn: no snapshot pinned
      const removed = fx.run({ op: 'rm_space', space: 'people' });
      await Promise.resolve(); // let the committer hand the batch to the store
      // Hold the event loop, so the store commits the removal before the engine hears of it, then
      // read in that window, in which both views of the space coexist. Reading only after a pause
      // keeps a store that pins one snapshot per event-loop turn from pinning it before the commit.
      const until = performance.now() + 150;
      while (performance.now() < until) continue;
      const reads = Array.from({ length: 100 }, () => settled(reader.execute(get)));
      expectResult(await removed, { ok: true, kind: 'space_removed', space: 'people' });
      const answers = new Map<string, number>();
      for (const outcome of await Promise.all(reads)) {
        let answer: string;
        if (outcome.status === 'fulfilled') {
          answer = outcome.value.ok ? 'object' : outcome.value.code;
          if (outcome.value.ok) expectResult(outcome.value, { ok: true, kind: 'object', key: 'ada', version: v, attributes: { first: '', age: 36, friends: [] } });
        } else {
          const err: unknown = outcome.reason;
          answer = err instanceof SpacekvError ? err.code : `${String(err)}`;
        }
        answers.set(answer, (answers.get(answer) ?? 0) + 1);
      }
      assert.deepEqual([...answers.keys()].filter((a) => a !== 'object' && a !== 'unknown_space'), [], `answers: ${JSON.stringify([...answers])}`);
    });

    conformanceCase(ctx, 'past spacesMax add_space is too_large and adds nothing', async (fx) => {
      await fx.addSpace('space one key k');
      await fx.addSpace('space two key k');
      await expectFault(fx.run({ op: 'add_space', schema: 'space three key k' }), 'too_large');
      assert.deepEqual(await spaceNames(fx), ['one', 'two']);
      await fx.run({ op: 'rm_space', space: 'one' });
      await fx.addSpace('space three key k');
      assert.deepEqual(await spaceNames(fx), ['three', 'two']);
    }, { limits: makeLimits({ spacesMax: 2 }) });
  });

  describe('durability across a restart', () => {
    conformanceCase(ctx, 'spaces, objects and removals acknowledged before close are there after a reopen', async (fx) => {
      const seqPeople = await fx.addSpace(PEOPLE_DSL);
      const seqCounters = await fx.addSpace(COUNTERS_JSON);
      await fx.addSpace('space doomed key k');
      const versions = new Map<string, number>();
      for (let i = 0; i < 20; i++) {
        versions.set(`p${i}`, writtenVersion(await fx.run({ op: 'put', space: 'people', key: `p${i}`, attributes: { age: i, friends: [`f${i}`] } })));
      }
      const big = 2n ** 62n + 1n;
      const vc = writtenVersion(await fx.run({ op: 'put', space: 'counters', key: big, attributes: { n: big }, expire_in: null }));
      await fx.run({ op: 'del', space: 'people', key: 'p3' });
      const vm = writtenVersion(await fx.run({ op: 'mutate', space: 'people', key: 'p4', mutations: [{ set_add: { friends: 'zed' } }] }));
      const vLast = writtenVersion(await fx.run({ op: 'put', space: 'doomed', key: 'x', attributes: {} }));
      await fx.run({ op: 'rm_space', space: 'doomed' });

      await fx.reopen();

      assert.ok(fx.engine.space('people') && fx.engine.space('counters'));
      assert.equal(fx.engine.space('doomed'), undefined);
      assert.deepEqual(await spaceNames(fx), ['counters', 'people']);
      expectResult(await fx.run({ op: 'describe_space', space: 'people' }), { ok: true, kind: 'space', schema: PEOPLE, createdSeq: seqPeople });
      expectResult(await fx.run({ op: 'describe_space', space: 'counters' }), { ok: true, kind: 'space', schema: COUNTERS, createdSeq: seqCounters });
      for (let i = 0; i < 20; i++) {
        const key = `p${i}`;
        const result = await fx.run({ op: 'get', space: 'people', key });
        if (i === 3) expectResult(result, { ok: false, code: 'not_found', version: 0 });
        else if (i === 4) expectResult(result, { ok: true, kind: 'object', key, version: vm, attributes: { first: '', age: 4, friends: ['f4', 'zed'] } });
        else expectResult(result, { ok: true, kind: 'object', key, version: versions.get(key), attributes: { first: '', age: i, friends: [`f${i}`] } });
      }
      expectResult(await fx.run({ op: 'get', space: 'counters', key: big }), { ok: true, kind: 'object', key: big, version: vc, attributes: { n: big, tags: {} } });
      // The seq carries on past everything written before the restart, removals included.
      const vAfter = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'after', attributes: {} }));
      assert.ok(vAfter > vLast);
    });

    conformanceCase(ctx, 'writes still in flight when close begins are finished and durable, not dropped', async (fx) => {
      await fx.addSpace('space s key k attributes int n');
      const pending = Array.from({ length: 50 }, (_, i) => fx.run({ op: 'put', space: 's', key: `k${i}`, attributes: { n: i } }));
      const closing = fx.close();
      const versions = (await Promise.all(pending)).map(writtenVersion);
      await closing;
      assertIncreasing(versions);
      await fx.reopen();
      for (let i = 0; i < 50; i++) {
        expectResult(
          await fx.run({ op: 'get', space: 's', key: `k${i}` }),
          { ok: true, kind: 'object', key: `k${i}`, version: versions[i], attributes: { n: i } },
        );
      }
    });

    conformanceCase(ctx, 'operations accepted before close are all answered, pipelined reads included', async (fx) => {
      await fx.addSpace('space s key k attributes int n');
      const put = fx.run({ op: 'put', space: 's', key: 'a', attributes: { n: 1 } });
      const get = fx.run({ op: 'get', space: 's', key: 'a' }); // queued behind the put
      const closing = fx.close();
      const v = writtenVersion(await put);
      expectResult(await get, { ok: true, kind: 'object', key: 'a', version: v, attributes: { n: 1 } });
      await closing;
      await expectFault(fx.session.execute(fx.parse({ op: 'get', space: 's', key: 'a' })), 'shutting_down');
    });

    conformanceCase(ctx, 'a removed and re-added space stays empty and new across a restart', async (fx) => {
      await fx.addSpace(PEOPLE_DSL);
      await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { age: 36 } });
      await fx.run({ op: 'rm_space', space: 'people' });
      const seq = await fx.addSpace('space people key username attributes string note');
      await fx.run({ op: 'put', space: 'people', key: 'bob', attributes: { note: 'hi' } });
      await fx.reopen();
      assert.equal(await describeSpace(fx, 'people'), seq);
      expectResult(await fx.run({ op: 'get', space: 'people', key: 'ada' }), { ok: false, code: 'not_found', version: 0 });
      expectResult(await fx.run({ op: 'get', space: 'people', key: 'bob' }), { ok: true, kind: 'object', key: 'bob', attributes: { note: 'hi' } });
    });
  });
}

/** Like one member of Promise.allSettled, with the handler attached at once (no unhandled rejection). */
function settled<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: 'fulfilled', value }) as const,
    (reason: unknown) => ({ status: 'rejected', reason }) as const,
  );
}

function expectCreated(result: Parameters<typeof expectResult>[0], schema: SpaceSchema): number {
  if (!result.ok || result.kind !== 'space') return assert.fail('add_space did not return a space');
  expectResult(result, { ok: true, kind: 'space', schema, createdSeq: result.createdSeq });
  assert.ok(Number.isSafeInteger(result.createdSeq) && result.createdSeq > 0);
  return result.createdSeq;
}
