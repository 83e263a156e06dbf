// Proves `mutate` (docs/architecture.md §3) behaves the same on every store: every mutation family applies
// through the engine and returns the new attributes; a mutate is atomic, so a failed one (absent
// key, false condition, overflow, division by zero, or a fault such as too_large) leaves the object
// and its version exactly as they were; ints past 2^53 stay exact in and out.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { makeLimits, type Json } from '@spacekv/core';
import {
  INT64_MAX, INT64_MIN, TWO_53_PLUS_1, conformanceCase, expectFault, expectResult, type Fixture, type SuiteContext, type Wire,
  writtenVersion,
} from './fixture.js';

const MUTABLE = `space m key k attributes
  int n, float f, string s, list(string) l, set(string) st, map(string, int) mp, bool b, document d`;

type Attrs = { readonly [name: string]: Json };

const EMPTY: Attrs = { n: 0, f: 0, s: '', l: [], st: [], mp: {}, b: false, d: {} };

function mutate(key: string, mutations: readonly object[], extra: object = {}): Wire {
  return { op: 'mutate', space: 'm', key, mutations, ...extra };
}

/** Run a mutate that must succeed; check it returns exactly `attributes` and that a get agrees. */
async function mutateTo(fx: Fixture, key: string, mutations: readonly object[], attributes: Attrs, after: number): Promise<number> {
  const version = expectResult(await fx.run(mutate(key, mutations)), { ok: true, kind: 'written', key, created: false, attributes });
  assert.ok(version > after, `the mutate's version ${version} must follow ${after}`);
  expectResult(await fx.run({ op: 'get', space: 'm', key }), { ok: true, kind: 'object', key, version, attributes });
  return version;
}

/** Assert a get still returns exactly this version and these attributes. */
async function unchanged(fx: Fixture, key: string, version: number, attributes: Attrs): Promise<void> {
  expectResult(await fx.run({ op: 'get', space: 'm', key }), { ok: true, kind: 'object', key, version, attributes });
}

async function seed(fx: Fixture, key: string, attributes: Attrs): Promise<number> {
  return writtenVersion(await fx.run({ op: 'put', space: 'm', key, attributes }));
}

export function mutateCases(ctx: SuiteContext): void {
  describe('mutate', () => {
    conformanceCase(ctx, 'every mutation family applies in order and returns the new attributes', async (fx) => {
      await fx.addSpace(MUTABLE);
      let state: Attrs = { ...EMPTY, n: 10, f: 1.5, s: 'hel' };
      let version = await seed(fx, 'a', state);
      const steps: [readonly object[], Attrs][] = [
        [[{ add: { n: 5 } }], { n: 15 }],
        [[{ sub: { n: 3 } }], { n: 12 }],
        [[{ mul: { n: 4 } }], { n: 48 }],
        [[{ div: { n: 5 } }], { n: 9 }],
        [[{ mod: { n: 5 } }], { n: 4 }],
        [[{ and: { n: 6 } }], { n: 4 }],
        [[{ or: { n: 3 } }], { n: 7 }],
        [[{ xor: { n: 5 } }], { n: 2 }],
        [[{ min: { n: 1 } }], { n: 1 }],
        [[{ max: { n: 8 } }], { n: 8 }],
        [[{ add: { f: 1.25 } }], { f: 2.75 }],
        [[{ mul: { f: 2 } }, { div: { f: 4 } }], { f: 1.375 }],
        [[{ append: { s: 'lo' } }, { prepend: { s: '>' } }], { s: '>hello' }],
        [[{ rpush: { l: 'x' } }, { lpush: { l: 'w' } }, { append: { l: ['y', 'z'] } }, { prepend: { l: ['v'] } }], { l: ['v', 'w', 'x', 'y', 'z'] }],
        [[{ set_add: { st: 'b' } }, { set_add: { st: 'a' } }, { set_add: { st: 'b' } }], { st: ['a', 'b'] }],
        [[{ set_union: { st: ['c', 'a'] } }], { st: ['a', 'b', 'c'] }],
        [[{ set_intersect: { st: ['a', 'c', 'z'] } }], { st: ['a', 'c'] }],
        [[{ set_remove: { st: 'a' } }, { set_remove: { st: 'absent' } }], { st: ['c'] }],
        [[{ map_set: { mp: { b: 2, a: 1 } } }], { mp: { a: 1, b: 2 } }],
        [[{ map_add: { mp: { a: 10, c: 5 } } }], { mp: { a: 11, b: 2, c: 5 } }],
        [[{ map_sub: { mp: { b: 3 } } }, { map_max: { mp: { c: 9 } } }], { mp: { a: 11, b: -1, c: 9 } }],
        [[{ map_remove: { mp: ['b', 'absent'] } }, { map_remove: { mp: 'c' } }], { mp: { a: 11 } }],
        [[{ set: { b: true, d: { x: [1, null] } } }], { b: true, d: { x: [1, null] } }],
        [[{ add: { n: 1, f: 1 } }], { n: 9, f: 2.375 }],
        [[{ unset: { b: true } }, { unset: { d: null } }, { set: { s: 'reset' } }], { b: false, d: {}, s: 'reset' }],
      ];
      for (const [mutations, changed] of steps) {
        state = { ...state, ...changed };
        version = await mutateTo(fx, 'a', mutations, state, version);
      }
    });

    conformanceCase(ctx, 'int div and mod truncate toward zero; the remainder takes the dividend\'s sign', async (fx) => {
      await fx.addSpace(MUTABLE);
      const v = await seed(fx, 'a', { n: -7 });
      const v1 = await mutateTo(fx, 'a', [{ div: { n: 2 } }], { ...EMPTY, n: -3 }, v);
      await fx.run({ op: 'put', space: 'm', key: 'a', attributes: { n: -7 } });
      await mutateTo(fx, 'a', [{ mod: { n: 3 } }], { ...EMPTY, n: -1 }, v1);
    });

    conformanceCase(ctx, 'mutate on an absent key is not_found and creates nothing', async (fx) => {
      await fx.addSpace(MUTABLE);
      expectResult(await fx.run(mutate('ghost', [{ add: { n: 1 } }])), { ok: false, code: 'not_found', version: 0 });
      expectResult(await fx.run({ op: 'get', space: 'm', key: 'ghost' }), { ok: false, code: 'not_found', version: 0 });
    });

    conformanceCase(ctx, 'mutate with if: applies when the condition holds, else cmp_fail; absent is not_found', async (fx) => {
      await fx.addSpace(MUTABLE);
      expectResult(await fx.run(mutate('ghost', [{ add: { n: 1 } }], { if: { n: 0 } })), { ok: false, code: 'not_found', version: 0 });
      const v = await seed(fx, 'a', { n: 5, st: ['x'] });
      const state = { ...EMPTY, n: 5, st: ['x'] };
      expectResult(await fx.run(mutate('a', [{ add: { n: 1 } }], { if: { n: { gt: 5 } } })), { ok: false, code: 'cmp_fail', version: v });
      await unchanged(fx, 'a', v, state);
      expectResult(
        await fx.run(mutate('a', [{ add: { n: 1 } }], { if: { n: { gte: 5 }, st: { contains: 'x' } } })),
        { ok: true, kind: 'written', key: 'a', created: false, attributes: { ...state, n: 6 } },
      );
    });

    conformanceCase(ctx, 'int64 overflow is the result overflow, and nothing of the mutate applies', async (fx) => {
      await fx.addSpace(MUTABLE);
      const state = { ...EMPTY, n: INT64_MAX, s: 'before', mp: { a: INT64_MIN } };
      const v = await seed(fx, 'a', state);
      const overflowing: (readonly object[])[] = [
        [{ set: { s: 'after' } }, { add: { n: 1 } }],
        [{ mul: { n: 2 } }],
        [{ sub: { n: -1 } }],
        [{ add: { f: 1 } }, { map_sub: { mp: { a: 1 } } }],
      ];
      for (const mutations of overflowing) {
        expectResult(await fx.run(mutate('a', mutations)), { ok: false, code: 'overflow', version: v });
        await unchanged(fx, 'a', v, state);
      }
      const low = await seed(fx, 'b', { n: INT64_MIN });
      expectResult(await fx.run(mutate('b', [{ sub: { n: 1 } }])), { ok: false, code: 'overflow', version: low });
      expectResult(await fx.run(mutate('b', [{ div: { n: -1 } }])), { ok: false, code: 'overflow', version: low });
      await fx.addSpace('space fl key k attributes float f');
      const vf = writtenVersion(await fx.run({ op: 'put', space: 'fl', key: 'a', attributes: { f: 1e308 } }));
      expectResult(await fx.run({ op: 'mutate', space: 'fl', key: 'a', mutations: [{ mul: { f: 10 } }] }), { ok: false, code: 'overflow', version: vf });
    });

    conformanceCase(ctx, 'division by zero is the result division_by_zero, for int and float, div and mod', async (fx) => {
      await fx.addSpace(MUTABLE);
      const state = { ...EMPTY, n: 7, f: 2.5 };
      const v = await seed(fx, 'a', state);
      for (const mutations of [[{ div: { n: 0 } }], [{ mod: { n: 0 } }], [{ add: { n: 1 } }, { div: { f: 0 } }], [{ map_div: { mp: { a: 0 } } }]]) {
        expectResult(await fx.run(mutate('a', mutations)), { ok: false, code: 'division_by_zero', version: v });
      }
      await unchanged(fx, 'a', v, state);
    });

    conformanceCase(ctx, 'ints beyond 2^53 stay exact through mutate, in and out', async (fx) => {
      await fx.addSpace(MUTABLE);
      const v = await seed(fx, 'a', { n: TWO_53_PLUS_1, mp: { big: TWO_53_PLUS_1 } });
      const v1 = await mutateTo(fx, 'a', [{ add: { n: 2 } }, { map_add: { mp: { big: 2 } } }], { ...EMPTY, n: TWO_53_PLUS_1 + 2n, mp: { big: TWO_53_PLUS_1 + 2n } }, v);
      const v2 = await mutateTo(fx, 'a', [{ sub: { n: 4 } }], { ...EMPTY, n: Number.MAX_SAFE_INTEGER, mp: { big: TWO_53_PLUS_1 + 2n } }, v1);
      await mutateTo(fx, 'a', [{ add: { n: 2n ** 62n } }, { xor: { n: 1 } }], { ...EMPTY, n: (2n ** 53n - 1n + 2n ** 62n) ^ 1n, mp: { big: TWO_53_PLUS_1 + 2n } }, v2);
    });
  });

  describe('faults', () => {
    conformanceCase(ctx, 'a mutate that grows the object past valueBytesMax is too_large and changes nothing', async (fx) => {
      await fx.addSpace(MUTABLE);
      const state = { ...EMPTY, s: 'x'.repeat(100) };
      const v = await seed(fx, 'a', state);
      await expectFault(fx.run(mutate('a', [{ append: { s: 'y'.repeat(200) } }])), 'too_large');
      await unchanged(fx, 'a', v, state);
      await expectFault(fx.run({ op: 'put', space: 'm', key: 'b', attributes: { s: 'z'.repeat(300) } }), 'too_large');
      expectResult(await fx.run({ op: 'get', space: 'm', key: 'b' }), { ok: false, code: 'not_found', version: 0 });
      // The store is still fine afterwards.
      await mutateTo(fx, 'a', [{ append: { s: 'y' } }], { ...state, s: `${'x'.repeat(100)}y` }, v);
    }, { limits: makeLimits({ valueBytesMax: 256 }) });

    conformanceCase(ctx, 'a mutate that grows a collection past collectionElementsMax is too_large and changes nothing', async (fx) => {
      await fx.addSpace(MUTABLE);
      const state = { ...EMPTY, l: ['a', 'b', 'c'], st: ['a', 'b', 'c'] };
      const v = await seed(fx, 'a', state);
      for (const mutations of [[{ rpush: { l: 'd' } }], [{ set_add: { st: 'd' } }], [{ map_set: { mp: { a: 1 } } }, { map_add: { mp: { b: 1, c: 1, d: 1 } } }]]) {
        await expectFault(fx.run(mutate('a', mutations)), 'too_large');
        await unchanged(fx, 'a', v, state);
      }
      await mutateTo(fx, 'a', [{ set_add: { st: 'c' } }, { set_remove: { st: 'a' } }, { set_add: { st: 'd' } }], { ...state, st: ['b', 'c', 'd'] }, v);
    }, { limits: makeLimits({ collectionElementsMax: 3 }) });
  });
}
