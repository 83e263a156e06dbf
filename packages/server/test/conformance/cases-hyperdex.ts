// Proves spacekv does what HyperDex's own documentation says its API does, on every store: the
// schema language's whole grammar (singular keywords, ignored partitioning clauses answered with
// warnings, timestamp keys, float keys); each data type's defaults and atomic operations with HyperDex's
// expected results (string, int, float, list, set, every map key/value type, documents by path,
// timestamps); conditional puts including cond_put_or_create; range, regex and length predicates;
// sorted search and group operations, also on document paths; indexes on document paths and
// rm_index (online, logged, the plan falls back to a scan at once); and bad input on paths (into a
// non-document, past the depth and length limits, a mutation that does not fit the value found),
// each refused with its code and nothing written.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { type Json, type Result, makeLimits, parseJson } from '@spacekv/core';
import {
  attributesOf, conformanceCase, expectFault, expectResult, type Fixture, pageObjects, type SuiteContext, type Wire, writtenVersion,
} from './fixture.js';

type Attrs = { readonly [name: string]: Json };

function keysOf(result: Result): Json[] {
  return pageObjects(result).map((o) => o.key as Json);
}

function planOf(result: Result): unknown {
  if (!result.ok || (result.kind !== 'page' && result.kind !== 'count')) return assert.fail(`expected a page or count, got ${JSON.stringify(result)}`);
  return result.plan;
}

function countOf(result: Result): number {
  if (!result.ok || result.kind !== 'count') return assert.fail(`expected a count, got ${JSON.stringify(result)}`);
  return result.count;
}

async function get(fx: Fixture, space: string, key: Json): Promise<{ version: number; attributes: Attrs }> {
  const result = await fx.run({ op: 'get', space, key });
  if (!result.ok || result.kind !== 'object') return assert.fail(`expected an object, got ${JSON.stringify(result)}`);
  return { version: result.version, attributes: parseJson(result.attributesJson) as Attrs };
}

/** Run one mutate that must succeed and return the new attributes. */
async function mutated(fx: Fixture, space: string, key: Json, mutations: readonly object[]): Promise<Attrs> {
  return attributesOf(await fx.run({ op: 'mutate', space, key, mutations })) as Attrs;
}

/** A write that must be refused with `code`, leaving the object exactly as it was. */
async function refusedUnchanged(fx: Fixture, space: string, key: Json, wire: Wire, code: Parameters<typeof expectFault>[1]): Promise<void> {
  const before = await get(fx, space, key);
  await expectFault(fx.run(wire), code);
  assert.deepEqual(await get(fx, space, key), before, `${JSON.stringify(wire)} must write nothing`);
}

const PROFILES = 'space profiles key username attributes string name, int age, document profile';

export function hyperdexCases(ctx: SuiteContext): void {
  describe('HyperDex: schema grammar', () => {
    conformanceCase(ctx, "HyperDex's quickstart schema loads unchanged; its partitioning clauses are ignored with warnings in the reply", async (fx) => {
      const result = await fx.run({
        op: 'add_space',
        schema: `space phonebook
                 key username
                 attributes first, last, int phone
                 subspace first, last, phone
                 create 8 partitions
                 tolerate 2 failures # HyperDex comments too`,
      });
      if (!result.ok || result.kind !== 'space') return assert.fail(JSON.stringify(result));
      assert.deepEqual(result.schema.attributes.map((a) => a.name), ['first', 'last', 'phone']);
      assert.equal(result.warnings?.length, 3);
      const described = await fx.run({ op: 'describe_space', space: 'phonebook' });
      assert.ok(described.ok && described.kind === 'space' && described.warnings === undefined, 'warnings are the reply of add_space only');
      await fx.addSpace('space kv key k attribute v create 1 partition tolerate 0 failure');
      await fx.run({ op: 'put', space: 'kv', key: 'a', attributes: { v: 'x' } });
      assert.deepEqual((await get(fx, 'kv', 'a')).attributes, { v: 'x' });
    });

    conformanceCase(ctx, 'a timestamp key orders objects by time and takes ISO 8601 or epoch milliseconds', async (fx) => {
      await fx.addSpace('space events key timestamp(second) at attributes string what');
      await fx.run({ op: 'put', space: 'events', key: '2024-03-01T00:00:00Z', attributes: { what: 'march' } });
      await fx.run({ op: 'put', space: 'events', key: 0, attributes: { what: 'epoch' } });
      await fx.run({ op: 'put', space: 'events', key: '1999-12-31T23:59:59.500Z', attributes: { what: 'y2k eve' } });
      assert.deepEqual((await get(fx, 'events', '1970-01-01T00:00:00.000Z')).attributes, { what: 'epoch' });
      assert.deepEqual(keysOf(await fx.run({ op: 'list', space: 'events' })), ['1970-01-01T00:00:00.000Z', '1999-12-31T23:59:59.500Z', '2024-03-01T00:00:00.000Z']);
      assert.deepEqual(keysOf(await fx.run({ op: 'search', space: 'events', where: { at: { gte: '1999-01-01T00:00:00Z' } } })), [
        '1999-12-31T23:59:59.500Z', '2024-03-01T00:00:00.000Z',
      ]);
      await expectFault(fx.run({ op: 'get', space: 'events', key: 'yesterday' }), 'invalid_key');
    });

    conformanceCase(ctx, 'a float key is stored, ordered, paged, searched, logged and read back after a restart by value, bit for bit', async (fx) => {
      await fx.addSpace('space points key float x attribute string name');
      // Whole floats beside fractions (SQLite stores those as INTEGER beside REAL), text order
      // differing from value order (10 < 9.5 as text), subnormals, the extremes, past 2^53.
      const keys = [10, 9.5, 2, 1.5, 0.1, -0.002, 5e-324, 2 ** 60, 1e300, -1.7976931348623157e308, -(2 ** 60) - 2 ** 9];
      for (const x of keys) await fx.run({ op: 'put', space: 'points', key: x, attributes: { name: String(x) } });
      const ordered = [...keys].sort((a, b) => a - b);
      const listed = async () => keysOf(await fx.run({ op: 'list', space: 'points' }));
      assert.deepEqual(await listed(), ordered);
      // Index entries point at float keys: built online over these objects, then kept by each write.
      const indexed = await fx.run({ op: 'add_index', space: 'points', attribute: 'name' });
      assert.ok(indexed.ok && indexed.kind === 'space', JSON.stringify(indexed));
      // -0 is the key 0 (as in HyperDex, where the two compare equal): one object, read back as 0.
      await fx.run({ op: 'put', space: 'points', key: -0, attributes: { name: 'zero' } });
      const again = await fx.run({ op: 'put_if_not_exist', space: 'points', key: 0, attributes: { name: 'again' } });
      assert.ok(!again.ok && again.code === 'exists', `put_if_not_exist on 0 after -0: ${JSON.stringify(again)}`);
      assert.deepEqual((await get(fx, 'points', '-0')).attributes, { name: 'zero' }, 'a path segment -0 names the key 0');
      const all = [...ordered.filter((x) => x < 0), 0, ...ordered.filter((x) => x > 0)];
      assert.deepEqual(await listed(), all);
      assert.ok(!(await listed()).some((k) => Object.is(k, -0)), 'the key 0 is never listed as -0');
      // Paging: each cursor carries its last key as text, which must read back as that exact double.
      const paged: Json[] = [];
      let cursor: string | undefined;
      do {
        const page = await fx.run({ op: 'list', space: 'points', limit: 2, ...(cursor === undefined ? {} : { cursor }) });
        paged.push(...pageObjects(page).map((o) => o.key as Json));
        cursor = page.ok && page.kind === 'page' ? page.cursor : undefined;
      } while (cursor !== undefined);
      assert.deepEqual(paged, all);
      // Key ranges and predicates on the key, and the key's text form (a path segment, a cursor).
      assert.deepEqual(keysOf(await fx.run({ op: 'list', space: 'points', start: '-2e-3', end: 2 })), [-0.002, 0, 5e-324, 0.1, 1.5]);
      assert.deepEqual(keysOf(await fx.run({ op: 'search', space: 'points', where: { x: { gt: 1.5, lte: 10 } } })), [2, 9.5, 10]);
      assert.deepEqual(keysOf(await fx.run({ op: 'sorted_search', space: 'points', where: { x: { gte: 9.5 } }, sort_by: 'name', order: 'desc', limit: 3 })), [
        9.5, 1e300, 2 ** 60, // by name, as text: '9.5' > '1e+300' > '1152921504606847000' > '10'
      ]);
      assert.equal(countOf(await fx.run({ op: 'count', space: 'points', where: { x: { lt: 0 } } })), 3);
      const byName = await fx.run({ op: 'search', space: 'points', where: { name: { prefix: '1' } }, explain: true });
      assert.deepEqual([keysOf(byName), planOf(byName)], [[1.5, 10, 2 ** 60, 1e300], { kind: 'index', attribute: 'name' }]);
      assert.deepEqual(keysOf(await fx.run({ op: 'search', space: 'points', where: { name: 'zero' } })), [0]);
      assert.deepEqual((await get(fx, 'points', '1e+300')).attributes, { name: '1e+300' });
      // The change log hands every key back as the same double, and so does the store after a restart.
      const { changes } = await fx.store.readChanges(0, 100);
      const logged = changes.filter((c) => c.space === 'points' && c.op === 'put').map((c) => c.key);
      assert.deepEqual(logged, [...keys, 0]);
      await fx.reopen();
      assert.deepEqual(await listed(), all);
      assert.deepEqual((await get(fx, 'points', 2 ** 60)).attributes, { name: String(2 ** 60) });
    });

    conformanceCase(ctx, 'a float key must be a finite number: NaN, Infinity and non-numbers are refused with invalid_key, nothing written', async (fx) => {
      await fx.addSpace('space points key float x attribute string name');
      for (const key of ['NaN', 'Infinity', '-Infinity', '1e400', 'abc', '1.5x', '0x10', '', ' 1', true, null, [1]]) {
        await expectFault(fx.run({ op: 'put', space: 'points', key, attributes: { name: 'bad' } }), 'invalid_key');
        await expectFault(fx.run({ op: 'get', space: 'points', key }), 'invalid_key');
      }
      await expectFault(fx.run({ op: 'list', space: 'points', start: 'NaN' }), 'invalid_key');
      await expectFault(fx.run({ op: 'list', space: 'points', prefix: '1' }), 'bad_request');
      assert.deepEqual(keysOf(await fx.run({ op: 'list', space: 'points' })), []);
    });
  });

  describe('HyperDex: data types and atomic operations', () => {
    conformanceCase(ctx, 'an object put with no attributes reads every type default, an unset document as {}', async (fx) => {
      await fx.addSpace(`space d key k attributes string s, int i, float f, list(string) l, set(int) st, map(string, float) m,
        document doc, timestamp t`);
      await fx.run({ op: 'put', space: 'd', key: 'a', attributes: {} });
      assert.deepEqual((await get(fx, 'd', 'a')).attributes, {
        s: '', i: 0, f: 0, l: [], st: [], m: {}, doc: {}, t: '1970-01-01T00:00:00.000Z',
      });
      assert.deepEqual(await mutated(fx, 'd', 'a', [{ set: { doc: { a: 1 } } }, { unset: { doc: true } }]), {
        s: '', i: 0, f: 0, l: [], st: [], m: {}, doc: {}, t: '1970-01-01T00:00:00.000Z',
      });
    });

    conformanceCase(ctx, 'strings, ints and floats: string_prepend/append and every atomic_* with HyperDex results', async (fx) => {
      await fx.addSpace('space t key k attributes string s, int i, float f');
      await fx.run({ op: 'put', space: 't', key: 'a', attributes: { s: 'world', i: 42, f: 2.5 } });
      assert.deepEqual(await mutated(fx, 't', 'a', [{ prepend: { s: 'hello ' } }, { append: { s: '!' } }]), { s: 'hello world!', i: 42, f: 2.5 });
      const steps: [object, Json][] = [
        [{ add: { i: 8 } }, 50], [{ sub: { i: 60 } }, -10], [{ mul: { i: -3 } }, 30], [{ div: { i: 7 } }, 4], [{ mod: { i: 3 } }, 1],
        [{ or: { i: 6 } }, 7], [{ and: { i: 5 } }, 5], [{ xor: { i: 3 } }, 6], [{ max: { i: 9 } }, 9], [{ min: { i: -1 } }, -1],
      ];
      for (const [mutation, i] of steps) assert.equal((await mutated(fx, 't', 'a', [mutation])).i, i, JSON.stringify(mutation));
      assert.equal((await mutated(fx, 't', 'a', [{ mul: { f: 3 } }, { sub: { f: 0.5 } }])).f, 7);
      const version = (await get(fx, 't', 'a')).version;
      expectResult(await fx.run({ op: 'mutate', space: 't', key: 'a', mutations: [{ div: { i: 0 } }] }), { ok: false, code: 'division_by_zero', version });
      expectResult(await fx.run({ op: 'mutate', space: 't', key: 'a', mutations: [{ set: { i: 2n ** 63n - 1n } }, { add: { i: 1 } }] }), { ok: false, code: 'overflow', version });
    });

    conformanceCase(ctx, 'lists and sets: list_lpush/rpush, string-style append, set_add/remove/union/intersect', async (fx) => {
      await fx.addSpace('space c key k attributes list(string) l, set(int) s');
      await fx.run({ op: 'put', space: 'c', key: 'a', attributes: { l: ['b'], s: [3, 1] } });
      assert.deepEqual(await mutated(fx, 'c', 'a', [{ lpush: { l: 'a' } }, { rpush: { l: 'c' } }, { append: { l: ['d'] } }]), { l: ['a', 'b', 'c', 'd'], s: [1, 3] });
      assert.deepEqual((await mutated(fx, 'c', 'a', [{ set_add: { s: 2 } }, { set_add: { s: 3 } }])).s, [1, 2, 3]);
      assert.deepEqual((await mutated(fx, 'c', 'a', [{ set_remove: { s: 1 } }])).s, [2, 3]);
      assert.deepEqual((await mutated(fx, 'c', 'a', [{ set_union: { s: [5, 2, 4] } }])).s, [2, 3, 4, 5]);
      assert.deepEqual((await mutated(fx, 'c', 'a', [{ set_intersect: { s: [4, 5, 9] } }])).s, [4, 5]);
    });

    conformanceCase(ctx, 'maps of every key and value type: map_add entries, map_remove, map_atomic_*, map_string_prepend/append', async (fx) => {
      const kinds = ['string', 'int', 'float'] as const;
      const keyOf = { string: 'one', int: '1', float: '1.5' } as const;
      const valueOf = { string: 'x', int: 2, float: 0.5 } as const;
      await fx.addSpace(`space maps key k attributes ${kinds.flatMap((k) => kinds.map((v) => `map(${k}, ${v}) m_${k}_${v}`)).join(', ')}`);
      await fx.run({ op: 'put', space: 'maps', key: 'a', attributes: {} });
      for (const k of kinds) {
        for (const v of kinds) {
          const name = `m_${k}_${v}`;
          const key = keyOf[k];
          let after = await mutated(fx, 'maps', 'a', [{ map_set: { [name]: { [key]: valueOf[v] } } }]);
          assert.deepEqual(after[name], { [key]: valueOf[v] }, name);
          if (v === 'string') {
            after = await mutated(fx, 'maps', 'a', [{ map_string_prepend: { [name]: { [key]: '<' } } }, { map_string_append: { [name]: { [key]: '>', [key === 'one' ? 'two' : '2']: 'new' } } }]);
            assert.deepEqual(after[name], { [key]: '<x>', [key === 'one' ? 'two' : '2']: 'new' }, name);
          } else {
            after = await mutated(fx, 'maps', 'a', [{ map_add: { [name]: { [key]: 3 } } }, { map_mul: { [name]: { [key]: 2 } } }]);
            assert.deepEqual(after[name], { [key]: (valueOf[v] + 3) * 2 }, name);
            await expectFault(fx.run({ op: 'mutate', space: 'maps', key: 'a', mutations: [{ map_string_append: { [name]: { [key]: 'x' } } }] }), 'invalid_mutation');
          }
          after = await mutated(fx, 'maps', 'a', [{ map_remove: { [name]: [key, key === 'one' ? 'two' : '2'] } }]);
          assert.deepEqual(after[name], {}, name);
        }
      }
    });

    conformanceCase(ctx, 'documents by path: put, get_partial, every atomic operation inside, document_rename and document_unset', async (fx) => {
      await fx.addSpace(PROFILES);
      await fx.run({ op: 'put', space: 'profiles', key: 'jane', attributes: { 'profile.name': 'Jane', 'profile.sessions': 0 } });
      assert.deepEqual((await get(fx, 'profiles', 'jane')).attributes, { name: '', age: 0, profile: { name: 'Jane', sessions: 0 } });
      await fx.run({ op: 'put', space: 'profiles', key: 'jane', attributes: { 'profile.address.city': 'Ithaca' } });
      const steps: [object, Json][] = [
        [{ add: { 'profile.sessions': 5 } }, { name: 'Jane', sessions: 5, address: { city: 'Ithaca' } }],
        [{ mul: { 'profile.sessions': 2 } }, { name: 'Jane', sessions: 10, address: { city: 'Ithaca' } }],
        [{ append: { 'profile.name': ' Doe' } }, { name: 'Jane Doe', sessions: 10, address: { city: 'Ithaca' } }],
        [{ prepend: { 'profile.name': 'Dr. ' } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' } }],
        [{ rpush: { 'profile.langs': 'en' } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' }, langs: ['en'] }],
        [{ lpush: { 'profile.langs': 'fr' } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' }, langs: ['fr', 'en'] }],
        [{ set_add: { 'profile.langs': 'en' } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' }, langs: ['fr', 'en'] }],
        [{ set_union: { 'profile.langs': ['de', 'fr'] } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' }, langs: ['fr', 'en', 'de'] }],
        [{ set_remove: { 'profile.langs': 'fr' } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' }, langs: ['en', 'de'] }],
        [{ set_intersect: { 'profile.langs': ['de'] } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' }, langs: ['de'] }],
        [{ map_set: { 'profile.address': { zip: '14850' } } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca', zip: '14850' }, langs: ['de'] }],
        [{ map_string_append: { 'profile.address': { zip: '-1', street: 'State St' } } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca', zip: '14850-1', street: 'State St' }, langs: ['de'] }],
        [{ map_remove: { 'profile.address': ['zip', 'street'] } }, { name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' }, langs: ['de'] }],
        [{ document_rename: { 'profile.name': 'profile.full_name' } }, { full_name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' }, langs: ['de'] }],
        [{ document_unset: { 'profile.langs': true } }, { full_name: 'Dr. Jane Doe', sessions: 10, address: { city: 'Ithaca' } }],
        [{ div: { 'profile.sessions': 4 } }, { full_name: 'Dr. Jane Doe', sessions: 2, address: { city: 'Ithaca' } }],
        [{ add: { 'profile.score': 0.5 } }, { full_name: 'Dr. Jane Doe', sessions: 2, address: { city: 'Ithaca' }, score: 0.5 }],
        [{ set: { 'profile.address': null } }, { full_name: 'Dr. Jane Doe', sessions: 2, address: null, score: 0.5 }],
      ];
      for (const [mutation, profile] of steps) assert.deepEqual((await mutated(fx, 'profiles', 'jane', [mutation])).profile, profile, JSON.stringify(mutation));
      const partial = await fx.run({ op: 'get_partial', space: 'profiles', key: 'jane', select: ['profile.full_name', 'profile.none', 'age'] });
      if (!partial.ok || partial.kind !== 'object') return assert.fail(JSON.stringify(partial));
      assert.deepEqual(parseJson(partial.attributesJson), { 'profile.full_name': 'Dr. Jane Doe', 'profile.none': null, age: 0 });
    });

    conformanceCase(ctx, 'ints inside a document stay exact past 2^53 and overflow as the int type does', async (fx) => {
      await fx.addSpace(PROFILES);
      await fx.run({ op: 'put', space: 'profiles', key: 'a', attributes: { 'profile.n': 2n ** 62n } });
      assert.equal(((await mutated(fx, 'profiles', 'a', [{ add: { 'profile.n': 1 } }])).profile as Attrs).n, 2n ** 62n + 1n);
      const { version } = await get(fx, 'profiles', 'a');
      expectResult(await fx.run({ op: 'mutate', space: 'profiles', key: 'a', mutations: [{ mul: { 'profile.n': 4 } }] }), { ok: false, code: 'overflow', version });
      expectResult(await fx.run({ op: 'mutate', space: 'profiles', key: 'a', mutations: [{ mod: { 'profile.n': 0 } }] }), { ok: false, code: 'division_by_zero', version });
    });
  });

  describe('HyperDex: conditional puts', () => {
    conformanceCase(ctx, 'cond_put needs the object and the condition; cond_put_or_create creates an absent object', async (fx) => {
      await fx.addSpace(PROFILES);
      expectResult(await fx.run({ op: 'cond_put', space: 'profiles', key: 'x', if: { age: 1 }, attributes: { age: 2 } }), { ok: false, code: 'not_found', version: 0 });
      const created = writtenVersion(await fx.run({ op: 'cond_put_or_create', space: 'profiles', key: 'x', if: { age: 30 }, attributes: { age: 2 } }));
      assert.deepEqual(await get(fx, 'profiles', 'x'), { version: created, attributes: { name: '', age: 2, profile: {} } });
      expectResult(await fx.run({ op: 'cond_put_or_create', space: 'profiles', key: 'x', if: { age: 30 }, attributes: { age: 3 } }), { ok: false, code: 'cmp_fail', version: created });
      const put = writtenVersion(await fx.run({ op: 'cond_put_or_create', space: 'profiles', key: 'x', if: { age: 2 }, attributes: { age: 3, 'profile.by': 'cond' } }));
      assert.deepEqual(await get(fx, 'profiles', 'x'), { version: put, attributes: { name: '', age: 3, profile: { by: 'cond' } } });
      const latest = expectResult(await fx.run({ op: 'cond_put', space: 'profiles', key: 'x', if: { 'profile.by': 'cond' }, attributes: { age: 4 } }), { ok: true, kind: 'written', key: 'x', created: false });
      expectResult(await fx.run({ op: 'put_if_not_exist', space: 'profiles', key: 'x', attributes: {} }), { ok: false, code: 'exists', version: latest });
      const inTx = await fx.run({ op: 'tx', checks: [], ops: [{ op: 'cond_put_or_create', space: 'profiles', key: 'y', if: { age: 1 }, attributes: { age: 9 } }] });
      assert.ok(inTx.ok && inTx.kind === 'tx', 'cond_put_or_create runs inside a tx');
      assert.equal((await get(fx, 'profiles', 'y')).attributes.age, 9);
    });
  });

  describe('HyperDex: predicates, sorted search and group operations', () => {
    async function seed(fx: Fixture, schema: string): Promise<void> {
      await fx.addSpace(schema);
      const people: [string, Attrs][] = [
        ['ada', { name: 'Ada Lovelace', age: 36, profile: { city: 'London', born: 1815, tags: ['math'] } }],
        ['alan', { name: 'Alan Turing', age: 41, profile: { city: 'London', born: 1912, tags: ['math', 'cs'] } }],
        ['grace', { name: 'Grace Hopper', age: 85, profile: { city: 'New York', born: 1906 } }],
        ['linus', { name: 'Linus', age: 54, profile: { city: 'Portland', born: '1969' } }],
        ['nobody', { name: 'X', age: 1 }],
      ];
      for (const [key, attributes] of people) await fx.run({ op: 'put', space: 'profiles', key, attributes });
    }
    const search = async (fx: Fixture, where: Json): Promise<Json[]> => keysOf(await fx.run({ op: 'search', space: 'profiles', where }));

    for (const [title, schema] of [['unindexed', PROFILES], ['indexed', `${PROFILES} index age, profile.city, profile.born`]] as const) {
      conformanceCase(ctx, `ranges, regex and length on attributes and on document paths, typed by the value found (${title})`, async (fx) => {
        await seed(fx, schema);
        assert.deepEqual(await search(fx, { age: { gte: 40, lt: 60 } }), ['alan', 'linus']);
        assert.deepEqual(await search(fx, { name: { regex: '^A[a-z]+ ' } }), ['ada', 'alan']);
        assert.deepEqual(await search(fx, { name: { length_lte: 5 } }), ['linus', 'nobody']);
        assert.deepEqual(await search(fx, { 'profile.city': 'London' }), ['ada', 'alan']);
        assert.deepEqual(await search(fx, { 'profile.born': { lt: 1910 } }), ['ada', 'grace']); // '1969' is a string: no match
        assert.deepEqual(await search(fx, { 'profile.born': { gte: '1900' } }), ['linus']);
        assert.deepEqual(await search(fx, { 'profile.born': { ne: 1815 } }), ['alan', 'grace']);
        assert.deepEqual(await search(fx, { 'profile.city': { prefix: 'New' } }), ['grace']);
        assert.deepEqual(await search(fx, { 'profile.city': { regex: 'o.*d$' } }), ['linus']);
        assert.deepEqual(await search(fx, { 'profile.tags': { contains: 'cs' } }), ['alan']);
        assert.deepEqual(await search(fx, { 'profile.tags': { length_gte: 1 } }), ['ada', 'alan']);
        assert.deepEqual(await search(fx, { 'profile.city': { length_eq: 6 } }), ['ada', 'alan']);
        assert.deepEqual(await search(fx, { 'profile.missing': { ne: 1 } }), []);
        assert.equal(countOf(await fx.run({ op: 'count', space: 'profiles', where: { 'profile.city': 'London', age: { gt: 40 } } })), 1);
        const sorted = await fx.run({ op: 'sorted_search', space: 'profiles', where: {}, sort_by: 'profile.born', order: 'desc', limit: 3 });
        assert.deepEqual(keysOf(sorted), ['linus', 'alan', 'grace'], 'strings after numbers, absent first: desc puts the string first');
        assert.deepEqual(keysOf(await fx.run({ op: 'sorted_search', space: 'profiles', where: { 'profile.city': 'London' }, sort_by: 'profile.born' })), ['ada', 'alan']);
        assert.deepEqual(keysOf(await fx.run({ op: 'sorted_search', space: 'profiles', where: {}, sort_by: 'age', limit: 2 })), ['nobody', 'ada']);
        if (title === 'indexed') {
          assert.deepEqual(planOf(await fx.run({ op: 'search', space: 'profiles', where: { 'profile.city': 'London' }, explain: true })), { kind: 'index', attribute: 'profile.city' });
          assert.deepEqual(planOf(await fx.run({ op: 'count', space: 'profiles', where: { 'profile.born': { lt: 1910 } }, explain: true })), { kind: 'index', attribute: 'profile.born' });
        }
      });
    }

    conformanceCase(ctx, 'group_mutate and group_del select by a document path and mutate inside documents', async (fx) => {
      await seed(fx, `${PROFILES} index profile.city`);
      expectResult(await fx.run({ op: 'group_mutate', space: 'profiles', where: { 'profile.city': 'London' }, mutations: [{ add: { 'profile.visits': 1 } }] }), {
        ok: true, kind: 'group', matched: 2, changed: 2,
      });
      assert.deepEqual(((await get(fx, 'profiles', 'alan')).attributes.profile as Attrs).visits, 1);
      expectResult(await fx.run({ op: 'group_del', space: 'profiles', where: { 'profile.visits': { gte: 1 } } }), { ok: true, kind: 'group', matched: 2, changed: 2 });
      assert.deepEqual(keysOf(await fx.run({ op: 'list', space: 'profiles' })), ['grace', 'linus', 'nobody']);
      assert.deepEqual(await search(fx, { 'profile.city': 'London' }), [], 'the index entries went with the objects');
    });
  });

  describe('HyperDex: indexes on document paths and rm_index', () => {
    conformanceCase(ctx, 'add_index on a path is complete; rm_index drops it online, logs it, and searches scan at once with the same answers', async (fx) => {
      await fx.addSpace(PROFILES);
      for (let i = 0; i < 30; i++) await fx.run({ op: 'put', space: 'profiles', key: `p${i}`, attributes: { profile: { team: i % 3 === 0 ? 'red' : i % 3 === 1 ? 7 : ['red'] } } });
      const where = { 'profile.team': 'red' };
      const scanned = keysOf(await fx.run({ op: 'search', space: 'profiles', where }));
      assert.equal(scanned.length, 10);
      const added = await fx.run({ op: 'add_index', space: 'profiles', attribute: 'profile.team' });
      assert.ok(added.ok && added.kind === 'space' && added.schema.indexes?.includes('profile.team'));
      const indexed = await fx.run({ op: 'search', space: 'profiles', where, explain: true });
      assert.deepEqual([keysOf(indexed), planOf(indexed)], [scanned, { kind: 'index', attribute: 'profile.team' }]);
      assert.equal(countOf(await fx.run({ op: 'count', space: 'profiles', where: { 'profile.team': 7 } })), 10);
      const headBefore = (await fx.store.readChanges(0, 1000)).headSeq;
      const removed = await fx.run({ op: 'rm_index', space: 'profiles', attribute: 'profile.team' });
      assert.ok(removed.ok && removed.kind === 'space' && removed.schema.indexes === undefined, JSON.stringify(removed));
      const log = await fx.store.readChanges(headBefore, 10);
      assert.deepEqual(log.changes.map((c) => [c.op, c.space, c.key, c.attributesJson]), [['rm_index', 'profiles', '', null]]);
      const after = await fx.run({ op: 'search', space: 'profiles', where, explain: true });
      assert.deepEqual([keysOf(after), planOf(after)], [scanned, { kind: 'scan' }]);
      expectResult(await fx.run({ op: 'rm_index', space: 'profiles', attribute: 'profile.team' }), removed as unknown as Record<string, unknown>);
      assert.equal((await fx.store.readChanges(headBefore, 10)).changes.length, 1, 'dropping an index that is not there writes nothing');
      await fx.reopen();
      const described = await fx.run({ op: 'describe_space', space: 'profiles' });
      assert.ok(described.ok && described.kind === 'space' && described.schema.indexes === undefined, 'the drop is durable');
      const again = await fx.run({ op: 'add_index', space: 'profiles', attribute: 'profile.team' });
      assert.ok(again.ok && again.kind === 'space');
      assert.deepEqual(keysOf(await fx.run({ op: 'search', space: 'profiles', where })), scanned, 'an index built again after a drop is whole');
    });

    conformanceCase(ctx, 'rm_index of a schema-declared index on a top-level attribute: the planner scans, answers stay the same', async (fx) => {
      await fx.addSpace('space s key k attributes int n, string t index n, t');
      for (let i = 0; i < 20; i++) await fx.run({ op: 'put', space: 's', key: `k${i}`, attributes: { n: i % 4, t: `t${i % 2}` } });
      const before = keysOf(await fx.run({ op: 'search', space: 's', where: { n: 2 } }));
      const removed = await fx.run({ op: 'rm_index', space: 's', attribute: 'n' });
      assert.ok(removed.ok && removed.kind === 'space');
      assert.deepEqual(removed.schema.indexes, ['t']);
      const after = await fx.run({ op: 'search', space: 's', where: { n: 2 }, explain: true });
      assert.deepEqual([keysOf(after), planOf(after)], [before, { kind: 'scan' }]);
      await expectFault(fx.run({ op: 'rm_index', space: 'nope', attribute: 'n' }), 'unknown_space');
    });
  });

  describe('HyperDex: bad input on document paths', () => {
    conformanceCase(ctx, 'a path into a non-document attribute is invalid_path everywhere, and nothing is written', async (fx) => {
      await fx.addSpace(PROFILES);
      await fx.run({ op: 'put', space: 'profiles', key: 'a', attributes: { name: 'A', profile: { x: 'text' } } });
      await refusedUnchanged(fx, 'profiles', 'a', { op: 'put', space: 'profiles', key: 'a', attributes: { 'name.first': 'A' } }, 'invalid_path');
      await refusedUnchanged(fx, 'profiles', 'a', { op: 'mutate', space: 'profiles', key: 'a', mutations: [{ add: { 'age.n': 1 } }] }, 'invalid_path');
      await expectFault(fx.run({ op: 'search', space: 'profiles', where: { 'name.first': 'A' } }), 'invalid_path');
      await expectFault(fx.run({ op: 'get_partial', space: 'profiles', key: 'a', select: ['age.x'] }), 'invalid_path');
      await expectFault(fx.run({ op: 'add_index', space: 'profiles', attribute: 'age.x' }), 'invalid_path');
      await expectFault(fx.run({ op: 'sorted_search', space: 'profiles', sort_by: 'name.x' }), 'invalid_path');
      await refusedUnchanged(fx, 'profiles', 'a', { op: 'put', space: 'profiles', key: 'a', attributes: { 'profile..x': 1 } }, 'invalid_path');
      await refusedUnchanged(fx, 'profiles', 'a', { op: 'put', space: 'profiles', key: 'a', attributes: { 'nope.x': 1 } }, 'unknown_attribute');
      // Through a value that is not an object: known only when applied, refused all the same.
      await refusedUnchanged(fx, 'profiles', 'a', { op: 'put', space: 'profiles', key: 'a', attributes: { age: 5, 'profile.x.y': 1 } }, 'invalid_path');
    });

    conformanceCase(ctx, 'a path past documentPathDepthMax is too_large, and nothing is written', async (fx) => {
      await fx.addSpace(PROFILES);
      await fx.run({ op: 'put', space: 'profiles', key: 'a', attributes: { age: 1 } });
      const deep = `profile${'.d'.repeat(fx.limits.documentPathDepthMax + 1)}`;
      const fault = await expectFault(fx.run({ op: 'put', space: 'profiles', key: 'a', attributes: { [deep]: 1 } }), 'too_large');
      assert.equal(fault.details.limit, 'documentPathDepthMax');
      await refusedUnchanged(fx, 'profiles', 'a', { op: 'mutate', space: 'profiles', key: 'a', mutations: [{ add: { [deep]: 1 } }] }, 'too_large');
      await expectFault(fx.run({ op: 'count', space: 'profiles', where: { [deep]: 1 } }), 'too_large');
      const atLimit = `profile${'.d'.repeat(fx.limits.documentPathDepthMax)}`;
      await fx.run({ op: 'put', space: 'profiles', key: 'a', attributes: { [atLimit]: 1 } });
      assert.equal(countOf(await fx.run({ op: 'count', space: 'profiles', where: { [atLimit]: 1 } })), 1);
    }, { limits: makeLimits({ documentPathDepthMax: 4 }) });

    conformanceCase(ctx, 'a path past documentPathLengthMax is too_large, and nothing is written', async (fx) => {
      await fx.addSpace(PROFILES);
      await fx.run({ op: 'put', space: 'profiles', key: 'a', attributes: { age: 1 } });
      const long = `profile.${'x'.repeat(fx.limits.documentPathLengthMax)}`;
      const fault = await expectFault(fx.run({ op: 'put', space: 'profiles', key: 'a', attributes: { [long]: 1 } }), 'too_large');
      assert.equal(fault.details.limit, 'documentPathLengthMax');
      await refusedUnchanged(fx, 'profiles', 'a', { op: 'mutate', space: 'profiles', key: 'a', mutations: [{ set: { [long]: 1 } }] }, 'too_large');
    }, { limits: makeLimits({ documentPathLengthMax: 40 }) });

    conformanceCase(ctx, 'a mutation that does not fit the value found at the path is invalid_mutation, and nothing is written', async (fx) => {
      await fx.addSpace(PROFILES);
      await fx.run({ op: 'put', space: 'profiles', key: 'a', attributes: { profile: { name: 'A', n: 1.5, list: [1], obj: {} } } });
      const misfits: object[] = [
        { add: { 'profile.name': 1 } }, { append: { 'profile.n': 'x' } }, { append: { 'profile.name': ['x'] } }, { lpush: { 'profile.obj': 1 } },
        { set_add: { 'profile.name': 1 } }, { map_set: { 'profile.list': { a: 1 } } }, { map_add: { 'profile.obj': { a: 'x' } } },
        { and: { 'profile.n': 1 } }, { document_rename: { 'profile.missing': 'profile.other' } }, { document_rename: { 'profile.name': 'name' } },
        { map_string_append: { 'profile.name': { a: 'x' } } },
      ];
      for (const mutation of misfits) {
        // A valid first mutation proves the whole operation is refused, not only the misfit.
        await refusedUnchanged(fx, 'profiles', 'a', { op: 'mutate', space: 'profiles', key: 'a', mutations: [{ set: { age: 99 } }, mutation] }, 'invalid_mutation');
      }
      await refusedUnchanged(fx, 'profiles', 'a', { op: 'mutate', space: 'profiles', key: 'a', mutations: [{ document_unset: { profile: true } }] }, 'invalid_mutation');
    });
  });
}
