// Proves tx.ts and the tx's wire form: parseOperation takes a tx of single-key operations parsed as
// they are alone (pinned to their space's incarnation), names the failing place in a fault's message,
// counts checks and operations together against txOpsMax; checkFailure answers each kind of check
// against present and absent objects; TxChanges keeps one change per object, at its first write's
// place with its last state; and encodeResult writes a tx's results and a tx_failed's failures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpacekvError } from '../src/errors.js';
import { DEFAULT_LIMITS, makeLimits } from '../src/limits.js';
import type { Limits } from '../src/limits.js';
import type { Change, TxCheck } from '../src/operations.js';
import { Space } from '../src/schema.js';
import { StepBudget } from '../src/cost.js';
import { TxChanges, checkFailure } from '../src/tx.js';
import { encodeResult, parseOperation } from '../src/wire.js';

const accounts = new Space({ name: 'accounts', key: { name: 'id', type: 'string' }, attributes: [{ name: 'balance', type: { kind: 'int' } }] }, 7);
const lookup = (name: string): Space | undefined => (name === 'accounts' ? accounts : undefined);

function parse(input: unknown, limits: Limits = DEFAULT_LIMITS) {
  return parseOperation(input, lookup, limits);
}

function faultOf(run: () => unknown): SpacekvError {
  try {
    run();
  } catch (err) {
    if (err instanceof SpacekvError) return err;
    throw err;
  }
  return assert.fail('expected a fault');
}

describe('parsing a tx', () => {
  it('parses checks and operations, each pinned to its space\'s incarnation', () => {
    const op = parse({
      op: 'tx',
      checks: [{ space: 'accounts', key: 'a', version: 3 }, { space: 'accounts', key: 'b', exists: false }, { space: 'accounts', key: 'a', if: { balance: { gte: 1 } } }],
      ops: [{ op: 'mutate', space: 'accounts', key: 'a', mutations: [{ sub: { balance: 1 } }] }, { op: 'get', space: 'accounts', key: 'b' }],
    });
    assert.deepEqual(op, {
      op: 'tx',
      checks: [
        { check: 'version', space: 'accounts', key: 'a', spaceCreatedSeq: 7, version: 3 },
        { check: 'exists', space: 'accounts', key: 'b', spaceCreatedSeq: 7, exists: false },
        { check: 'if', space: 'accounts', key: 'a', spaceCreatedSeq: 7, condition: [{ kind: 'attr', attribute: 'balance', op: 'gte', operand: 1 }] },
      ],
      ops: [
        { op: 'mutate', space: 'accounts', key: 'a', spaceCreatedSeq: 7, mutations: [{ op: 'sub', attribute: 'balance', operand: 1 }], expireIn: undefined },
        { op: 'get', space: 'accounts', key: 'b', spaceCreatedSeq: 7 },
      ],
    });
    assert.deepEqual(parse({ op: 'tx' }), { op: 'tx', checks: [], ops: [] });
  });

  it('names the failing check or operation in a fault\'s message, keeping its code and details', () => {
    const err = faultOf(() => parse({ op: 'tx', ops: [{ op: 'get', space: 'accounts', key: 'a' }, { op: 'put', space: 'accounts', key: 'a', attributes: { nope: 1 } }] }));
    assert.equal(err.code, 'unknown_attribute');
    assert.equal(err.details.attribute, 'nope');
    assert.match(err.message, /^ops\[1\]: /);
    assert.match(faultOf(() => parse({ op: 'tx', checks: [{ space: 'nowhere', key: 'a', exists: true }] })).message, /^checks\[0\]: no space named 'nowhere'/);
  });

  it('counts checks and operations together against txOpsMax', () => {
    const limits = makeLimits({ txOpsMax: 3 });
    const check = { space: 'accounts', key: 'a', exists: true };
    const get = { op: 'get', space: 'accounts', key: 'a' };
    assert.equal(parse({ op: 'tx', checks: [check], ops: [get, get] }, limits).op, 'tx');
    const err = faultOf(() => parse({ op: 'tx', checks: [check, check], ops: [get, get] }, limits));
    assert.equal(err.code, 'too_large');
    assert.equal(err.details.limit, 'txOpsMax');
  });
});

describe('checkFailure', () => {
  const present = { version: 5, expiresAt: null, attributes: { balance: 10 } };
  const base = { space: 'accounts', key: 'a' } as const;
  const cases: readonly [TxCheck, typeof present | null, string | null][] = [
    [{ ...base, check: 'exists', exists: true }, present, null],
    [{ ...base, check: 'exists', exists: true }, null, 'not_found@0'],
    [{ ...base, check: 'exists', exists: false }, null, null],
    [{ ...base, check: 'exists', exists: false }, present, 'exists@5'],
    [{ ...base, check: 'version', version: 5 }, present, null],
    [{ ...base, check: 'version', version: 4 }, present, 'cmp_fail@5'],
    [{ ...base, check: 'version', version: 0 }, null, null],
    [{ ...base, check: 'version', version: 0 }, present, 'cmp_fail@5'],
    [{ ...base, check: 'version', version: 5 }, null, 'cmp_fail@0'],
    [{ ...base, check: 'if', condition: [{ kind: 'attr', attribute: 'balance', op: 'gte', operand: 10 }] }, present, null],
    [{ ...base, check: 'if', condition: [{ kind: 'attr', attribute: 'balance', op: 'gt', operand: 10 }] }, present, 'cmp_fail@5'],
    [{ ...base, check: 'if', condition: [] }, null, 'not_found@0'],
  ];
  for (const [check, current, expected] of cases) {
    it(`${JSON.stringify(check)} of ${current ? 'a present object' : 'an absent one'}: ${expected ?? 'holds'}`, () => {
      const failure = checkFailure(check, accounts, current, StepBudget.forCondition(DEFAULT_LIMITS));
      assert.equal(failure && `${failure.code}@${failure.version}`, expected);
      if (failure) assert.ok(failure.message.length > 0);
    });
  }
});

describe('TxChanges', () => {
  it('keeps one change per object, at its first write\'s place, with its last state', () => {
    const change = (key: string, op: Change['op'], attributesJson: string | null, space = 'accounts'): Change => ({ seq: 9, space, key, op, attributesJson, committedAtMs: 0 });
    const changes = new TxChanges();
    changes.add(change('a', 'put', '{"balance":1}'));
    changes.add(change('b', 'put', '{"balance":2}'));
    changes.add(change('a', 'del', null));
    changes.add(change('a', 'put', '{"balance":3}', 'other'));
    assert.equal(changes.size, 3);
    assert.deepEqual(changes.list(), [change('a', 'del', null), change('b', 'put', '{"balance":2}'), change('a', 'put', '{"balance":3}', 'other')]);
  });
});

describe('encoding tx results', () => {
  it('writes the seq and each operation\'s result as that operation alone would answer', () => {
    const text = encodeResult({
      ok: true, kind: 'tx', seq: 12,
      results: [
        { ok: true, kind: 'written', key: 'a', version: 12, created: false, attributesJson: '{"balance":9}' },
        { ok: true, kind: 'object', key: 'b', version: 4, attributesJson: '{"balance":1}' },
      ],
    });
    assert.equal(text, '{"ok":true,"seq":12,"results":[{"ok":true,"key":"a","version":12,"created":false,"attributes":{"balance":9}},'
      + '{"ok":true,"key":"b","version":4,"attributes":{"balance":1}}]}');
    assert.equal(encodeResult({ ok: true, kind: 'tx', seq: null, results: [] }), '{"ok":true,"seq":null,"results":[]}');
  });

  it('writes tx_failed with its failures', () => {
    const text = encodeResult({
      ok: false, code: 'tx_failed', message: 'the tx failed',
      failures: [{ at: 'check', index: 1, code: 'cmp_fail', message: 'expected 3', version: 5 }],
    });
    assert.deepEqual(JSON.parse(text), {
      ok: false,
      error: { code: 'tx_failed', message: 'the tx failed', failures: [{ at: 'check', index: 1, code: 'cmp_fail', message: 'expected 3', version: 5 }] },
    });
  });
});
