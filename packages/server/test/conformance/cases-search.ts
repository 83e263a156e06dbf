// Proves search (docs/architecture.md §3) behaves the same on every store: search, count, sorted_search and
// list give the same answers with and without an index (and `explain` says which ran); cursors page
// through every match exactly once, even with scans stopping at scanRowsMax and with writes landing
// between pages; counts served from an index skip expired objects; ints past 2^53 and UTF-16 string
// order survive indexes; `contains` uses set/list/map indexes; group_del/group_mutate are atomic
// per object and count matched/changed; an index added to a space with data (while writes go on) is
// complete; bad queries fail with stable codes; a catastrophic regex cannot stall a search.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { type Json, type Result, encodeCursor, makeLimits, parseJson } from '@spacekv/core';
import { conformanceCase, expectFault, expectResult, type Fixture, pageObjects, sleep, type SuiteContext, TWO_53_PLUS_1, type Wire } from './fixture.js';

const PEOPLE = 'space people key k attributes string last, int age, set(string) tags, map(string, int) scores, list(int) lucky';
const PEOPLE_INDEXED = `${PEOPLE} index last, age, tags, scores, lucky`;

interface Page {
  readonly keys: Json[];
  readonly objects: { readonly key: Json; readonly attributes: Json }[];
  readonly cursor?: string;
  readonly plan?: unknown;
}

function pageOf(result: Result): Page {
  if (!result.ok || result.kind !== 'page') return assert.fail(`expected a page, got ${JSON.stringify(result)}`);
  const objects = pageObjects(result).map((o) => ({ key: o.key as Json, attributes: o.attributes }));
  return { keys: objects.map((o) => o.key), objects, ...(result.cursor ? { cursor: result.cursor } : {}), ...(result.plan ? { plan: result.plan } : {}) };
}

function countOf(result: Result): { count: number; plan?: unknown } {
  if (!result.ok || result.kind !== 'count') return assert.fail(`expected a count, got ${JSON.stringify(result)}`);
  return result.plan ? { count: result.count, plan: result.plan } : { count: result.count };
}

/** Every key a search or list returns, following cursors to the end. */
async function allKeys(fx: Fixture, wire: Wire, between?: (page: number) => Promise<void>): Promise<Json[]> {
  const keys: Json[] = [];
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    const result = pageOf(await fx.run(cursor === undefined ? wire : { ...wire, cursor }));
    keys.push(...result.keys);
    if (result.cursor === undefined) return keys;
    cursor = result.cursor;
    await between?.(page);
  }
}

async function seedPeople(fx: Fixture, schema: string, n = 30): Promise<void> {
  await fx.addSpace(schema);
  await Promise.all(Array.from({ length: n }, (_, i) => fx.run({
    op: 'put', space: 'people', key: `p${String(i).padStart(2, '0')}`,
    attributes: {
      last: ['Smith', 'Jones', 'Doe'][i % 3], age: 20 + (i % 7), tags: i % 2 ? ['a', 'b'] : ['b'],
      scores: i % 5 === 0 ? { math: i } : {}, lucky: [i % 4, i % 4, 7],
    },
  })));
}

const QUERIES: readonly Json[] = [
  { last: 'Smith' }, { age: { gte: 23, lt: 26 } }, { last: { prefix: 'Jo' } }, { tags: { contains: 'a' } }, { scores: { contains: 'math' } },
  { lucky: { contains: 3 } }, { last: 'Doe', age: { gt: 22 } }, { or: [{ last: 'Smith' }, { age: 26 }] }, { age: { ne: 20 } }, {},
];

export function searchCases(ctx: SuiteContext): void {
  describe('search', () => {
    conformanceCase(ctx, 'search and count answer the same with and without indexes; explain says which ran', async (fx) => {
      await seedPeople(fx, PEOPLE);
      const plain = await Promise.all(QUERIES.map((where) => allKeys(fx, { op: 'search', space: 'people', where, limit: 4 })));
      const counts = await Promise.all(QUERIES.map(async (where) => countOf(await fx.run({ op: 'count', space: 'people', where })).count));
      for (const attribute of ['last', 'age', 'tags', 'scores', 'lucky']) {
        const added = await fx.run({ op: 'add_index', space: 'people', attribute });
        assert.ok(added.ok && added.kind === 'space' && added.schema.indexes?.includes(attribute));
      }
      for (const [i, where] of QUERIES.entries()) {
        assert.deepEqual(await allKeys(fx, { op: 'search', space: 'people', where, limit: 4 }), plain[i], `search ${JSON.stringify(where)}`);
        assert.equal(countOf(await fx.run({ op: 'count', space: 'people', where })).count, counts[i], `count ${JSON.stringify(where)}`);
        assert.ok((plain[i] as Json[]).length === counts[i]);
      }
      assert.deepEqual(pageOf(await fx.run({ op: 'search', space: 'people', where: { last: 'Smith' }, explain: true })).plan, { kind: 'index', attribute: 'last' });
      assert.deepEqual(pageOf(await fx.run({ op: 'search', space: 'people', where: { last: { regex: 'S' } }, explain: true })).plan, { kind: 'scan' });
      const byAge = countOf(await fx.run({ op: 'count', space: 'people', where: { age: { gte: 23 } }, explain: true }));
      assert.deepEqual(byAge.plan, { kind: 'index', attribute: 'age', countedFromIndex: true });
      assert.equal(byAge.count, (await allKeys(fx, { op: 'search', space: 'people', where: { age: { gte: 23 }, last: { ne: '' } } })).length);
      assert.deepEqual(countOf(await fx.run({ op: 'count', space: 'people', where: { age: { gte: 23 }, last: 'Doe' }, explain: true })).plan, { kind: 'index', attribute: 'last' }); // equality first
    });

    conformanceCase(ctx, 'cursors page through every match once, even when a scan stops at scanRowsMax', async (fx) => {
      await seedPeople(fx, PEOPLE, 40);
      const all = await allKeys(fx, { op: 'search', space: 'people', where: { tags: { contains: 'a' } }, limit: 1000 });
      assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => `p${String(2 * i + 1).padStart(2, '0')}`));
      assert.deepEqual(await allKeys(fx, { op: 'search', space: 'people', where: { tags: { contains: 'a' } }, limit: 3 }), all);
      // scanRowsMax is 5 here: pages come back short (even empty) with a cursor, and still add up.
      const pages: number[] = [];
      let cursor: string | undefined;
      const keys: Json[] = [];
      do {
        const page = pageOf(await fx.run({ op: 'search', space: 'people', where: { age: { gte: 26 } }, limit: 10, ...(cursor ? { cursor } : {}) }));
        pages.push(page.keys.length);
        keys.push(...page.keys);
        cursor = page.cursor;
      } while (cursor);
      assert.ok(pages.length >= 8, `a 40-row scan in pages of at most 5 rows, got pages ${pages.join(',')}`);
      assert.deepEqual(keys, ['p06', 'p13', 'p20', 'p27', 'p34']);
    }, { limits: makeLimits({ scanRowsMax: 5 }) });

    conformanceCase(ctx, 'a page stops once its objects pass searchPageBytesMax, and the cursor brings the rest', async (fx) => {
      await fx.addSpace('space b key k attributes string s');
      await Promise.all(Array.from({ length: 9 }, (_, i) => fx.run({ op: 'put', space: 'b', key: `k${i}`, attributes: { s: 'x'.repeat(40) } })));
      const first = pageOf(await fx.run({ op: 'search', space: 'b', limit: 100 }));
      assert.equal(first.keys.length, 3, 'three objects of 48 bytes pass 100 bytes');
      assert.ok(first.cursor);
      assert.deepEqual(await allKeys(fx, { op: 'list', space: 'b', limit: 100, reverse: true }), ['k8', 'k7', 'k6', 'k5', 'k4', 'k3', 'k2', 'k1', 'k0']);
    }, { limits: makeLimits({ searchPageBytesMax: 100 }) });

    conformanceCase(ctx, 'paging under concurrent writes: no key twice, no object present throughout skipped', async (fx) => {
      await seedPeople(fx, PEOPLE_INDEXED, 40);
      const writer = fx.engine.session();
      for (const where of [{ last: 'Smith' }, { age: { gte: 21 } }, {}]) {
        const stable = new Set<Json>(pageOf(await fx.run({ op: 'search', space: 'people', where, limit: 1000 })).keys);
        const touched = new Set<Json>();
        let n = 0;
        const keys = await allKeys(fx, { op: 'search', space: 'people', where, limit: 4 }, async () => {
          // Between pages: create matching objects on both sides of the cursor, delete one and
          // rewrite another (which leaves the "present throughout" set).
          const fresh = [`p${String(n).padStart(2, '0')}x`, `q${n}`, `a${n}`];
          await Promise.all(fresh.map((key) => fx.run({ op: 'put', space: 'people', key, attributes: { last: 'Smith', age: 30 } }, writer)));
          const victim = [...stable].filter((k) => !touched.has(k))[n * 3 % Math.max(1, stable.size)];
          if (victim !== undefined) {
            touched.add(victim);
            await fx.run({ op: 'del', space: 'people', key: victim as string }, writer);
          }
          n++;
        });
        assert.equal(new Set(keys).size, keys.length, `no key twice for ${JSON.stringify(where)}`);
        assert.deepEqual(keys, [...keys].sort(), 'pages come in key order');
        for (const key of stable) if (!touched.has(key)) assert.ok(keys.includes(key), `${String(key)} was present throughout and matched`);
        await fx.run({ op: 'group_del', space: 'people', where: { age: 30 } });
      }
    });

    conformanceCase(ctx, 'sorted_search orders by the attribute then the key, with or without an index, and bounds by limit', async (fx) => {
      await seedPeople(fx, PEOPLE);
      const ask = async (order: 'asc' | 'desc', where: Json = {}) =>
        pageOf(await fx.run({ op: 'sorted_search', space: 'people', where, sort_by: 'age', order, limit: 5, select: ['age'] })).objects;
      const asc = await ask('asc');
      assert.deepEqual(asc, [
        { key: 'p00', attributes: { age: 20 } }, { key: 'p07', attributes: { age: 20 } }, { key: 'p14', attributes: { age: 20 } },
        { key: 'p21', attributes: { age: 20 } }, { key: 'p28', attributes: { age: 20 } },
      ]);
      const desc = await ask('desc', { last: 'Smith' });
      assert.deepEqual(desc.map((o) => o.key), ['p27', 'p06', 'p12', 'p18', 'p24']);
      await fx.run({ op: 'add_index', space: 'people', attribute: 'age' });
      assert.deepEqual(await ask('asc'), asc);
      assert.deepEqual(await ask('desc', { last: 'Smith' }), desc);
    });

    conformanceCase(ctx, 'count from an index leaves out expired objects', async (fx) => {
      await fx.addSpace('space e key k attributes string color index color');
      // A second to live, so that the count before expiry holds on a loaded machine too.
      const expiresAt = Date.now() + 1000;
      await Promise.all(['a', 'b', 'c'].map((key) => fx.run({ op: 'put', space: 'e', key, attributes: { color: 'red' }, expire_in: 1 })));
      await fx.run({ op: 'put', space: 'e', key: 'd', attributes: { color: 'red' } });
      assert.deepEqual(countOf(await fx.run({ op: 'count', space: 'e', where: { color: 'red' }, explain: true })),
        { count: 4, plan: { kind: 'index', attribute: 'color', countedFromIndex: true } });
      await sleep(Math.max(0, expiresAt + 100 - Date.now()));
      assert.equal(countOf(await fx.run({ op: 'count', space: 'e', where: { color: 'red' } })).count, 1);
      assert.deepEqual(pageOf(await fx.run({ op: 'search', space: 'e', where: { color: 'red' } })).keys, ['d']);
      // A put over an expired object replaces its index entries.
      await fx.run({ op: 'put', space: 'e', key: 'a', attributes: { color: 'blue' } });
      assert.equal(countOf(await fx.run({ op: 'count', space: 'e', where: { color: 'red' } })).count, 1);
      assert.deepEqual(pageOf(await fx.run({ op: 'search', space: 'e', where: { color: 'blue' } })).keys, ['a']);
    });

    conformanceCase(ctx, 'indexes keep ints past 2^53, floats, bools and UTF-16 string order exact', async (fx) => {
      await fx.addSpace('space t key int k attributes int n, float f, bool b, string s index n, f, b, s');
      const big = TWO_53_PLUS_1;
      const rows: [number, Json, number, boolean, string][] = [
        [1, big, -1.5, true, '\u{1F600}'], [2, big - 1n, 0, false, '\uFFFD'], [3, big + 1n, -0.25, true, 'z'], [4, -big, 2.5, false, ''],
      ];
      for (const [k, n, f, b, s] of rows) await fx.run({ op: 'put', space: 't', key: k, attributes: { n, f, b, s } });
      const keys = async (where: Json) => pageOf(await fx.run({ op: 'search', space: 't', where })).keys;
      assert.deepEqual(await keys({ n: big }), [1]);
      assert.deepEqual(await keys({ n: { gt: big - 1n } }), [1, 3]);
      assert.deepEqual(await keys({ n: { lt: 0 } }), [4]);
      assert.deepEqual(await keys({ f: { lt: 0 } }), [1, 3]);
      assert.deepEqual(await keys({ f: { gte: -0.25, lte: 0 } }), [2, 3]);
      assert.deepEqual(await keys({ b: true }), [1, 3]);
      // JS (UTF-16) order puts an astral character (a surrogate pair) below U+FFFD.
      assert.deepEqual(await keys({ s: { gt: '\uD800' } }), [1, 2]);
      assert.deepEqual(await keys({ s: { lt: '\uFFFD' } }), [1, 3, 4]);
      const sorted = pageOf(await fx.run({ op: 'sorted_search', space: 't', where: {}, sort_by: 's', limit: 10 })).keys;
      assert.deepEqual(sorted, [4, 3, 1, 2]);
      const byN = pageOf(await fx.run({ op: 'sorted_search', space: 't', where: {}, sort_by: 'n', order: 'desc', limit: 10, select: ['n'] })).objects;
      assert.deepEqual(byN.map((o) => o.attributes), [{ n: big + 1n }, { n: big }, { n: big - 1n }, { n: -big }]);
    });

    conformanceCase(ctx, 'list by key range, prefix, reverse and cursor; int keys past 2^53', async (fx) => {
      await fx.addSpace('space s key k attributes int n');
      const keys = ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c', '\u{1F600}', '\uFFFD'];
      await Promise.all(keys.map((key, n) => fx.run({ op: 'put', space: 's', key, attributes: { n } })));
      const list = (fields: Record<string, Json>) => allKeys(fx, { op: 'list', space: 's', limit: 2, ...fields });
      // Code-point order: U+FFFD comes before U+1F600.
      assert.deepEqual(await list({}), ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c', '\uFFFD', '\u{1F600}']);
      assert.deepEqual(await list({ prefix: 'ab' }), ['ab', 'abc', 'abd']);
      assert.deepEqual(await list({ prefix: 'ab', reverse: true }), ['abd', 'abc', 'ab']);
      assert.deepEqual(await list({ start: 'ab', end: 'b' }), ['ab', 'abc', 'abd']);
      assert.deepEqual(await list({ start: 'b', reverse: true }), ['\u{1F600}', '\uFFFD', 'c', 'ba', 'b']);
      await fx.addSpace('space i key int k attributes int n');
      const ints = [-TWO_53_PLUS_1, -1n, 0n, 5n, TWO_53_PLUS_1, TWO_53_PLUS_1 + 1n];
      await Promise.all(ints.map((k) => fx.run({ op: 'put', space: 'i', key: k, attributes: {} })));
      const intKeys = await allKeys(fx, { op: 'list', space: 'i', limit: 4, reverse: true });
      assert.deepEqual(intKeys.map(String), [...ints].reverse().map(String));
      assert.deepEqual((await allKeys(fx, { op: 'list', space: 'i', start: 0, end: TWO_53_PLUS_1 + 1n })).map(String), ['0', '5', String(TWO_53_PLUS_1)]);
    });

    conformanceCase(ctx, 'group_del and group_mutate write each matching object under the condition and count it', async (fx) => {
      await fx.addSpace('space g key k attributes int n, string kind index kind');
      await Promise.all(Array.from({ length: 25 }, (_, i) => fx.run({ op: 'put', space: 'g', key: `k${i}`, attributes: { n: i, kind: i % 2 ? 'odd' : 'even' } })));
      await fx.run({ op: 'put', space: 'g', key: 'k3', attributes: { n: 9223372036854775807n } });
      const mutated = await fx.run({ op: 'group_mutate', space: 'g', where: { kind: 'odd' }, mutations: [{ add: { n: 1 } }] });
      expectResult(mutated, { ok: true, kind: 'group', matched: 12, changed: 11 }); // k3 overflows: matched, unchanged
      const odd = pageOf(await fx.run({ op: 'search', space: 'g', where: { kind: 'odd' }, select: ['n'] })).objects;
      assert.deepEqual(odd.find((o) => o.key === 'k5')?.attributes, { n: 6 });
      assert.deepEqual(odd.find((o) => o.key === 'k3')?.attributes, { n: 9223372036854775807n });
      expectResult(await fx.run({ op: 'group_del', space: 'g', where: { kind: 'even', n: { lt: 10 } } }), { ok: true, kind: 'group', matched: 5, changed: 5 });
      assert.equal(countOf(await fx.run({ op: 'count', space: 'g', where: {} })).count, 20);
      expectResult(await fx.run({ op: 'group_del', space: 'g', where: { kind: 'none' } }), { ok: true, kind: 'group', matched: 0, changed: 0 });
      expectResult(await fx.run({ op: 'group_del', space: 'g', where: {} }), { ok: true, kind: 'group', matched: 20, changed: 20 });
      assert.equal(countOf(await fx.run({ op: 'count', space: 'g', where: { kind: 'odd' } })).count, 0);
    }, { limits: makeLimits({ batchWritesMax: 4 }) });

    conformanceCase(ctx, 'an index added to a space with data while writes continue is complete', async (fx) => {
      await fx.addSpace('space b key k attributes int n, set(string) tags');
      await Promise.all(Array.from({ length: 60 }, (_, i) => fx.run({ op: 'put', space: 'b', key: `k${String(i).padStart(2, '0')}`, attributes: { n: i % 5, tags: [`t${i % 3}`] } })));
      const writer = fx.engine.session();
      const build = fx.run({ op: 'add_index', space: 'b', attribute: 'n' });
      // Writes that land during the build, some on rows the build has yet to reach, some behind it.
      const writes = Array.from({ length: 40 }, (_, i) => fx.run(
        i % 4 === 0 ? { op: 'del', space: 'b', key: `k${String(i).padStart(2, '0')}` } : { op: 'put', space: 'b', key: `k${String((i * 7) % 70).padStart(2, '0')}`, attributes: { n: (i % 5) + 10 } },
        writer,
      ));
      const [built] = await Promise.all([build, ...writes]);
      assert.ok(built.ok && built.kind === 'space' && built.schema.indexes?.includes('n'));
      for (let n = 0; n < 15; n++) {
        const indexed = pageOf(await fx.run({ op: 'search', space: 'b', where: { n }, limit: 1000, explain: true }));
        assert.deepEqual(indexed.plan, { kind: 'index', attribute: 'n' });
        const scanned = pageOf(await fx.run({ op: 'search', space: 'b', where: { n: { ne: -1 }, or: [{ n }] }, limit: 1000, explain: true }));
        assert.deepEqual(scanned.plan, { kind: 'scan' });
        assert.deepEqual(indexed.keys, scanned.keys, `n = ${n}`);
      }
      expectResult(await fx.run({ op: 'add_index', space: 'b', attribute: 'n' }), { ok: true, kind: 'space', schema: built.schema, createdSeq: built.createdSeq });
      await fx.reopen();
      assert.deepEqual(fx.engine.space('b')?.schema.indexes, ['n']);
    }, { limits: makeLimits({ indexBuildBatchRowsMax: 7 }) });

    conformanceCase(ctx, 'a space removed while its index builds fails the build; the space made anew builds it', async (fx) => {
      const schema = 'space b key k attributes int n';
      await fx.addSpace(schema);
      await Promise.all(Array.from({ length: 50 }, (_, i) => fx.run({ op: 'put', space: 'b', key: `k${i}`, attributes: { n: i % 3 } })));
      const build = fx.run({ op: 'add_index', space: 'b', attribute: 'n' });
      const removed = fx.run({ op: 'rm_space', space: 'b' }, fx.engine.session());
      await expectFault(build, 'unknown_space');
      expectResult(await removed, { ok: true, kind: 'space_removed', space: 'b' });
      await fx.addSpace(schema);
      await Promise.all(Array.from({ length: 10 }, (_, i) => fx.run({ op: 'put', space: 'b', key: `k${i}`, attributes: { n: i % 3 } })));
      const rebuilt = await fx.run({ op: 'add_index', space: 'b', attribute: 'n' });
      assert.ok(rebuilt.ok && rebuilt.kind === 'space' && rebuilt.schema.indexes?.includes('n'));
      assert.deepEqual(pageOf(await fx.run({ op: 'search', space: 'b', where: { n: 1 } })).keys, ['k1', 'k4', 'k7']);
    }, { limits: makeLimits({ indexBuildBatchRowsMax: 1 }) });

    conformanceCase(ctx, 'bad queries fail with stable codes', async (fx) => {
      await seedPeople(fx, PEOPLE, 3);
      const bad: [Wire, string][] = [
        [{ op: 'search', space: 'people', where: { nope: 1 } }, 'unknown_attribute'],
        [{ op: 'search', space: 'people', where: { age: 'old' } }, 'invalid_predicate'],
        [{ op: 'search', space: 'people', where: { age: { prefix: '1' } } }, 'invalid_predicate'],
        [{ op: 'search', space: 'people', where: { last: { regex: '(' } } }, 'invalid_predicate'],
        [{ op: 'search', space: 'people', limit: 0 }, 'invalid_limit'],
        [{ op: 'search', space: 'people', limit: 1001 }, 'invalid_limit'],
        [{ op: 'search', space: 'people', limit: 1.5 }, 'invalid_limit'],
        [{ op: 'search', space: 'people', cursor: 'not a cursor' }, 'invalid_cursor'],
        [{ op: 'list', space: 'people', cursor: encodeCursor('search', { name: 'people', createdSeq: 0 }, 'p01') }, 'invalid_cursor'],
        [{ op: 'search', space: 'people', cursor: encodeCursor('search', { name: 'other', createdSeq: 0 }, 'p01') }, 'invalid_cursor'],
        [{ op: 'sorted_search', space: 'people', sort_by: 'tags' }, 'invalid_predicate'],
        [{ op: 'sorted_search', space: 'people', sort_by: 'nope' }, 'unknown_attribute'],
        [{ op: 'count', space: 'nowhere' }, 'unknown_space'],
        [{ op: 'search', space: 'people', select: ['nope'] }, 'unknown_attribute'],
        [{ op: 'add_index', space: 'people', attribute: 'nope' }, 'unknown_attribute'],
        [{ op: 'search', space: 'people', order: 'asc' }, 'bad_request'],
      ];
      for (const [wire, code] of bad) await expectFault(fx.run(wire), code as never);
    });

    conformanceCase(ctx, 'a catastrophic regex runs in linear time over long values', async (fx) => {
      await fx.addSpace('space r key k attributes string s');
      const evil = `${'a'.repeat(20_000)}b`;
      await Promise.all(Array.from({ length: 20 }, (_, i) => fx.run({ op: 'put', space: 'r', key: `k${i}`, attributes: { s: i === 7 ? 'a'.repeat(100) : evil } })));
      const page = pageOf(await fx.run({ op: 'search', space: 'r', where: { s: { regex: '(a+)+$' } } }));
      assert.deepEqual(page.keys, ['k7']);
      assert.equal(countOf(await fx.run({ op: 'count', space: 'r', where: { s: { regex: '^(a|aa)*$' } } })).count, 1);
    });
  });
}
