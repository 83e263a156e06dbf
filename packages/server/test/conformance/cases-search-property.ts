// Proves, on random data and random predicates (fast-check, seeded: SPACEKV_SEED, the seed printed on
// failure; SPACEKV_PROPERTY_RUNS for a longer run), that search (followed page by page), count and
// sorted_search return exactly what a plain in-memory filter of the same objects returns (core's
// evaluateCondition, compareSortValues then key order), on a space with every indexable attribute
// indexed and on the same data without indexes: every predicate operator, every attribute type,
// values chosen to hit the edges (ints past 2^53, int64 bounds, -0, 1e20, astral vs BMP strings),
// and document paths (`d.a`, `d.b.c`, indexed on the indexed space) holding JSON of every kind, so
// that an operator meets values of its own kind, of other kinds, and nothing. After the first
// queries, random rewrites (whole objects, the document alone) and deletions, then the queries
// again: an index entry a write failed to make shows as a difference (one it left behind does not:
// search checks every candidate against the condition). Checked against planted path-index bugs at
// the default 15 runs: a path indexed by a shorter path failed 8 seeds of 8; ints past 2^53 at a
// path left out of the index failed 3 seeds of 4.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import fc from 'fast-check';
import {
  type Attributes, type Json, type Key, type Space, type Value, StepBudget, compareKeys, compareSortValues, completeAttributes, evaluateCondition,
  parseAttributes, parseCondition, parseJson, readName, stringifyJson,
} from '@spacekv/core';
import { conformanceCase, type Fixture, pageObjects, seedFromEnv, type SuiteContext, type Wire } from './fixture.js';

const ATTRIBUTES = 'string s, int i, float f, bool b, bytes by, timestamp t, list(string) l, set(int) st, map(string, int) m, document d';
const INDEXED = 's, i, f, b, by, t, l, st, m, d.a, d.b.c';

const STRINGS = ['', 'a', 'ab', 'abc', 'b', 'Z', 'é', '\uFFFD', '\u{1F600}', 'a\u{1F600}'];
const INTS: readonly Json[] = [0, 1, -1, 42, 2n ** 53n + 1n, 2n ** 53n, -(2n ** 63n), 2n ** 63n - 1n];
const FLOATS = [0, -0.5, 1.5, 1e20, -1e-5, 3, -0];
const BYTES = ['', 'AA==', 'AAE=', '/w==', 'YWJj'];
const TIMES = ['1970-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '2024-01-01T00:00:00.001Z'];
const PATTERNS = ['^a', 'b$', '\u{1F600}', '.', '^$', '(a|b)+', 'a*c', '^[a-c]+$'];
const DOCS: readonly Json[] = [null, 1, { a: 1 }, [1, 'x'], 'text'];
/** What a document path may hold: every JSON kind, ints past 2^53, strings that order around each other. */
const PATH_SCALARS: readonly Json[] = [1, 2.5, -3, 2n ** 53n + 1n, 2n ** 53n, '', 'a', 'ab', '\u{1F600}', true, null];
const PATH_VALUES: readonly Json[] = [...PATH_SCALARS, [1, 'a'], { x: 1 }];
const PATH_ORDERED: readonly Json[] = PATH_SCALARS.filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint');
const PATHS = ['d.a', 'd.b.c'] as const;

const ordered = (values: readonly Json[]) => fc.constantFrom(...values).chain((v) => fc.constantFrom<readonly [string, Json]>(
  ['eq', v], ['ne', v], ['lt', v], ['lte', v], ['gt', v], ['gte', v],
));
const lengths = fc.constantFrom('length_eq', 'length_lte', 'length_gte').chain((op) => fc.integer({ min: 0, max: 3 }).map((n) => [op, n] as const));

/** A test of a document path, with operands of every JSON kind; weighted to the operators an index serves. */
const pathPredicate: fc.Arbitrary<readonly [string, string, Json]> = fc.tuple(fc.constantFrom(...PATHS), fc.oneof(
    ordered(PATH_ORDERED), ordered(PATH_ORDERED), ordered(PATH_ORDERED),
    fc.constantFrom(...PATH_VALUES).chain((v) => fc.constantFrom<readonly [string, Json]>(['eq', v], ['ne', v], ['contains', v])),
    fc.constantFrom('', 'a', 'b').map((v) => ['prefix', v] as const),
    fc.constantFrom(...PATTERNS).map((v) => ['regex', v] as const),
    lengths,
  )).map(([path, [op, v]]) => [path, op, v] as const);

/** One random test per attribute (and the key), as [attribute, operator, operand]. */
const predicate: fc.Arbitrary<readonly [string, string, Json]> = fc.oneof(
  fc.oneof(
    ordered(STRINGS),
    fc.constantFrom(...STRINGS).map((v) => ['prefix', v] as const),
    fc.constantFrom(...PATTERNS).map((v) => ['regex', v] as const),
    fc.constantFrom(...STRINGS).map((v) => ['contains', v] as const),
    lengths,
  ).map(([op, v]) => ['s', op, v] as const),
  ordered(INTS).map(([op, v]) => ['i', op, v] as const),
  ordered(FLOATS).map(([op, v]) => ['f', op, v] as const),
  fc.constantFrom('eq', 'ne').chain((op) => fc.boolean().map((v) => ['b', op, v] as const)),
  fc.oneof(ordered(BYTES), lengths).map(([op, v]) => ['by', op, v] as const),
  ordered(TIMES).map(([op, v]) => ['t', op, v] as const),
  fc.oneof(fc.constantFrom(...STRINGS).map((v) => ['contains', v] as const), lengths).map(([op, v]) => ['l', op, v] as const),
  fc.oneof(fc.constantFrom(...INTS).map((v) => ['contains', v] as const), lengths, fc.subarray([...INTS], { maxLength: 2 }).map((v) => ['eq', v] as const))
    .map(([op, v]) => ['st', op, v as Json] as const),
  fc.oneof(fc.constantFrom(...STRINGS).map((v) => ['contains', v] as const), lengths).map(([op, v]) => ['m', op, v] as const),
  fc.constantFrom(...DOCS).map((v) => ['d', 'eq', v] as const),
  pathPredicate, pathPredicate, pathPredicate, // weighted: paths meet every JSON kind, so they need more draws
  ordered(['k03', 'k10', 'k1', 'k']).map(([op, v]) => ['k', op, v] as const),
);

type Where = { [attribute: string]: Json };

function conjunction(tests: readonly (readonly [string, string, Json])[]): Where {
  const where: { [attribute: string]: { [op: string]: Json } } = {};
  for (const [attribute, op, operand] of tests) (where[attribute] ??= {})[op] = operand;
  return where;
}

/** A condition: up to two tests, sometimes with an `or` of one to three conjunctions. */
const condition: fc.Arbitrary<Where> = fc.tuple(
  fc.array(predicate, { minLength: 0, maxLength: 2 }),
  fc.option(fc.array(fc.array(predicate, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 3 }),
).map(([tests, or]) => (or === undefined ? conjunction(tests) : { ...conjunction(tests), or: or.map(conjunction) }));

const object = fc.record({
  s: fc.constantFrom(...STRINGS), i: fc.constantFrom(...INTS), f: fc.constantFrom(...FLOATS), b: fc.boolean(), by: fc.constantFrom(...BYTES),
  t: fc.constantFrom(...TIMES), l: fc.array(fc.constantFrom(...STRINGS), { maxLength: 3 }), st: fc.subarray([...INTS], { maxLength: 3 }),
  m: fc.dictionary(fc.constantFrom(...STRINGS), fc.constantFrom(0, 1, -5), { maxKeys: 3 }),
  // Mostly documents whose paths hold something, `d.b.c` included, so that a path's index has
  // entries to get wrong; sometimes something else at each step, so that a path meets nothing.
  d: fc.oneof({ arbitrary: fc.constantFrom(...DOCS), weight: 1 }, { weight: 4, arbitrary: fc.record({
    a: fc.constantFrom(...PATH_VALUES),
    b: fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...PATH_VALUES) }, { weight: 3, arbitrary: fc.record({ c: fc.constantFrom(...PATH_VALUES) }, { requiredKeys: [] }) }),
  }, { requiredKeys: ['a'] }) }),
}, { requiredKeys: [] });

const query = fc.record({
  // Tests of paths alone too: the planner picks an index for a top-level test only, and a path's
  // index is what most needs a counterexample.
  where: fc.oneof(condition, fc.array(pathPredicate, { minLength: 1, maxLength: 2 }).map(conjunction), pathPredicate.map((p) => conjunction([p]))),
  limit: fc.integer({ min: 1, max: 7 }),
  sortBy: fc.constantFrom('s', 'i', 'f', 'b', 'by', 't', ...PATHS),
  descending: fc.boolean(),
});

/** Rewrites after the first queries, one per key: its whole object, its document alone, or a deletion (null). */
const rewrites = fc.uniqueArray(fc.tuple(fc.nat(39), fc.oneof(
  object.map((o) => o as { [k: string]: Json } | null),
  object.filter((o) => o.d !== undefined).map((o) => ({ d: o.d as Json })),
  fc.constant(null),
)), { maxLength: 20, selector: ([n]) => n });

interface ModelObject {
  readonly key: Key;
  readonly attributes: Attributes;
}

function modelSearch(space: Space, objects: readonly ModelObject[], where: Where, fx: Fixture): ModelObject[] {
  const parsed = parseCondition(parseJson(stringifyJson(where)), space, fx.limits);
  return objects.filter((o) => evaluateCondition(parsed, o.key, 'k', o.attributes, StepBudget.forSearch(fx.limits))).sort((a, b) => compareKeys(a.key, b.key));
}

async function pagedKeys(fx: Fixture, wire: Wire): Promise<Key[]> {
  const keys: Key[] = [];
  for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
    const result = await fx.run(cursor === undefined ? wire : { ...wire, cursor });
    keys.push(...pageObjects(result).map((o) => o.key));
    cursor = result.ok && result.kind === 'page' ? result.cursor : undefined;
  }
  return keys;
}

async function checkQuery(fx: Fixture, model: readonly ModelObject[], q: { readonly where: Where; readonly limit: number; readonly sortBy: string; readonly descending: boolean }): Promise<void> {
  const space = fx.engine.space('plain') as Space;
  const expected = modelSearch(space, model, q.where, fx);
  const order = (a: ModelObject, b: ModelObject) => {
    const c = compareSortValues(readName(a.attributes, q.sortBy), readName(b.attributes, q.sortBy)) || compareKeys(a.key, b.key);
    return q.descending ? -c : c;
  };
  const sorted = [...expected].sort(order).slice(0, q.limit).map((o) => String(o.key));
  for (const name of ['plain', 'indexed']) {
    const keys = await pagedKeys(fx, { op: 'search', space: name, where: q.where, limit: q.limit });
    assert.deepEqual(keys.map(String), expected.map((o) => String(o.key)), `search on ${name}`);
    const count = await fx.run({ op: 'count', space: name, where: q.where });
    assert.ok(count.ok && count.kind === 'count');
    assert.equal(count.count, expected.length, `count on ${name}`);
    const top = await fx.run({ op: 'sorted_search', space: name, where: q.where, sort_by: q.sortBy, order: q.descending ? 'desc' : 'asc', limit: q.limit });
    assert.deepEqual(pageObjects(top).map((o) => String(o.key)), sorted, `sorted_search on ${name}`);
  }
}

function keyOf(n: number): Key {
  return `k${String(n).padStart(2, '0')}`;
}

/** Runs of the property in `npm test`; SPACEKV_PROPERTY_RUNS asks for more. */
const RUNS = Number(process.env.SPACEKV_PROPERTY_RUNS ?? 15);

export function searchPropertyCases(ctx: SuiteContext): void {
  describe('search property', () => {
    conformanceCase(ctx, 'search, count and sorted_search equal an in-memory filter, indexed or not', async (fx) => {
      const seed = seedFromEnv();
      const data = fc.array(object, { minLength: 0, maxLength: 40, size: 'medium' });
      try {
        await fc.assert(fc.asyncProperty(data, fc.array(query, { minLength: 1, maxLength: 6 }), rewrites, async (objects, queries, rewritten) => {
          let changes = rewritten;
          for (const name of ['plain', 'indexed']) {
            if (fx.engine.space(name)) await fx.run({ op: 'rm_space', space: name });
            await fx.addSpace(`space ${name} key k attributes ${ATTRIBUTES}${name === 'indexed' ? ` index ${INDEXED}` : ''}`);
          }
          const space = fx.engine.space('plain') as Space;
          const complete = (given: { [k: string]: Json }, base: Attributes | null) =>
            completeAttributes(space, parseAttributes(parseJson(stringifyJson(given as { [k: string]: Value })), space, fx.limits), base);
          let model: ModelObject[] = objects.map((given, n) => ({ key: keyOf(n), attributes: complete(given as { [k: string]: Json }, null) }));
          await Promise.all(model.flatMap(({ key }, n) => ['plain', 'indexed'].map((name) =>
            fx.run({ op: 'put', space: name, key, attributes: objects[n] as { [k: string]: Json } }))));
          for (const q of queries) await checkQuery(fx, model, q);
          // The rewrites of each space in one tx: one commit, whatever the store. (A tx refuses the
          // deletion of an absent key, which would change nothing anyway.)
          const present = new Set(model.map((o) => o.key));
          changes = changes.filter(([n, given]) => given !== null || present.has(keyOf(n)));
          for (const [n, given] of changes) {
            const key = keyOf(n);
            const before = model.find((o) => o.key === key);
            model = model.filter((o) => o.key !== key);
            if (given !== null) model.push({ key, attributes: complete(given, before?.attributes ?? null) });
          }
          if (changes.length > 0) {
            await Promise.all(['plain', 'indexed'].map(async (name) => {
              const ops = changes.map(([n, given]) => (given === null ? { op: 'del', space: name, key: keyOf(n) } : { op: 'put', space: name, key: keyOf(n), attributes: given }));
              const result = await fx.run({ op: 'tx', checks: [], ops });
              assert.ok(result.ok, `the rewrites on ${name}: ${JSON.stringify(result)}`);
            }));
          }
          for (const q of queries) await checkQuery(fx, model, q);
        }), { seed, numRuns: RUNS });
      } catch (err) {
        throw new Error(`search property failed with SPACEKV_SEED=${seed}: ${(err as Error).message}`);
      }
    });
  });
}
