// Proves stringifyAttributes (an attribute record's stored text) writes exactly stringifyJson's
// text, which is JSON.stringify's for every value plain JSON can hold: its own writer of flat
// records must not differ by a character (stored objects, change events and replies are compared
// and hashed as text); and the lossless forms for bigints and wide numbers.
// fast-check, seeded by SPACEKV_SEED (printed in the test name).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseJson, stringifyAttributes, stringifyJson } from '../src/json.js';

const seed = Number(process.env.SPACEKV_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** Any UTF-16 code units: quotes, backslashes, control characters, lone and paired surrogates. */
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const textHeavy = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    anyText, fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(anyText, tie('value'), { maxKeys: 4 }),
  ),
})).value;

function holdsWideNumber(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(holdsWideNumber);
  return false;
}

const record = fc.dictionary(anyText, fc.oneof(anyText, fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), textHeavy), { maxKeys: 6 });

test(`stringifyAttributes writes JSON.stringify's text for plain records (seed ${seed})`, () => {
  fc.assert(fc.property(fc.oneof(record, fc.dictionary(fc.string(), fc.jsonValue())), (value) => {
    fc.pre(!holdsWideNumber(value));
    assert.equal(stringifyAttributes(value), JSON.stringify(value));
    assert.equal(stringifyJson(value), JSON.stringify(value));
  }), { seed, numRuns: 2000 });
});

test('stringifyAttributes writes what is not a plain record as stringifyJson does, wide numbers losslessly', () => {
  const proto = JSON.parse('{"__proto__": "\\u0000", "b": -0, "c": "\\ud800", "d": [1, 2.5]}') as Record<string, unknown>;
  assert.equal(stringifyAttributes(proto), JSON.stringify(proto));
  const bare = Object.assign(Object.create(null) as object, { k: 'v' }) as Record<string, unknown>;
  assert.equal(stringifyAttributes(bare), '{"k":"v"}');
  assert.equal(stringifyAttributes({ at: new Date(0), skip: undefined, list: [undefined] }), '{"at":"1970-01-01T00:00:00.000Z","list":[null]}');
  assert.equal(stringifyAttributes({ toJSON: () => 'x' }), '"x"');
  const wide = { n: 12345678901234567890n, f: 2 ** 60 };
  assert.equal(stringifyAttributes(wide), '{"n":12345678901234567890,"f":1.152921504606847e+18}');
  assert.equal(stringifyAttributes(wide), stringifyJson(wide));
  assert.deepEqual(parseJson(stringifyAttributes({ n: 12345678901234567890n })), { n: 12345678901234567890n });
});
