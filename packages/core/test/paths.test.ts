// Proves the pure parts of document paths: resolving a name refuses a path into a non-document, an
// empty step and paths past both limits; setting and removing at a path never changes its input and
// refuses to pass through a non-object; the sorted_search order of JSON values (kinds, then value);
// and that a path's index bytes keep each kind's order and never mix kinds, so a range on a path
// planned from them can only ever select a superset of the matches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpacekvError } from '../src/errors.js';
import { compareIndexKeys, pathIndexKey } from '../src/index-key.js';
import { DEFAULT_LIMITS, makeLimits } from '../src/limits.js';
import { compareSortValues, readName, resolveName, selectNames, withValueAt } from '../src/paths.js';
import { parseSchemaDsl } from '../src/dsl.js';
import { chooseAccess } from '../src/plan.js';
import { parseCondition } from '../src/predicates.js';
import { Space } from '../src/schema.js';
import type { Json, Value } from '../src/types.js';
import { compareScalars } from '../src/values.js';

const space = new Space(parseSchemaDsl('space s key k attributes int n, document info index info.age', DEFAULT_LIMITS));

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof SpacekvError) return `${err.code}${err.details.limit ? `:${String(err.details.limit)}` : ''}`;
    throw err;
  }
  return 'none';
}

describe('resolveName', () => {
  it('resolves attributes and paths, and refuses what cannot be one', () => {
    assert.deepEqual(resolveName('info.a.b', space, DEFAULT_LIMITS).path, ['a', 'b']);
    assert.deepEqual(resolveName('n', space, DEFAULT_LIMITS).path, []);
    assert.equal(codeOf(() => resolveName('n.x', space, DEFAULT_LIMITS)), 'invalid_path');
    assert.equal(codeOf(() => resolveName('info..x', space, DEFAULT_LIMITS)), 'invalid_path');
    assert.equal(codeOf(() => resolveName('info.', space, DEFAULT_LIMITS)), 'invalid_path');
    assert.equal(codeOf(() => resolveName('nope.x', space, DEFAULT_LIMITS)), 'unknown_attribute');
    assert.equal(codeOf(() => resolveName('info.a.b.c', space, makeLimits({ documentPathDepthMax: 2 }))), 'too_large:documentPathDepthMax');
    assert.equal(codeOf(() => resolveName('info.abcdef', space, makeLimits({ documentPathLengthMax: 10 }))), 'too_large:documentPathLengthMax');
    assert.equal(codeOf(() => resolveName('info.abcde', space, makeLimits({ documentPathLengthMax: 10 }))), 'none');
  });
});

describe('reading and writing at a path', () => {
  it('sets, creates on the way, removes, and never changes its input', () => {
    const doc: Json = { a: { b: 1 }, c: [1] };
    const frozen = JSON.stringify(doc);
    assert.deepEqual(withValueAt(doc, ['a', 'x', 'y'], 2, 'd.a.x.y'), { a: { b: 1, x: { y: 2 } }, c: [1] });
    assert.deepEqual(withValueAt(doc, ['a', 'b'], undefined, 'd.a.b'), { a: {}, c: [1] });
    assert.equal(withValueAt(doc, ['z', 'q'], undefined, 'd.z.q'), doc, 'removing what is not there changes nothing');
    assert.equal(codeOf(() => withValueAt(doc, ['c', 'x'], 1, 'd.c.x')), 'invalid_path');
    assert.equal(JSON.stringify(doc), frozen);
    assert.equal(readName({ d: doc }, 'd.a.b'), 1);
    assert.equal(readName({ d: doc }, 'd.c.0'), undefined, 'a path does not index into lists');
    assert.deepEqual(selectNames({ d: doc, n: 3 }, ['d.a.b', 'd.nope', 'n']), { 'd.a.b': 1, 'd.nope': null, n: 3 });
  });
});

const SAMPLES: readonly (Value | undefined)[] = [undefined, null, false, true, -1e300, -3, 0, 2.5, 2n ** 60n, 'a', 'b', '\u{1F600}', [1], { x: 1 }];

describe('sorted_search order of JSON values', () => {
  it('orders by kind, then by value within bools, numbers and strings', () => {
    for (let i = 0; i < SAMPLES.length; i++) {
      for (let j = 0; j < SAMPLES.length; j++) {
        const c = Math.sign(compareSortValues(SAMPLES[i], SAMPLES[j]));
        const expected = i === j || (i >= SAMPLES.length - 2 && j >= SAMPLES.length - 2 && Array.isArray(SAMPLES[i]) === Array.isArray(SAMPLES[j])) ? 0 : Math.sign(i - j);
        assert.equal(c, expected, `${String(SAMPLES[i])} vs ${String(SAMPLES[j])}`);
      }
    }
  });
});

describe('index bytes of a path', () => {
  it('keep the order of numbers and of strings, and put every bool before every number before every string', () => {
    const scalars = SAMPLES.filter((v): v is boolean | number | bigint | string => ['boolean', 'number', 'bigint', 'string'].includes(typeof v));
    for (const a of scalars) {
      for (const b of scalars) {
        const bytes = Math.sign(compareIndexKeys(pathIndexKey(a) as Uint8Array, pathIndexKey(b) as Uint8Array));
        const kinds = ['boolean', 'number', 'string'];
        const ka = kinds.indexOf(typeof a === 'bigint' ? 'number' : typeof a);
        const kb = kinds.indexOf(typeof b === 'bigint' ? 'number' : typeof b);
        const expected = ka !== kb ? Math.sign(ka - kb) : Math.sign(compareScalars(a, b));
        assert.equal(bytes, expected, `${String(a)} vs ${String(b)}`);
      }
    }
    for (const none of [null, [1], { x: 1 }, undefined]) assert.equal(pathIndexKey(none), undefined);
  });

  it('plans eq and ranges on an indexed path within the kind of the operand, never exact, and ints past 2^53 inclusively', () => {
    const access = (where: Json) => chooseAccess(space, parseCondition(where, space, DEFAULT_LIMITS));
    const eq = access({ 'info.age': 5 });
    assert.deepEqual([eq.index?.attribute, eq.exact], ['info.age', false]);
    assert.deepEqual(access({ 'info.age': { eq: [1] } }), { exact: false }, 'a list has no entry: scan');
    const range = access({ 'info.age': { gt: 2n ** 53n } });
    assert.equal(range.index?.lower?.inclusive, true, 'the float bytes of 2^53 + 1 equal those of 2^53');
    assert.deepEqual(range.index?.upper, { key: Uint8Array.of(0x03), inclusive: false }, 'numbers end where strings begin');
    const prefix = access({ 'info.age': { prefix: 'a' } });
    assert.equal(prefix.index?.lower?.key[0], 0x03);
  });
});
