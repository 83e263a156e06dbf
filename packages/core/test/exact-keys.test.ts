// Proves exact keys: every string key of a map attribute or a document value, `__proto__`,
// `constructor` and `toString` included, is stored and read back exactly by core's paths (coerce a
// put, map_set, map_remove, map arithmetic, JSON text both ways, conditions on map keys). Before the
// fix `{"__proto__": 5, "a": 1}` became `{"a": 1}` and map_set of `__proto__` changed nothing.
// fast-check, seeded by SPACEKV_SEED (printed in the test name).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { StepBudget } from '../src/cost.js';
import { DEFAULT_LIMITS } from '../src/limits.js';
import { parseJson, stringifyJson } from '../src/json.js';
import { applyMutations, parseMutations } from '../src/mutations.js';
import { evaluateCondition, parseCondition } from '../src/predicates.js';
import { Space } from '../src/schema.js';
import type { Attributes, Value } from '../src/types.js';
import { coerceValue } from '../src/values.js';

const seed = Number(process.env.SPACEKV_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MAP = { kind: 'map', key: { kind: 'string' }, value: { kind: 'int' } } as const;
const space = new Space({
  name: 'pm',
  key: { name: 'k', type: 'string' },
  attributes: [{ name: 'm', type: MAP }, { name: 'doc', type: { kind: 'document' } }],
});
const HOSTILE = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
/** Keys a user may send: the hostile names, and any short string. */
const mapKey = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 4 }));
const entries = fc.uniqueArray(fc.tuple(mapKey, fc.integer()), { selector: ([k]) => k, maxLength: 8 });

/** The map as a JSON text the way a client sends it: keys as own members, whatever their names. */
function mapText(pairs: readonly (readonly [string, number])[]): string {
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

function sortedPairs(value: Value): [string, unknown][] {
  return Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function mutate(attributes: Attributes, mutations: unknown): Attributes {
  const outcome = applyMutations(parseMutations(mutations, space, DEFAULT_LIMITS), space, attributes, DEFAULT_LIMITS);
  assert.ok(outcome.ok);
  return outcome.attributes;
}

test(`a map keeps every key through a put and its JSON round trip (seed ${seed})`, () => {
  fc.assert(fc.property(entries, (pairs) => {
    const stored = coerceValue('m', MAP, parseJson(mapText(pairs)), DEFAULT_LIMITS);
    const readBack = parseJson(stringifyJson(stored));
    const expected = [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(sortedPairs(readBack as Value), expected);
  }), { seed, numRuns: 500 });
});

test(`map_set adds and map_remove removes every key, __proto__ included (seed ${seed})`, () => {
  fc.assert(fc.property(entries, mapKey, (pairs, extra) => {
    const m = coerceValue('m', MAP, parseJson(mapText(pairs)), DEFAULT_LIMITS);
    const set = mutate({ m, doc: null }, [{ map_set: { m: parseJson(mapText([[extra, 7]])) } }]);
    assert.equal(Object.hasOwn(set.m as object, extra), true, `map_set of '${extra}' landed`);
    assert.equal((set.m as Record<string, unknown>)[extra], 7);
    assert.equal(Object.keys(set.m as object).length, new Set([...pairs.map(([k]) => k), extra]).size);
    const removed = mutate(set, [{ map_remove: { m: [extra] } }]);
    assert.equal(Object.hasOwn(removed.m as object, extra), false, `map_remove of '${extra}' removed it`);
    assert.equal(Object.getPrototypeOf(removed.m), Object.prototype, 'no key replaced the prototype');
  }), { seed, numRuns: 500 });
});

test('map arithmetic on a __proto__ entry counts it, and a condition sees the key', () => {
  const m = coerceValue('m', MAP, parseJson('{"__proto__": 5, "a": 1}'), DEFAULT_LIMITS);
  const added = mutate({ m, doc: null }, [{ map_add: { m: parseJson('{"__proto__": 2, "constructor": 3}') } }]);
  assert.deepEqual(sortedPairs(added.m as Value), [['__proto__', 7], ['a', 1], ['constructor', 3]]);
  const has = (key: string) => evaluateCondition(parseCondition({ m: { contains: key } }, space, DEFAULT_LIMITS), 'x', 'k', added, StepBudget.forCondition(DEFAULT_LIMITS));
  assert.equal(has('__proto__'), true);
  assert.equal(has('toString'), false, 'an inherited name is not a key');
});

test('a document keeps __proto__ members at every depth through its JSON round trip', () => {
  const text = '{"__proto__": {"__proto__": [{"constructor": 1}]}, "n": 12345678901234567890}';
  const doc = coerceValue('doc', { kind: 'document' }, parseJson(text), DEFAULT_LIMITS);
  assert.equal(stringifyJson(doc), '{"__proto__":{"__proto__":[{"constructor":1}]},"n":12345678901234567890}');
});
