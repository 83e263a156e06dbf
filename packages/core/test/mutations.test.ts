// Proves mutations.ts: parseMutations accepts every mutation on every type it applies to (with its
// operand canonicalized), refuses it on every other type, refuses malformed lists, unknown names and
// attributes, the key and oversized lists; applyMutations applies them in order, purely, with exact
// 64-bit int arithmetic (overflow at the int64 edges, bigint/number crossing both ways, truncating
// div/mod), finite floats, division_by_zero, canonical sets and maps, and collection bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpacekvError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { DEFAULT_LIMITS, makeLimits } from '../src/limits.js';
import type { Limits } from '../src/limits.js';
import { applyMutations, parseMutations } from '../src/mutations.js';
import type { MutationOutcome } from '../src/mutations.js';
import { MUTATION_OPS } from '../src/operations.js';
import { Space } from '../src/schema.js';
import type { Attributes, Value } from '../src/types.js';

const S = { kind: 'string' } as const;
const I = { kind: 'int' } as const;
const F = { kind: 'float' } as const;

const space = new Space({
  name: 'things',
  key: { name: 'k', type: 'string' },
  attributes: [
    { name: 's', type: S },
    { name: 'i', type: I },
    { name: 'f', type: F },
    { name: 'b', type: { kind: 'bool' } },
    { name: 'by', type: { kind: 'bytes' } },
    { name: 'ts', type: { kind: 'timestamp' } },
    { name: 'doc', type: { kind: 'document' } },
    { name: 'l', type: { kind: 'list', of: S } },
    { name: 'st', type: { kind: 'set', of: S } },
    { name: 'si', type: { kind: 'set', of: I } },
    { name: 'm', type: { kind: 'map', key: S, value: I } },
    { name: 'mf', type: { kind: 'map', key: S, value: F } },
    { name: 'mi', type: { kind: 'map', key: I, value: I } },
    { name: 'ms', type: { kind: 'map', key: S, value: S } },
  ],
});

const base: Attributes = {
  s: 'mid',
  i: 10,
  f: 1.5,
  b: true,
  by: 'AQID',
  ts: '2024-01-02T03:04:05.000Z',
  doc: { a: 1 },
  l: ['b', 'c'],
  st: ['b', 'd'],
  si: [1, 2n ** 60n],
  m: { x: 1, y: 2 },
  mf: { x: 0.5 },
  mi: { '2': 20, '10': 100 },
  ms: { x: 'y' },
};

const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);
const SAFE = Number.MAX_SAFE_INTEGER;

function run(wire: unknown, attributes: Attributes = base, limits: Limits = DEFAULT_LIMITS): MutationOutcome {
  return applyMutations(parseMutations(wire, space, limits), space, attributes, limits);
}

/** The value of `attribute` after applying a one-item list `{op: {attribute: operand}}`. */
function after(op: string, attribute: string, operand: unknown, attributes: Attributes = base): Value | undefined {
  const outcome = run([{ [op]: { [attribute]: operand } }], attributes);
  assert.ok(outcome.ok, `${op} ${attribute} failed: ${outcome.ok ? '' : outcome.message}`);
  return outcome.attributes[attribute];
}

function withValue(attribute: string, value: Value): Attributes {
  return { ...base, [attribute]: value };
}

function failsWith(wire: unknown, code: 'overflow' | 'division_by_zero', attributes: Attributes = base): void {
  const outcome = run(wire, attributes);
  assert.equal(outcome.ok, false, `${JSON.stringify(wire, replacer)} should fail ${code}`);
  if (!outcome.ok) assert.equal(outcome.code, code);
}

function rejects(wire: unknown, code: ErrorCode, limits: Limits = DEFAULT_LIMITS): void {
  assert.throws(
    () => parseMutations(wire, space, limits),
    (err: unknown) => err instanceof SpacekvError && err.code === code,
    `${JSON.stringify(wire, replacer)} should be refused with ${code}`,
  );
}

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

describe('parseMutations: wire form', () => {
  it('refuses non-list input with bad_request', () => {
    for (const bad of [null, {}, 'add', 3, { add: { i: 1 } }]) rejects(bad, 'bad_request');
  });

  it('refuses malformed items and unknown mutations with invalid_mutation', () => {
    rejects([3], 'invalid_mutation');
    rejects([null], 'invalid_mutation');
    rejects([[]], 'invalid_mutation');
    rejects([{}], 'invalid_mutation');
    rejects([{ add: { i: 1 }, sub: { i: 1 } }], 'invalid_mutation');
    rejects([{ increment: { i: 1 } }], 'invalid_mutation');
    rejects([{ add: {} }], 'invalid_mutation');
    rejects([{ add: 1 }], 'invalid_mutation');
    rejects([{ add: [1] }], 'invalid_mutation');
  });

  it('refuses unknown attributes with unknown_attribute, naming it', () => {
    assert.throws(
      () => parseMutations([{ set: { nope: 1 } }], space, DEFAULT_LIMITS),
      (err: unknown) => err instanceof SpacekvError && err.code === 'unknown_attribute' && err.details.attribute === 'nope',
    );
  });

  it('refuses any mutation of the key', () => {
    rejects([{ set: { k: 'other' } }], 'invalid_mutation');
    rejects([{ append: { k: 'x' } }], 'invalid_mutation');
    rejects([{ unset: { k: true } }], 'invalid_mutation');
  });

  it('expands a multi-attribute item in key order and accepts an empty list', () => {
    assert.deepEqual(parseMutations([], space, DEFAULT_LIMITS), []);
    assert.deepEqual(parseMutations([{ add: { i: 1, f: 2 } }, { set_add: { st: 'x' } }], space, DEFAULT_LIMITS), [
      { op: 'add', attribute: 'i', operand: 1 },
      { op: 'add', attribute: 'f', operand: 2 },
      { op: 'set_add', attribute: 'st', operand: 'x' },
    ]);
  });

  it('counts expanded mutations against mutationsPerOpMax', () => {
    const limits = makeLimits({ mutationsPerOpMax: 2 });
    parseMutations([{ add: { i: 1, f: 2 } }], space, limits);
    rejects([{ add: { i: 1, f: 2 } }, { add: { i: 1 } }], 'too_large', limits);
    rejects([{ add: { i: 1 } }, { add: { i: 1 } }, { add: { i: 1 } }], 'too_large', limits);
  });

  it('refuses operands that do not fit with invalid_mutation', () => {
    rejects([{ add: { i: 'one' } }], 'invalid_mutation');
    rejects([{ add: { i: 1.5 } }], 'invalid_mutation');
    rejects([{ add: { i: 2n ** 63n } }], 'invalid_mutation');
    rejects([{ set: { ts: 'yesterday' } }], 'invalid_mutation');
    rejects([{ set: { st: 'a' } }], 'invalid_mutation');
    rejects([{ unset: { s: 1 } }], 'invalid_mutation');
    rejects([{ append: { l: 'x' } }], 'invalid_mutation');
    rejects([{ lpush: { l: ['x'] } }], 'invalid_mutation');
    rejects([{ set_union: { st: 'x' } }], 'invalid_mutation');
    rejects([{ map_set: { m: { x: 'one' } } }], 'invalid_mutation');
    rejects([{ map_set: { mi: { x: 1 } } }], 'invalid_mutation');
    rejects([{ map_remove: { m: 1 } }], 'invalid_mutation');
    rejects([{ map_remove: { mi: 'x' } }], 'invalid_mutation');
    rejects([{ map_add: { m: 1 } }], 'invalid_mutation');
    rejects([{ map_add: { m: { x: 'one' } } }], 'invalid_mutation');
  });

  it('refuses an operand collection past collectionElementsMax with too_large', () => {
    const limits = makeLimits({ collectionElementsMax: 2 });
    rejects([{ set: { l: ['a', 'b', 'c'] } }], 'too_large', limits);
    rejects([{ map_remove: { m: ['a', 'b', 'c'] } }], 'too_large', limits);
  });
});

/**
 * For each mutation, the attributes it applies to: [attribute, operand, expected value after it
 * is applied to `base`]. Every other attribute must refuse it with invalid_mutation.
 */
type Case = readonly [attribute: string, operand: unknown, expected: Value];
const APPLIES: Record<string, readonly Case[]> = {
  set: [
    ['s', 'new', 'new'], ['i', 2n ** 40n, 2 ** 40], ['f', 3, 3], ['b', false, false], ['by', 'AAAA', 'AAAA'],
    ['ts', 0, '1970-01-01T00:00:00.000Z'], ['doc', { z: [1, null] }, { z: [1, null] }], ['l', ['z', 'a'], ['z', 'a']],
    ['st', ['z', 'a', 'z'], ['a', 'z']], ['si', [2n ** 60n, -1], [-1, 2n ** 60n]], ['m', { b: 1, a: 2 }, { a: 2, b: 1 }],
    ['mf', { a: 1 }, { a: 1 }], ['mi', { '10': 1, '9': 2, '-1': 3 }, { '-1': 3, '9': 2, '10': 1 }], ['ms', {}, {}],
  ],
  unset: [
    ['s', true, ''], ['i', null, 0], ['f', true, 0], ['b', true, false], ['by', true, ''], ['ts', true, '1970-01-01T00:00:00.000Z'],
    ['doc', true, {}], ['l', true, []], ['st', true, []], ['si', true, []], ['m', true, {}], ['mf', true, {}], ['mi', true, {}],
    ['ms', true, {}],
  ],
  add: [['i', 5, 15], ['f', 1, 2.5]],
  sub: [['i', 15, -5], ['f', 0.5, 1]],
  mul: [['i', -3, -30], ['f', 2, 3]],
  div: [['i', 3, 3], ['f', 2, 0.75]],
  mod: [['i', 3, 1], ['f', 1, 0.5]],
  min: [['i', 3, 3], ['f', 2, 1.5]],
  max: [['i', 3, 10], ['f', 2, 2]],
  and: [['i', 6, 2]],
  or: [['i', 5, 15]],
  xor: [['i', 6, 12]],
  append: [['s', '!', 'mid!'], ['l', ['d', 'a'], ['b', 'c', 'd', 'a']]],
  prepend: [['s', '>', '>mid'], ['l', ['a', 'z'], ['a', 'z', 'b', 'c']]],
  lpush: [['l', 'a', ['a', 'b', 'c']]],
  rpush: [['l', 'a', ['b', 'c', 'a']]],
  set_add: [['st', 'c', ['b', 'c', 'd']], ['si', 3, [1, 3, 2n ** 60n]]],
  set_remove: [['st', 'b', ['d']], ['si', 2n ** 60n, [1]]],
  set_union: [['st', ['e', 'a', 'b'], ['a', 'b', 'd', 'e']], ['si', [0, 2n ** 61n], [0, 1, 2n ** 60n, 2n ** 61n]]],
  set_intersect: [['st', ['d', 'e', 'b'], ['b', 'd']], ['si', [2n ** 60n, 5], [2n ** 60n]]],
  map_set: [
    ['m', { a: 5, x: 9 }, { a: 5, x: 9, y: 2 }], ['mf', { y: 2 }, { x: 0.5, y: 2 }], ['mi', { '3': 1, '010': 2 }, { '2': 20, '3': 1, '10': 2 }],
    ['ms', { x: 'z' }, { x: 'z' }],
  ],
  map_remove: [['m', 'x', { y: 2 }], ['mf', ['x', 'nope'], {}], ['mi', [2, '10'], {}], ['ms', 'nope', { x: 'y' }]],
  map_add: [['m', { x: 1, z: 5 }, { x: 2, y: 2, z: 5 }], ['mf', { x: 1 }, { x: 1.5 }], ['mi', { 2: 1 }, { '2': 21, '10': 100 }]],
  map_sub: [['m', { x: 1, z: 5 }, { x: 0, y: 2, z: -5 }], ['mf', { x: 1 }, { x: -0.5 }], ['mi', { 10: 1 }, { '2': 20, '10': 99 }]],
  map_mul: [['m', { y: 3, z: 5 }, { x: 1, y: 6, z: 0 }], ['mf', { x: 4 }, { x: 2 }], ['mi', { 2: 2 }, { '2': 40, '10': 100 }]],
  map_div: [['m', { y: 2, z: 5 }, { x: 1, y: 1, z: 0 }], ['mf', { x: 2 }, { x: 0.25 }], ['mi', { 10: 3 }, { '2': 20, '10': 33 }]],
  map_mod: [['m', { y: 2 }, { x: 1, y: 0 }], ['mf', { x: 0.3 }, { x: 0.5 % 0.3 }], ['mi', { 10: 3 }, { '2': 20, '10': 1 }]],
  map_min: [['m', { y: 1, z: 5 }, { x: 1, y: 1, z: 0 }], ['mf', { x: -1 }, { x: -1 }], ['mi', { 2: 50 }, { '2': 20, '10': 100 }]],
  map_max: [['m', { y: 1, z: 5 }, { x: 1, y: 2, z: 5 }], ['mf', { x: 1 }, { x: 1 }], ['mi', { 2: 50 }, { '2': 50, '10': 100 }]],
  map_and: [['m', { y: 3 }, { x: 1, y: 2 }], ['mi', { 2: 4 }, { '2': 4, '10': 100 }]],
  map_or: [['m', { y: 1, z: 4 }, { x: 1, y: 3, z: 4 }], ['mi', { 2: 1 }, { '2': 21, '10': 100 }]],
  map_xor: [['m', { x: 1 }, { x: 0, y: 2 }], ['mi', { 10: 1 }, { '2': 20, '10': 101 }]],
  map_string_prepend: [['ms', { x: '>', z: 'n' }, { x: '>y', z: 'n' }]],
  map_string_append: [['ms', { x: '!', a: 'n' }, { a: 'n', x: 'y!' }]],
  // Only on a document path (document-mutations.test.ts): every whole attribute refuses them.
  document_rename: [],
  document_unset: [],
};
const ALL_ATTRIBUTES = space.attributes.map((a) => a.name);

describe('every mutation on every type', () => {
  it('the table covers every mutation of MUTATION_OPS', () => {
    assert.deepEqual(Object.keys(APPLIES).sort(), [...MUTATION_OPS].sort());
  });

  for (const [op, cases] of Object.entries(APPLIES)) {
    for (const [attribute, operand, expected] of cases) {
      it(`${op} on ${attribute}`, () => assert.deepEqual(after(op, attribute, operand), expected));
    }
    const applicable = new Set(cases.map((c) => c[0]));
    for (const attribute of ALL_ATTRIBUTES.filter((a) => !applicable.has(a))) {
      it(`${op} refused on ${attribute}`, () => rejects([{ [op]: { [attribute]: cases[0]?.[1] } }], 'invalid_mutation'));
    }
  }
});

describe('int64 arithmetic', () => {
  it('overflows past either edge', () => {
    failsWith([{ add: { i: 1 } }], 'overflow', withValue('i', MAX));
    failsWith([{ sub: { i: 1 } }], 'overflow', withValue('i', MIN));
    failsWith([{ mul: { i: 2 } }], 'overflow', withValue('i', MAX));
    failsWith([{ mul: { i: -1 } }], 'overflow', withValue('i', MIN));
    failsWith([{ div: { i: -1 } }], 'overflow', withValue('i', MIN));
    failsWith([{ add: { i: 2n ** 62n } }], 'overflow', withValue('i', 2n ** 62n));
    failsWith([{ map_add: { m: { x: MAX } } }], 'overflow');
  });

  it('reaches the edges exactly', () => {
    assert.equal(after('add', 'i', 2n ** 62n - 1n, withValue('i', 2n ** 62n)), MAX);
    assert.equal(after('sub', 'i', 1, withValue('i', MIN + 1n)), MIN);
    assert.equal(after('mod', 'i', -1, withValue('i', MIN)), 0);
    assert.equal(after('add', 'i', MIN, withValue('i', MAX)), -1);
  });

  it('crosses the safe range both ways, keeping the canonical form', () => {
    assert.equal(after('add', 'i', 1, withValue('i', SAFE)), 2n ** 53n);
    assert.equal(after('sub', 'i', 1, withValue('i', 2n ** 53n)), SAFE);
    assert.equal(after('sub', 'i', 1, withValue('i', -SAFE)), -(2n ** 53n));
    assert.equal(after('add', 'i', 1, withValue('i', -(2n ** 53n))), -SAFE);
    assert.equal(after('mul', 'i', 2 ** 30, withValue('i', 2 ** 30)), 2n ** 60n);
    assert.equal(after('div', 'i', 2 ** 10, withValue('i', 2n ** 60n)), 2 ** 50);
    failsWith([{ mul: { i: SAFE } }], 'overflow', withValue('i', SAFE));
  });

  it('multiplies exactly where doubles would round', () => {
    assert.equal(after('mul', 'i', 3, withValue('i', 2 ** 52 + 1)), 3n * (2n ** 52n + 1n));
    assert.equal(after('mul', 'i', 0, withValue('i', 2n ** 60n)), 0);
    assert.equal(after('mul', 'i', 0, withValue('i', -5)), 0);
    assert.ok(Object.is(after('mul', 'i', 0, withValue('i', -5)), 0), 'no -0');
    assert.equal(after('div', 'i', 2n ** 60n, withValue('i', 2n ** 61n)), 2);
  });

  it('divides and takes remainders truncating toward zero, like C', () => {
    const cases: [number, number, number, number][] = [
      [7, 2, 3, 1], [-7, 2, -3, -1], [7, -2, -3, 1], [-7, -2, 3, -1], [1, 3, 0, 1], [-1, 3, 0, -1],
    ];
    for (const [a, b, quotient, remainder] of cases) {
      assert.equal(after('div', 'i', b, withValue('i', a)), quotient, `${a} div ${b}`);
      assert.equal(after('mod', 'i', b, withValue('i', a)), remainder, `${a} mod ${b}`);
    }
    assert.equal(after('div', 'i', 2, withValue('i', -(2n ** 60n) - 1n)), -(2n ** 59n));
    assert.equal(after('mod', 'i', 2, withValue('i', -(2n ** 60n) - 1n)), -1);
    assert.equal(after('div', 'i', 3, withValue('i', SAFE)), Number(BigInt(SAFE) / 3n));
    assert.equal(after('mod', 'i', 3, withValue('i', SAFE)), 1);
  });

  it('bitwise ops are 64-bit, not 32-bit', () => {
    assert.equal(after('and', 'i', 0xff, withValue('i', -1)), 255);
    assert.equal(after('or', 'i', 2 ** 40, withValue('i', 1)), 2 ** 40 + 1);
    assert.equal(after('xor', 'i', -1, withValue('i', 0)), -1);
    assert.equal(after('and', 'i', 3, withValue('i', 2n ** 62n + 1n)), 1);
    assert.equal(after('or', 'i', MIN, withValue('i', 0)), MIN);
  });

  it('min and max compare bigints and numbers', () => {
    assert.equal(after('min', 'i', MIN, withValue('i', 5)), MIN);
    assert.equal(after('max', 'i', MAX, withValue('i', 5)), MAX);
    assert.equal(after('min', 'i', 5, withValue('i', 2n ** 60n)), 5);
  });
});

describe('division by zero and floats', () => {
  it('int and float div/mod by zero answer division_by_zero', () => {
    failsWith([{ div: { i: 0 } }], 'division_by_zero');
    failsWith([{ mod: { i: 0 } }], 'division_by_zero');
    failsWith([{ div: { f: 0 } }], 'division_by_zero');
    failsWith([{ mod: { f: 0 } }], 'division_by_zero');
    failsWith([{ map_div: { m: { absent: 0 } } }], 'division_by_zero');
    failsWith([{ map_mod: { mf: { x: 0 } } }], 'division_by_zero');
  });

  it('a non-finite float result is overflow', () => {
    failsWith([{ mul: { f: 1e308 } }], 'overflow', withValue('f', 10));
    failsWith([{ add: { f: 1.7e308 } }], 'overflow', withValue('f', 1.7e308));
    failsWith([{ map_mul: { mf: { x: 1e308 } } }], 'overflow', withValue('mf', { x: 1e308 }));
  });

  it('float arithmetic follows IEEE doubles; fmod truncates', () => {
    assert.equal(after('mod', 'f', 2, withValue('f', -7.5)), -1.5);
    assert.equal(after('div', 'f', 3, withValue('f', 1)), 1 / 3);
    assert.equal(after('add', 'f', 2n ** 60n), 1.5 + 2 ** 60);
  });

  it('map numeric ops treat an absent key as 0', () => {
    assert.deepEqual(after('map_add', 'm', { new: 7 }), { new: 7, x: 1, y: 2 });
    assert.deepEqual(after('map_sub', 'mf', { new: 1 }), { new: -1, x: 0.5 });
    assert.deepEqual(after('map_max', 'mi', { '-5': -1 }), { '-5': 0, '2': 20, '10': 100 });
  });
});

describe('collections', () => {
  it('keeps sets sorted and distinct', () => {
    assert.deepEqual(after('set_add', 'st', 'b'), ['b', 'd']);
    assert.deepEqual(after('set_add', 'st', 'a'), ['a', 'b', 'd']);
    assert.deepEqual(after('set_add', 'st', 'z'), ['b', 'd', 'z']);
    assert.deepEqual(after('set_remove', 'st', 'zz'), ['b', 'd']);
    assert.deepEqual(after('set_union', 'st', []), ['b', 'd']);
    assert.deepEqual(after('set_intersect', 'st', []), []);
    assert.deepEqual(after('set_add', 'si', -(2n ** 60n)), [-(2n ** 60n), 1, 2n ** 60n]);
  });

  it('keeps maps in canonical key order', () => {
    // Only non-negative int keys: JS enumerates array-index keys first whatever the insertion order,
    // so a negative int key cannot be placed before them (a limit of canonicalMap's object form).
    assert.deepEqual(Object.keys(after('map_set', 'mi', { 100: 2, 3: 3, 0: 1 }) as object), ['0', '2', '3', '10', '100']);
    assert.deepEqual(Object.keys(after('map_add', 'm', { a: 1, zz: 1 }) as object), ['a', 'x', 'y', 'zz']);
  });

  it('map_remove canonicalizes int keys given as numbers or padded text', () => {
    assert.deepEqual(after('map_remove', 'mi', 10), { '2': 20 });
    assert.deepEqual(after('map_remove', 'mi', ['02']), { '10': 100 });
  });

  it('a collection grown past collectionElementsMax throws too_large', () => {
    const limits = makeLimits({ collectionElementsMax: 3 });
    const grow = (wire: unknown) =>
      assert.throws(
        () => run(wire, base, limits),
        (err: unknown) => err instanceof SpacekvError && err.code === 'too_large' && err.details.limit === 'collectionElementsMax',
      );
    grow([{ rpush: { l: 'x' } }, { lpush: { l: 'y' } }]);
    grow([{ append: { l: ['x', 'y'] } }]);
    grow([{ set_union: { st: ['a', 'c'] } }]);
    grow([{ set_add: { st: 'a' } }, { set_add: { st: 'c' } }]);
    grow([{ map_set: { m: { a: 1, b: 2 } } }]);
    grow([{ map_add: { m: { a: 1, b: 2 } } }]);
    assert.ok(run([{ rpush: { l: 'x' } }], base, limits).ok);
  });
});

describe('order and purity', () => {
  it('applies mutations in order (set then add differs from add then set)', () => {
    const first = run([{ set: { i: 5 } }, { add: { i: 1 } }]);
    const second = run([{ add: { i: 1 } }, { set: { i: 5 } }]);
    assert.ok(first.ok && second.ok);
    assert.equal(first.attributes['i'], 6);
    assert.equal(second.attributes['i'], 5);
    const list = run([{ rpush: { l: 'x' } }, { lpush: { l: 'y' } }, { append: { s: '1' } }, { prepend: { s: '0' } }]);
    assert.ok(list.ok);
    assert.deepEqual(list.attributes['l'], ['y', 'b', 'c', 'x']);
    assert.equal(list.attributes['s'], '0mid1');
  });

  it('never modifies its input and returns complete attributes', () => {
    const frozen = deepFreeze(structuredClone(base));
    const wire = Object.entries(APPLIES).flatMap(([op, cases]) => cases.map(([attribute, operand]) => ({ [op]: { [attribute]: operand } })));
    const outcome = run(wire.filter((item) => !('map_div' in item || 'map_mod' in item || 'div' in item || 'mod' in item)), frozen);
    assert.ok(outcome.ok);
    assert.deepEqual(frozen, base);
    assert.deepEqual(Object.keys(outcome.attributes).sort(), Object.keys(base).sort());
  });

  it('a failure part way returns only the failure', () => {
    const outcome = run([{ set: { s: 'changed' } }, { div: { i: 0 } }]);
    assert.deepEqual(outcome, { ok: false, code: 'division_by_zero', message: "'div' on 'i': division by zero" });
  });

  it('a missing attribute reads as its default', () => {
    const { i: _dropped, ...partial } = base;
    assert.equal(after('add', 'i', 3, partial), 3);
  });
});
