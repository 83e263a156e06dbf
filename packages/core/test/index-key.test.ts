// Proves the index encoding (index-key.ts) keeps core's order: for random values of every ordered
// type, comparing encodings byte by byte (SQLite BLOB / PostgreSQL bytea order) agrees with
// compareScalars, equal values encode equally (-0 and 0, number and bigint ints), prefixes map to
// byte prefixes with a correct successor; and that cursors round-trip and refuse what they did not
// make. fast-check, seeded by SPACEKV_SEED (printed on failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../src/limits.js';
import { compareIndexKeys, prefixIndexKey, prefixSuccessor, scalarIndexKey } from '../src/index-key.js';
import { Space } from '../src/schema.js';
import { compareKeys, decodeCursor, encodeCursor } from '../src/search.js';
import type { ScalarType, Value } from '../src/types.js';
import { compareScalars } from '../src/values.js';
import { SpacekvError } from '../src/errors.js';

const seed = Number(process.env.SPACEKV_SEED ?? Math.floor(Math.random() * 2 ** 31));
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const int = fc.oneof(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.integer(), fc.constantFrom(0, -1, 2 ** 53 - 1, -(2 ** 53) + 1)).map(
  (v): Value => (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v),
);
const float = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e20, -1e-300, Number.MAX_VALUE, -Number.MAX_VALUE));
const text = fc.string({ unit: 'binary', maxLength: 6 });

function checkOrder(type: ScalarType, values: fc.Arbitrary<Value>): void {
  fc.assert(fc.property(values, values, (a, b) => {
    const bytes = Math.sign(compareIndexKeys(scalarIndexKey(type, a), scalarIndexKey(type, b)));
    assert.equal(bytes, Math.sign(compareScalars(a, b)), `${type.kind}: ${String(a)} vs ${String(b)}`);
  }), { seed, numRuns: 2000 });
}

test(`index keys order like compareScalars for every ordered type (seed ${seed})`, () => {
  checkOrder({ kind: 'int' }, int);
  checkOrder({ kind: 'float' }, float);
  checkOrder({ kind: 'string' }, text);
  checkOrder({ kind: 'bool' }, fc.boolean());
  assert.deepEqual(scalarIndexKey({ kind: 'float' }, -0), scalarIndexKey({ kind: 'float' }, 0));
  assert.deepEqual(scalarIndexKey({ kind: 'int' }, 5), scalarIndexKey({ kind: 'int' }, 5n));
});

test(`a string has a prefix exactly when its bytes lie in [prefix, successor) (seed ${seed})`, () => {
  fc.assert(fc.property(text, text, (s, p) => {
    const bytes = scalarIndexKey({ kind: 'string' }, s);
    const low = prefixIndexKey(p);
    const high = prefixSuccessor(low);
    const inRange = compareIndexKeys(bytes, low) >= 0 && (high === undefined || compareIndexKeys(bytes, high) < 0);
    assert.equal(inRange, s.startsWith(p));
  }), { seed, numRuns: 2000 });
});

test('keys order by code point: astral characters after every BMP character', () => {
  assert.ok(compareKeys('\uFFFD', '\u{1F600}') < 0);
  assert.ok(compareKeys('a', 'ab') < 0);
  assert.ok(compareKeys(2n ** 60n, 5) > 0);
});

test('cursors round-trip and are refused by another space, operation or key type', () => {
  const people = new Space({ name: 'people', key: { name: 'k', type: 'string' }, attributes: [] });
  const ticks = new Space({ name: 'ticks', key: { name: 'k', type: 'int' }, attributes: [] });
  for (const key of ['a', 'é\u{1F600}']) assert.equal(decodeCursor(encodeCursor('search', people, key), 'search', people, DEFAULT_LIMITS), key);
  assert.equal(decodeCursor(encodeCursor('list', ticks, 2n ** 62n), 'list', ticks, DEFAULT_LIMITS), 2n ** 62n);
  const refused = (run: () => unknown) => assert.throws(run, (err: unknown) => err instanceof SpacekvError && err.code === 'invalid_cursor');
  refused(() => decodeCursor(encodeCursor('search', people, 'a'), 'list', people, DEFAULT_LIMITS));
  refused(() => decodeCursor(encodeCursor('search', people, 'a'), 'search', ticks, DEFAULT_LIMITS));
  refused(() => decodeCursor(encodeCursor('search', ticks, 'x'), 'search', ticks, DEFAULT_LIMITS));
  refused(() => decodeCursor(encodeCursor('search', { name: 'people', createdSeq: people.createdSeq + 1 }, 'a'), 'search', people, DEFAULT_LIMITS));
  refused(() => decodeCursor('not base64!', 'search', people, DEFAULT_LIMITS));
  refused(() => decodeCursor(42, 'search', people, DEFAULT_LIMITS));
  refused(() => decodeCursor('e30', 'search', people, DEFAULT_LIMITS));
});
