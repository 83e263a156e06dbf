// Proves the single-key read and write operations of docs/architecture.md §3 behave the same on every store:
// defaults for missing attributes (HyperDex), upsert keeping unnamed attributes, `created`, store-
// wide strictly increasing versions, not_found for absent keys, get_partial, and the conflict rules
// of put_if_not_exist / get_and_put / compare_and_swap / cond_put / del / cond_del / get_and_del,
// each failed condition a result carrying the current version, never a fault.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  assertIncreasing, attributesOf, conformanceCase, expectResult, type Fixture, type SuiteContext, TWO_53_PLUS_1, writtenVersion,
} from './fixture.js';

const ALL_TYPES = `space all key k attributes
  string s, int i, float f, bool b, bytes by, document d, timestamp t,
  list(string) l, set(int) st, map(string, int) m`;

const DEFAULTS = {
  s: '', i: 0, f: 0, b: false, by: '', d: {}, t: '1970-01-01T00:00:00.000Z', l: [], st: [], m: {},
};

const PEOPLE = 'space people key username attributes string first, string last, int age, set(string) friends';

async function people(fx: Fixture): Promise<number> {
  return fx.addSpace(PEOPLE);
}

async function get(fx: Fixture, key: string, space = 'people'): Promise<{ version: number; attributes: unknown }> {
  const result = await fx.run({ op: 'get', space, key });
  const version = expectResult(result, { ok: true, kind: 'object', key, attributes: attributesOf(result) });
  return { version, attributes: attributesOf(result) };
}

async function expectAbsent(fx: Fixture, key: string, space = 'people'): Promise<void> {
  expectResult(await fx.run({ op: 'get', space, key }), { ok: false, code: 'not_found', version: 0 });
}

export function writeCases(ctx: SuiteContext): void {
  describe('put and get', () => {
    conformanceCase(ctx, 'missing attributes read as their type\'s default', async (fx) => {
      await fx.addSpace(ALL_TYPES);
      expectResult(await fx.run({ op: 'put', space: 'all', key: 'x', attributes: {} }), { ok: true, kind: 'written', key: 'x', created: true });
      assert.deepEqual((await get(fx, 'x', 'all')).attributes, DEFAULTS);
      await fx.run({ op: 'put', space: 'all', key: 'y', attributes: { i: 7, l: ['a'] } });
      assert.deepEqual((await get(fx, 'y', 'all')).attributes, { ...DEFAULTS, i: 7, l: ['a'] });
    });

    conformanceCase(ctx, 'every type round-trips in canonical form', async (fx) => {
      await fx.addSpace(ALL_TYPES);
      const given = {
        s: 'héllo ☃', i: -42, f: 2.5, b: true, by: 'AAEC', d: { nested: [1, 'two', null, { three: true }] },
        t: '2024-02-29T12:34:56Z', l: ['b', 'a', 'b'], st: [3, 1, 2, 1], m: { z: 1, a: 2 },
      };
      await fx.run({ op: 'put', space: 'all', key: 'x', attributes: given });
      assert.deepEqual((await get(fx, 'x', 'all')).attributes, {
        ...given, t: '2024-02-29T12:34:56.000Z', st: [1, 2, 3], m: { a: 2, z: 1 },
      });
    });

    conformanceCase(ctx, 'put keeps the attributes it does not name; created is true, then false', async (fx) => {
      await people(fx);
      const v1 = expectResult(
        await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { first: 'Ada', age: 36 } }),
        { ok: true, kind: 'written', key: 'ada', created: true },
      );
      const v2 = expectResult(
        await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { last: 'Lovelace', age: 37 } }),
        { ok: true, kind: 'written', key: 'ada', created: false },
      );
      assert.ok(v2 > v1);
      assert.deepEqual(await get(fx, 'ada'), { version: v2, attributes: { first: 'Ada', last: 'Lovelace', age: 37, friends: [] } });
    });

    conformanceCase(ctx, 'a put may set a document attribute back to null', async (fx) => {
      await fx.addSpace('space docs key k attributes document d, string s');
      await fx.run({ op: 'put', space: 'docs', key: 'a', attributes: { d: { x: 1 }, s: 'kept' } });
      await fx.run({ op: 'put', space: 'docs', key: 'a', attributes: { d: null } });
      assert.deepEqual((await get(fx, 'a', 'docs')).attributes, { d: null, s: 'kept' });
    });

    conformanceCase(ctx, 'a float attribute keeps integral values past 2^53 as floats', async (fx) => {
      await fx.addSpace('space fl key k attributes float f, list(float) l, map(string, float) m');
      const big = { f: 1e20, l: [1e17, -4e18], m: { a: 2 ** 60 } };
      await fx.run({ op: 'put', space: 'fl', key: 'a', attributes: big });
      assert.deepEqual((await get(fx, 'a', 'fl')).attributes, big);
    });

    conformanceCase(ctx, 'versions strictly increase store-wide, across keys and spaces, after the space\'s seq', async (fx) => {
      const seqA = await fx.addSpace('space a key k attributes int n');
      const seqB = await fx.addSpace('space b key k attributes int n');
      assert.ok(seqB > seqA);
      const versions = [seqB];
      for (const [space, key] of [['a', 'x'], ['b', 'x'], ['a', 'y'], ['a', 'x'], ['b', 'z'], ['b', 'x']] as const) {
        versions.push(writtenVersion(await fx.run({ op: 'put', space, key, attributes: { n: versions.length } })));
      }
      assertIncreasing(versions);
      assert.equal((await get(fx, 'x', 'a')).version, versions[4]);
      assert.equal((await get(fx, 'x', 'b')).version, versions[6]);
    });

    conformanceCase(ctx, 'get of an absent key is not_found with version 0', async (fx) => {
      await people(fx);
      await expectAbsent(fx, 'nobody');
      expectResult(await fx.run({ op: 'get_partial', space: 'people', key: 'nobody', select: ['first'] }), { ok: false, code: 'not_found', version: 0 });
    });

    conformanceCase(ctx, 'get_partial returns only the chosen attributes, at the object\'s version', async (fx) => {
      await people(fx);
      const v = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { first: 'Ada', age: 36, friends: ['b', 'a'] } }));
      expectResult(
        await fx.run({ op: 'get_partial', space: 'people', key: 'ada', select: ['friends', 'age'] }),
        { ok: true, kind: 'object', key: 'ada', version: v, attributes: { friends: ['a', 'b'], age: 36 } },
      );
      expectResult(
        await fx.run({ op: 'get_partial', space: 'people', key: 'ada', select: ['last'] }),
        { ok: true, kind: 'object', key: 'ada', version: v, attributes: { last: '' } },
      );
    });

    conformanceCase(ctx, 'int keys and int attributes past 2^53 stay exact', async (fx) => {
      await fx.addSpace('space counters key int id attributes int n');
      const key = TWO_53_PLUS_1;
      expectResult(
        await fx.run({ op: 'put', space: 'counters', key, attributes: { n: key } }),
        { ok: true, kind: 'written', key, created: true },
      );
      expectResult(await fx.run({ op: 'get', space: 'counters', key: key - 1n }), { ok: false, code: 'not_found', version: 0 });
      const result = await fx.run({ op: 'get', space: 'counters', key });
      expectResult(result, { ok: true, kind: 'object', key, attributes: { n: key } });
      expectResult(await fx.run({ op: 'get', space: 'counters', key: -7 }), { ok: false, code: 'not_found', version: 0 });
    });
  });

  describe('write conflicts', () => {
    conformanceCase(ctx, 'put_if_not_exist creates once, then answers exists with the current version and changes nothing', async (fx) => {
      await people(fx);
      const v = expectResult(
        await fx.run({ op: 'put_if_not_exist', space: 'people', key: 'ada', attributes: { first: 'Ada' } }),
        { ok: true, kind: 'written', key: 'ada', created: true },
      );
      expectResult(
        await fx.run({ op: 'put_if_not_exist', space: 'people', key: 'ada', attributes: { first: 'Imposter' } }),
        { ok: false, code: 'exists', version: v },
      );
      assert.deepEqual(await get(fx, 'ada'), { version: v, attributes: { first: 'Ada', last: '', age: 0, friends: [] } });
    });

    conformanceCase(ctx, 'put always wins and the last put wins', async (fx) => {
      await people(fx);
      const versions: number[] = [];
      for (const first of ['one', 'two', 'three']) {
        versions.push(writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'k', attributes: { first } })));
      }
      assertIncreasing(versions);
      assert.deepEqual(await get(fx, 'k'), { version: versions[2], attributes: { first: 'three', last: '', age: 0, friends: [] } });
    });

    conformanceCase(ctx, 'get_and_put returns the previous object (null when absent) and writes', async (fx) => {
      await people(fx);
      const v1 = expectResult(
        await fx.run({ op: 'get_and_put', space: 'people', key: 'ada', attributes: { first: 'Ada' } }),
        { ok: true, kind: 'written', key: 'ada', created: true, previous: null },
      );
      const v2 = expectResult(
        await fx.run({ op: 'get_and_put', space: 'people', key: 'ada', attributes: { age: 36 } }),
        {
          ok: true, kind: 'written', key: 'ada', created: false,
          previous: { version: v1, expiresAt: null, attributes: { first: 'Ada', last: '', age: 0, friends: [] } },
        },
      );
      assert.ok(v2 > v1);
      assert.deepEqual(await get(fx, 'ada'), { version: v2, attributes: { first: 'Ada', last: '', age: 36, friends: [] } });
    });

    conformanceCase(ctx, 'compare_and_swap succeeds only on the current version', async (fx) => {
      await people(fx);
      expectResult(
        await fx.run({ op: 'compare_and_swap', space: 'people', key: 'ada', version: 1, attributes: { first: 'x' } }),
        { ok: false, code: 'not_found', version: 0 },
      );
      const v1 = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { first: 'Ada' } }));
      const v2 = expectResult(
        await fx.run({ op: 'compare_and_swap', space: 'people', key: 'ada', version: v1, attributes: { age: 36 } }),
        { ok: true, kind: 'written', key: 'ada', created: false },
      );
      assert.ok(v2 > v1);
      for (const stale of [v1, v2 + 1, 0]) {
        expectResult(
          await fx.run({ op: 'compare_and_swap', space: 'people', key: 'ada', version: stale, attributes: { first: 'lost' } }),
          { ok: false, code: 'cmp_fail', version: v2 },
        );
      }
      assert.deepEqual(await get(fx, 'ada'), { version: v2, attributes: { first: 'Ada', last: '', age: 36, friends: [] } });
    });

    conformanceCase(ctx, 'cond_put writes only when the condition holds', async (fx) => {
      await people(fx);
      expectResult(
        await fx.run({ op: 'cond_put', space: 'people', key: 'ada', if: {}, attributes: { age: 1 } }),
        { ok: false, code: 'not_found', version: 0 },
      );
      const v1 = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { first: 'Ada', age: 36 } }));
      expectResult(
        await fx.run({ op: 'cond_put', space: 'people', key: 'ada', if: { age: { gte: 40 } }, attributes: { age: 99 } }),
        { ok: false, code: 'cmp_fail', version: v1 },
      );
      expectResult(
        await fx.run({ op: 'cond_put', space: 'people', key: 'ada', if: { first: 'Bob', or: [{ age: 1 }] }, attributes: { age: 99 } }),
        { ok: false, code: 'cmp_fail', version: v1 },
      );
      const v2 = expectResult(
        await fx.run({ op: 'cond_put', space: 'people', key: 'ada', if: { username: 'ada', age: { gte: 18, lt: 65 }, or: [{ first: 'x' }, { first: { prefix: 'A' } }] }, attributes: { age: 37 } }),
        { ok: true, kind: 'written', key: 'ada', created: false },
      );
      assert.ok(v2 > v1);
      assert.deepEqual(await get(fx, 'ada'), { version: v2, attributes: { first: 'Ada', last: '', age: 37, friends: [] } });
    });
  });

  describe('deletes', () => {
    conformanceCase(ctx, 'del: absent is not_found; a version must match; the deletion gets its own seq', async (fx) => {
      await people(fx);
      expectResult(await fx.run({ op: 'del', space: 'people', key: 'ada' }), { ok: false, code: 'not_found', version: 0 });
      const v1 = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { first: 'Ada' } }));
      expectResult(await fx.run({ op: 'del', space: 'people', key: 'ada', version: v1 + 1 }), { ok: false, code: 'cmp_fail', version: v1 });
      assert.equal((await get(fx, 'ada')).version, v1);
      const vDel = expectResult(await fx.run({ op: 'del', space: 'people', key: 'ada', version: v1 }), { ok: true, kind: 'deleted', key: 'ada' });
      assert.ok(vDel > v1);
      await expectAbsent(fx, 'ada');
      expectResult(await fx.run({ op: 'del', space: 'people', key: 'ada' }), { ok: false, code: 'not_found', version: 0 });
      const v2 = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: {} }));
      assert.ok(v2 > vDel);
      expectResult(await fx.run({ op: 'del', space: 'people', key: 'ada' }), { ok: true, kind: 'deleted', key: 'ada' });
    });

    conformanceCase(ctx, 'cond_del deletes only when the condition holds', async (fx) => {
      await people(fx);
      expectResult(await fx.run({ op: 'cond_del', space: 'people', key: 'ada', if: {} }), { ok: false, code: 'not_found', version: 0 });
      const v1 = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { friends: ['bob'] } }));
      expectResult(
        await fx.run({ op: 'cond_del', space: 'people', key: 'ada', if: { friends: { contains: 'eve' } } }),
        { ok: false, code: 'cmp_fail', version: v1 },
      );
      assert.equal((await get(fx, 'ada')).version, v1);
      const vDel = expectResult(
        await fx.run({ op: 'cond_del', space: 'people', key: 'ada', if: { friends: { contains: 'bob', length_eq: 1 } } }),
        { ok: true, kind: 'deleted', key: 'ada' },
      );
      assert.ok(vDel > v1);
      await expectAbsent(fx, 'ada');
    });

    conformanceCase(ctx, 'get_and_del returns the deleted object; the key can then be created again', async (fx) => {
      await people(fx);
      expectResult(await fx.run({ op: 'get_and_del', space: 'people', key: 'ada' }), { ok: false, code: 'not_found', version: 0 });
      const v1 = writtenVersion(await fx.run({ op: 'put', space: 'people', key: 'ada', attributes: { first: 'Ada', age: 36 } }));
      const vDel = expectResult(await fx.run({ op: 'get_and_del', space: 'people', key: 'ada' }), {
        ok: true, kind: 'deleted', key: 'ada',
        previous: { version: v1, expiresAt: null, attributes: { first: 'Ada', last: '', age: 36, friends: [] } },
      });
      assert.ok(vDel > v1);
      await expectAbsent(fx, 'ada');
      const v2 = expectResult(
        await fx.run({ op: 'put_if_not_exist', space: 'people', key: 'ada', attributes: { last: 'L' } }),
        { ok: true, kind: 'written', key: 'ada', created: true },
      );
      assert.ok(v2 > vDel);
      // Nothing of the deleted object survives into the new one.
      assert.deepEqual(await get(fx, 'ada'), { version: v2, attributes: { first: '', last: 'L', age: 0, friends: [] } });
    });
  });
}
