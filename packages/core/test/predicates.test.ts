// Proves predicates.ts: parseCondition accepts every operator on every type it applies to (and
// canonicalizes the operand), refuses it on every other type with invalid_predicate, refuses unknown
// attributes and oversized conditions; evaluateCondition answers each operator correctly, including
// `or` lists, key tests, deep equality of collections and documents, and int64 values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpacekvError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { DEFAULT_LIMITS, makeLimits } from '../src/limits.js';
import type { Limits } from '../src/limits.js';
import { StepBudget } from '../src/cost.js';
import { evaluateCondition, parseCondition, valuesEqual } from '../src/predicates.js';
import { Space } from '../src/schema.js';
import type { AttributeType, Attributes, Value } from '../src/types.js';

const S = { kind: 'string' } as const;
const I = { kind: 'int' } as const;

const space = new Space({
  name: 'things',
  key: { name: 'k', type: 'string' },
  attributes: [
    { name: 's', type: S },
    { name: 'i', type: I },
    { name: 'f', type: { kind: 'float' } },
    { name: 'b', type: { kind: 'bool' } },
    { name: 'by', type: { kind: 'bytes' } },
    { name: 'ts', type: { kind: 'timestamp' } },
    { name: 'doc', type: { kind: 'document' } },
    { name: 'l', type: { kind: 'list', of: S } },
    { name: 'li', type: { kind: 'list', of: I } },
    { name: 'st', type: { kind: 'set', of: S } },
    { name: 'm', type: { kind: 'map', key: S, value: I } },
    { name: 'mi', type: { kind: 'map', key: I, value: { kind: 'float' } } },
  ],
});

const BIG = 2n ** 60n;
const object: Attributes = {
  s: 'héllo😀',
  i: 42,
  f: 2.5,
  b: true,
  by: 'AQID', // 3 bytes, 4 characters of base64
  ts: '2024-01-02T03:04:05.000Z',
  doc: { a: [1, { b: 2 }], c: null, big: BIG },
  l: ['x', 'y'],
  li: [1, BIG],
  st: ['a', 'b', 'c'],
  m: { x: 1, y: 2 },
  mi: { '1': 1.5, '10': 2 },
};

function parse(condition: unknown, limits: Limits = DEFAULT_LIMITS) {
  return parseCondition(condition, space, limits);
}

function holds(condition: unknown, attributes: Attributes = object, key: string = 'key-1'): boolean {
  return evaluateCondition(parse(condition), key, 'k', attributes, StepBudget.forCondition(DEFAULT_LIMITS));
}

function rejects(condition: unknown, code: ErrorCode, limits: Limits = DEFAULT_LIMITS): void {
  assert.throws(
    () => parse(condition, limits),
    (err: unknown) => err instanceof SpacekvError && err.code === code,
    `${JSON.stringify(condition, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))} should fail ${code}`,
  );
}

describe('parseCondition: wire form', () => {
  it('a bare value is equality; an operator object gives one predicate per operator', () => {
    assert.deepEqual(parse({ s: 'x' }), [{ kind: 'attr', attribute: 's', op: 'eq', operand: 'x' }]);
    assert.deepEqual(parse({ i: { gte: 18, lt: 65 } }), [
      { kind: 'attr', attribute: 'i', op: 'gte', operand: 18 },
      { kind: 'attr', attribute: 'i', op: 'lt', operand: 65 },
    ]);
  });

  it('an empty condition is allowed and always holds', () => {
    assert.deepEqual(parse({}), []);
    assert.equal(holds({}), true);
  });

  it('or lists nest', () => {
    const condition = parse({ or: [{ s: 'x' }, { or: [{ i: 1 }, { i: 42 }] }] });
    assert.equal(condition.length, 1);
    assert.equal(condition[0]?.kind, 'or');
  });

  it('refuses non-objects, empty/non-list or, empty operator objects and unknown operators', () => {
    for (const bad of [null, 3, 'x', [], [{ s: 'x' }]]) rejects(bad, 'invalid_predicate');
    rejects({ or: [] }, 'invalid_predicate');
    rejects({ or: { s: 'x' } }, 'invalid_predicate');
    rejects({ or: [3] }, 'invalid_predicate');
    rejects({ s: {} }, 'invalid_predicate');
    rejects({ s: { like: 'x' } }, 'invalid_predicate');
  });

  it('refuses unknown attributes with the attribute named', () => {
    assert.throws(
      () => parse({ nope: 1 }),
      (err: unknown) => err instanceof SpacekvError && err.code === 'unknown_attribute' && err.details.attribute === 'nope',
    );
    rejects({ or: [{ nope: 1 }] }, 'unknown_attribute');
  });

  it('counts predicates and or branches against predicatesPerOpMax', () => {
    const limits = makeLimits({ predicatesPerOpMax: 3 });
    parse({ i: { gt: 1, lt: 5 }, s: 'x' }, limits);
    rejects({ i: { gt: 1, lt: 5 }, s: 'x', f: 1 }, 'too_large', limits);
    parse({ or: [{ s: 'x' }] }, limits); // 1 branch + 1 test
    rejects({ or: [{ s: 'x' }, { s: 'y' }] }, 'too_large', limits); // 2 branches + 2 tests
    rejects({ or: [{}, {}, {}, {}] }, 'too_large', limits);
    let deep: unknown = {};
    for (let n = 0; n < 10; n++) deep = { or: [deep] };
    rejects(deep, 'too_large', limits);
  });

  it('refuses a bad operand with invalid_predicate, not invalid_value', () => {
    rejects({ i: 'x' }, 'invalid_predicate');
    rejects({ i: 2n ** 63n }, 'invalid_predicate');
    rejects({ i: 1.5 }, 'invalid_predicate');
    rejects({ ts: 'yesterday' }, 'invalid_predicate');
    rejects({ by: 'not base64!' }, 'invalid_predicate');
    rejects({ st: 'a' }, 'invalid_predicate');
    rejects({ l: [1] }, 'invalid_predicate');
  });

  it('canonicalizes operands', () => {
    assert.deepEqual(parse({ ts: 0 }), [{ kind: 'attr', attribute: 'ts', op: 'eq', operand: '1970-01-01T00:00:00.000Z' }]);
    assert.deepEqual(parse({ st: { eq: ['c', 'a', 'b', 'a'] } }), [{ kind: 'attr', attribute: 'st', op: 'eq', operand: ['a', 'b', 'c'] }]);
    assert.deepEqual(parse({ i: 2n ** 40n }), [{ kind: 'attr', attribute: 'i', op: 'eq', operand: 2 ** 40 }]);
    assert.deepEqual(parse({ mi: { contains: '010' } }), [{ kind: 'attr', attribute: 'mi', op: 'contains', operand: '10' }]);
    assert.deepEqual(parse({ mi: { contains: 10 } }), [{ kind: 'attr', attribute: 'mi', op: 'contains', operand: '10' }]);
  });

  it('compiles regex at parse time: an invalid pattern is invalid_predicate', () => {
    rejects({ s: { regex: '(a' } }, 'invalid_predicate');
    rejects({ s: { regex: '(?=a)' } }, 'invalid_predicate');
    rejects({ s: { regex: 5 } }, 'invalid_predicate');
  });
});

/** For each operator, the types it applies to, one passing and one failing operand per type. */
type Case = readonly [attribute: string, passing: unknown, failing: unknown];
const APPLIES: Record<string, readonly Case[]> = {
  eq: [
    ['s', 'héllo😀', 'hello'], ['i', 42, 41], ['f', 2.5, 2], ['b', true, false], ['by', 'AQID', 'AQIE'],
    ['ts', '2024-01-02T03:04:05Z', 0],
    ['l', ['x', 'y'], ['y', 'x']], ['li', [1, BIG], [1, BIG + 1n]], ['st', ['c', 'b', 'a'], ['a', 'b']],
    ['m', { y: 2, x: 1 }, { x: 1 }], ['mi', { '01': 1.5, 10: 2 }, { 1: 1.5, 10: 3 }],
  ],
  ne: [
    ['s', 'hello', 'héllo😀'], ['i', 41, 42], ['f', 2, 2.5], ['b', false, true], ['by', 'AQIE', 'AQID'],
    ['ts', 0, '2024-01-02T03:04:05Z'], ['l', ['y', 'x'], ['x', 'y']], ['li', [1], [1, BIG]], ['st', ['a'], ['a', 'b', 'c']],
    ['m', {}, { x: 1, y: 2 }], ['mi', {}, { 1: 1.5, 10: 2 }],
  ],
  lt: [['s', 'i', 'h'], ['i', 43, 42], ['f', 3, 2.5], ['by', 'AQIE', 'AQID'], ['ts', '2025-01-01T00:00:00Z', 0]],
  lte: [['s', 'héllo😀', 'h'], ['i', 42, 41], ['f', 2.5, 2], ['by', 'AQID', 'AQIC'], ['ts', '2024-01-02T03:04:05Z', 0]],
  gt: [['s', 'h', 'i'], ['i', 41, 42], ['f', 2, 2.5], ['by', 'AQIC', 'AQID'], ['ts', 0, '2025-01-01T00:00:00Z']],
  gte: [['s', 'héllo😀', 'i'], ['i', 42, 43], ['f', 2.5, 3], ['by', 'AQID', 'AQIE'], ['ts', '2024-01-02T03:04:05Z', '2025-01-01T00:00:00Z']],
  prefix: [['s', 'hé', 'he']],
  regex: [['s', '^h.llo\\W$', '^hello']],
  contains: [['s', 'llo', 'xyz'], ['l', 'y', 'z'], ['li', BIG, 2], ['st', 'b', 'd'], ['m', 'x', 'z'], ['mi', '10', '2']],
  length_eq: [['s', 6, 7], ['by', 3, 4], ['l', 2, 3], ['li', 2, 0], ['st', 3, 2], ['m', 2, 1], ['mi', 2, 3]],
  length_lte: [['s', 6, 5], ['by', 3, 2], ['l', 2, 1], ['li', 3, 1], ['st', 3, 2], ['m', 2, 1], ['mi', 5, 1]],
  length_gte: [['s', 6, 7], ['by', 3, 4], ['l', 2, 3], ['li', 0, 3], ['st', 3, 4], ['m', 2, 3], ['mi', 2, 3]],
};
const ALL_ATTRIBUTES = space.attributes.map((a) => a.name);

describe('every operator on every type', () => {
  for (const [op, cases] of Object.entries(APPLIES)) {
    for (const [attribute, passing, failing] of cases) {
      it(`${op} on ${attribute}`, () => {
        assert.equal(holds({ [attribute]: { [op]: passing } }), true, `${op} ${String(passing)} should hold`);
        assert.equal(holds({ [attribute]: { [op]: failing } }), false, `${op} ${String(failing)} should not hold`);
      });
    }
    const applicable = new Set(cases.map((c) => c[0]));
    for (const attribute of ALL_ATTRIBUTES.filter((a) => !applicable.has(a) && a !== 'doc')) {
      it(`${op} refused on ${attribute}`, () => rejects({ [attribute]: { [op]: 1 } }, 'invalid_predicate'));
    }
  }
});

describe('operator operands', () => {
  it('length_* takes a non-negative int', () => {
    rejects({ s: { length_eq: -1 } }, 'invalid_predicate');
    rejects({ s: { length_eq: 'x' } }, 'invalid_predicate');
    rejects({ s: { length_lte: 1.5 } }, 'invalid_predicate');
    assert.equal(holds({ s: { length_lte: 2n ** 62n } }), true);
  });

  it('string length counts code points; bytes length counts decoded bytes', () => {
    assert.equal(holds({ s: { length_eq: 6 } }), true); // 'héllo😀' is 7 UTF-16 units
    assert.equal(holds({ by: { length_eq: 3 } }), true);
    for (const [text, n] of [['', 0], ['AA==', 1], ['AAA=', 2], ['AAAA', 3], ['AAAAAA==', 4]] as const) {
      assert.equal(holds({ by: { length_eq: n } }, { ...object, by: text }), true, text);
    }
  });

  it('prefix/regex/contains(string) need a string operand', () => {
    rejects({ s: { prefix: 1 } }, 'invalid_predicate');
    rejects({ s: { contains: 1 } }, 'invalid_predicate');
    rejects({ l: { contains: 1 } }, 'invalid_predicate');
    rejects({ li: { contains: 'x' } }, 'invalid_predicate');
    rejects({ m: { contains: ['x'] } }, 'invalid_predicate');
    rejects({ mi: { contains: 'x' } }, 'invalid_predicate');
    rejects({ m: { contains: 1 } }, 'invalid_predicate'); // string-keyed maps take string keys
  });

  it('regex uses search semantics and is linear on a catastrophic pattern', () => {
    assert.equal(holds({ s: { regex: 'll' } }), true);
    assert.equal(holds({ s: { regex: '^ll' } }), false);
    const long = { ...object, s: 'a'.repeat(30000) + 'b' };
    assert.equal(holds({ s: { regex: '(a+)+$' } }, long), false);
    assert.equal(holds({ s: { regex: '(a+)+b$' } }, long), true);
  });
});

describe('documents', () => {
  it('compares documents deeply: key order ignored, array order kept, bigints exact', () => {
    assert.equal(holds({ doc: { c: null, big: BIG, a: [1, { b: 2 }] } }), true);
    assert.equal(holds({ doc: { a: [1, { b: 3 }], c: null, big: BIG } }), false);
    assert.equal(holds({ doc: { a: [{ b: 2 }, 1], c: null, big: BIG } }), false);
    assert.equal(holds({ doc: { a: [1, { b: 2 }], c: null, big: BIG + 1n } }), false);
    assert.equal(holds({ doc: { a: [1, { b: 2 }], c: null } }), false);
  });

  it('a document attribute takes the whole value as equality, even an operator-looking object', () => {
    assert.deepEqual(parse({ doc: { eq: 1 } }), [{ kind: 'attr', attribute: 'doc', op: 'eq', operand: { eq: 1 } }]);
    assert.equal(holds({ doc: { eq: 1 } }, { ...object, doc: { eq: 1 } }), true);
    assert.equal(holds({ doc: { eq: 1 } }, { ...object, doc: 1 }), false);
    assert.equal(holds({ doc: null }, { ...object, doc: null }), true);
    assert.equal(holds({ doc: [1, 'x'] }, { ...object, doc: [1, 'x'] }), true);
    assert.equal(holds({ doc: [1, 'x'] }, { ...object, doc: ['x', 1] }), false);
  });
});

describe('key predicates', () => {
  it('the key name is a testable attribute of the key type', () => {
    assert.equal(holds({ k: 'key-1' }), true);
    assert.equal(holds({ k: { prefix: 'key-' } }), true);
    assert.equal(holds({ k: { gt: 'key-2' } }), false);
    rejects({ k: 5 }, 'invalid_predicate');
  });

  it('an int key compares exactly, bigint included', () => {
    const intSpace = new Space({ name: 'n', key: { name: 'id', type: 'int' }, attributes: [{ name: 'v', type: I }] });
    const big = 2n ** 62n;
    const cond = parseCondition({ id: { gt: 2n ** 53n, lte: big } }, intSpace, DEFAULT_LIMITS);
    assert.equal(evaluateCondition(cond, big, 'id', { v: 0 }, StepBudget.forCondition(DEFAULT_LIMITS)), true);
    assert.equal(evaluateCondition(cond, 2 ** 52, 'id', { v: 0 }, StepBudget.forCondition(DEFAULT_LIMITS)), false);
    assert.equal(evaluateCondition(parseCondition({ id: big }, intSpace, DEFAULT_LIMITS), big, 'id', { v: 0 }, StepBudget.forCondition(DEFAULT_LIMITS)), true);
    assert.throws(() => parseCondition({ id: { prefix: '1' } }, intSpace, DEFAULT_LIMITS), /does not apply/);
  });
});

describe('or and conjunction', () => {
  it('all clauses must hold; an or needs one branch', () => {
    assert.equal(holds({ s: 'héllo😀', i: 42 }), true);
    assert.equal(holds({ s: 'héllo😀', i: 41 }), false);
    assert.equal(holds({ or: [{ i: 1 }, { i: 42 }] }), true);
    assert.equal(holds({ or: [{ i: 1 }, { i: 2 }] }), false);
    assert.equal(holds({ i: 42, or: [{ s: 'no' }, { or: [{ f: 1 }, { b: true, f: 2.5 }] }] }), true);
    assert.equal(holds({ i: 42, or: [{ s: 'no' }, { or: [{ f: 1 }, { b: false, f: 2.5 }] }] }), false);
    assert.equal(holds({ or: [{}] }), true);
  });
});

describe('int64 comparisons', () => {
  it('mixes number and bigint operands exactly', () => {
    const at = (i: Value) => ({ ...object, i });
    assert.equal(holds({ i: { gt: 2n ** 62n } }, at(2n ** 63n - 1n)), true);
    assert.equal(holds({ i: { lt: -(2n ** 62n) } }, at(-(2n ** 63n))), true);
    assert.equal(holds({ i: 2n ** 63n - 1n }, at(2n ** 63n - 1n)), true);
    assert.equal(holds({ i: { lt: 2n ** 63n - 1n } }, at(2n ** 63n - 2n)), true);
    assert.equal(holds({ i: { gte: 1 } }, at(2n ** 60n)), true);
  });
});

describe('valuesEqual', () => {
  it('is deep, key-order blind, and bigint aware', () => {
    assert.equal(valuesEqual({ a: [1, { b: [2n ** 60n] }], c: 'x' }, { c: 'x', a: [1, { b: [2n ** 60n] }] }), true);
    assert.equal(valuesEqual(5n, 5), true);
    assert.equal(valuesEqual(5, 5n), true);
    assert.equal(valuesEqual(5.5, 5n), false);
    assert.equal(valuesEqual([1, 2], [1, 2, 3]), false);
    assert.equal(valuesEqual({ a: 1 }, { a: 1, b: 2 }), false);
    assert.equal(valuesEqual({ a: 1, b: 2 }, { a: 1, c: 2 }), false);
    assert.equal(valuesEqual([], {}), false);
    assert.equal(valuesEqual(null, {}), false);
    assert.equal(valuesEqual('1', 1), false);
    assert.equal(valuesEqual(undefined, null), false);
  });
});

describe('types are fully covered by the tables', () => {
  it('every attribute type but document (tested above) appears in the eq table', () => {
    const kinds = new Set<AttributeType['kind']>(space.attributes.map((a) => a.type.kind).filter((k) => k !== 'document'));
    const covered = new Set(APPLIES['eq']?.map((c) => space.attribute(c[0])?.type.kind));
    for (const kind of kinds) assert.ok(covered.has(kind), kind);
  });
});
