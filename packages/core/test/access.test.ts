// Proves the scope rules of access.ts: for random caveats, needs and added caveats, a scope with
// more caveats never allows what the scope without them refuses (attenuation only narrows); the
// needs of operations name every space they touch, and an operation is refused exactly when one of them is; unknown or malformed caveats are refused.
// fast-check, seeded by SPACEKV_SEED (printed on failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Need, RIGHTS, Scope, caveatsOf, needsOf, needsOfWatch, parseCaveat } from '../src/access.js';
import type { Operation } from '../src/operations.js';

const seed = Number(process.env.SPACEKV_SEED ?? Math.floor(Math.random() * 2 ** 31));
const params = { seed, numRuns: 2000 };

const name = fc.constantFrom('a', 'ab', 'abc', 'b', 'users', 'users_1', 'logs');
const right = fc.constantFrom(...RIGHTS);
const caveatText = fc.oneof(
  fc.uniqueArray(right, { minLength: 1, maxLength: 4 }).map((r) => `ops = ${r.join(',')}`),
  fc.array(fc.oneof(name, name.map((n) => `${n}*`), fc.constant('*')), { minLength: 1, maxLength: 3 }).map((s) => `spaces = ${s.join(',')}`),
  fc.constantFrom('', 'a', 'ab', 'u/').map((p) => `keys = ${p}`),
  fc.constantFrom('2000-01-01T00:00:00Z', '2999-01-01T00:00:00Z').map((t) => `expires = ${t}`),
);
const need: fc.Arbitrary<Need> = fc.record({
  right,
  space: fc.option(name, { nil: undefined }),
  key: fc.option(fc.oneof(fc.constantFrom('a', 'ab', 'abc', 'u/1', 'x'), fc.integer()), { nil: undefined }),
  keyPrefix: fc.option(fc.constantFrom('', 'a', 'ab', 'u/'), { nil: undefined }),
}).map((n) => Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined)) as unknown as Need);

test(`an attenuated scope never allows what its parent refuses (seed ${seed})`, () => {
  fc.assert(fc.property(fc.array(caveatText, { maxLength: 4 }), fc.array(caveatText, { minLength: 1, maxLength: 3 }), need, (parent, added, n) => {
    const wide = new Scope(parent.map(parseCaveat));
    const narrow = new Scope([...parent, ...added].map(parseCaveat));
    if (narrow.allows(n)) assert.ok(wide.allows(n), `${JSON.stringify(n)} allowed by ${JSON.stringify([...parent, ...added])} but not ${JSON.stringify(parent)}`);
    assert.ok(narrow.expiresAtMs <= wide.expiresAtMs);
  }), params);
});

const OBJECT_OPS = ['get', 'get_partial', 'put', 'put_if_not_exist', 'get_and_put', 'cond_put', 'cond_put_or_create', 'compare_and_swap', 'del', 'cond_del', 'get_and_del', 'mutate'] as const;
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constantFrom(...OBJECT_OPS), space: name, key: fc.oneof(fc.constantFrom('a', 'ab', 'u/1', 'x'), fc.integer()) }),
  fc.record({ op: fc.constantFrom('search', 'count', 'group_del'), space: name }),
  fc.record({ op: fc.constant('list'), space: name, range: fc.record({ prefix: fc.constantFrom('a', 'u/') }) }),
  fc.constant({ op: 'list_spaces' }),
) as fc.Arbitrary<unknown> as fc.Arbitrary<Operation>;

test(`a scope refuses an operation exactly when it refuses one of its needs, and names that need (seed ${seed})`, () => {
  fc.assert(fc.property(fc.array(caveatText, { maxLength: 4 }), operation, (caveats, op) => {
    const scope = new Scope(caveats.map(parseCaveat));
    assert.deepEqual(scope.refusedOperation(op), scope.refused(needsOf(op)));
  }), params);
});

test(`a scope asked again and again, about more spaces than it remembers, answers as a fresh one (seed ${seed})`, () => {
  const manyNames = fc.oneof(name, fc.integer({ min: 0, max: 99 }).map((i) => `users_${i}`), fc.integer({ min: 0, max: 99 }).map((i) => `s${i}`));
  fc.assert(fc.property(fc.array(caveatText, { maxLength: 4 }), fc.array(fc.record({ right, space: manyNames }), { minLength: 100, maxLength: 300 }), (caveats, asked) => {
    const parsed = caveats.map(parseCaveat);
    const used = new Scope(parsed);
    for (const { right: r, space } of asked) {
      const op = { op: r === 'read' ? 'get' : 'put', space, key: 'u/1' } as unknown as Operation;
      assert.equal(used.allows({ right: r, space }), new Scope(parsed).allows({ right: r, space }), `${r} on ${space} under ${JSON.stringify(caveats)}`);
      assert.deepEqual(used.refusedOperation(op), new Scope(parsed).refusedOperation(op));
    }
  }), { seed, numRuns: 200 });
});

test('a scope allows exactly what its caveats name', () => {
  const scope = new Scope(['ops = read,write', 'spaces = users_*,logs', 'keys = u/'].map(parseCaveat));
  assert.ok(scope.allows({ right: 'read', space: 'users_eu', key: 'u/1' }));
  assert.ok(scope.allows({ right: 'write', space: 'logs', keyPrefix: 'u/x' }));
  assert.ok(!scope.allows({ right: 'admin', space: 'logs', key: 'u/1' }), 'a right not granted');
  assert.ok(!scope.allows({ right: 'read', space: 'users', key: 'u/1' }), "'users' is not under 'users_*'");
  assert.ok(!scope.allows({ right: 'read', space: 'logs', key: 'v/1' }), 'a key outside the prefix');
  assert.ok(!scope.allows({ right: 'read', space: 'logs', key: 7 }), 'an int key has no string prefix');
  assert.ok(!scope.allows({ right: 'read', space: 'logs' }), 'the whole space is more than the prefix');
  assert.ok(!scope.allows({ right: 'read', key: 'u/1' }), 'every space is more than two');
  assert.ok(new Scope([]).allows({ right: 'admin' }), 'no caveat: everything');
});

test('a tx needs its rights on every space and key it names; a watch of everything needs every space', () => {
  const tx = {
    op: 'tx',
    checks: [{ check: 'exists', exists: true, space: 'a', key: 'k' }],
    ops: [{ op: 'put', space: 'b', key: 'k', attributes: {} }, { op: 'get_and_del', space: 'c', key: 'j' }],
  } as unknown as Operation;
  assert.deepEqual(needsOf(tx), [
    { right: 'read', space: 'a', key: 'k' }, { right: 'write', space: 'b', key: 'k' }, { right: 'write', space: 'c', key: 'j' }, { right: 'read', space: 'c', key: 'j' },
  ]);
  assert.deepEqual(needsOfWatch({}), [{ right: 'watch' }]);
  assert.deepEqual(needsOfWatch({ space: 'a', prefix: 'p' }), [{ right: 'watch', space: 'a', keyPrefix: 'p' }]);
});

test('unknown and malformed caveats are refused, so a token carrying one does not verify', () => {
  for (const bad of ['time < 5', 'ops = read,fly', 'ops = ', 'spaces = a*b', 'spaces = ', 'expires = tomorrow', 'expires = 99', 'ops=read', '']) {
    assert.throws(() => parseCaveat(bad), /caveat/, bad);
  }
  assert.deepEqual(caveatsOf({ ops: ['read'], spaces: ['a', 'b*'], keys: 'p', expiresAtMs: Date.UTC(2030, 0, 1) }),
    ['ops = read', 'spaces = a,b*', 'keys = p', 'expires = 2030-01-01T00:00:00.000Z']);
});
