// Proves the linearizability checker (checker/linearizability.ts with the register model) accepts
// exactly the histories a linearizable register can produce: hand-written histories that are
// linearizable only through a particular order of overlapping operations, histories with unknown
// (`info`) operations, and known non-linearizable ones it must reject (stale read, two CAS winning
// on one version, lost atomic add, a value nobody wrote, versions going backwards, a definitely
// failed write that is seen). A property test builds concurrent histories from a random legal
// sequential run and checks none is rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HistoryOp, Outcome } from './history.js';
import { checkLinearizable, explain } from './linearizability.js';
import { ABSENT, REGISTER_MODEL, type RegisterInput, type RegisterOutput, type RegisterState, stepRegister } from './register-model.js';

type Op = HistoryOp<RegisterInput, RegisterOutput>;
let index = 0;

/** One operation: invoked at `from`, completed at `to` (ignored for info). */
function op(process: number, input: RegisterInput, from: number, to: number, output?: RegisterOutput, outcome: Outcome = 'ok', key = 'k'): Op {
  const base = { index: index++, process, key, input, invokedAt: BigInt(from), outcome };
  if (outcome === 'info') return base;
  return { ...base, completedAt: BigInt(to), ...(output ? { output } : {}) };
}
const written = (version: number): RegisterOutput => ({ ok: true, version });
const read = (value: number | null, version = 0): RegisterOutput => (value === null ? { ok: false, code: 'not_found', version: 0 } : { ok: true, value, version });
const check = (history: readonly Op[]) => checkLinearizable(REGISTER_MODEL, history);

test('a sequential history that follows the model is linearizable', () => {
  const verdict = check([
    op(0, { f: 'get' }, 0, 1, read(null)),
    op(0, { f: 'put', value: 1 }, 2, 3, written(10)),
    op(1, { f: 'get' }, 4, 5, read(1, 10)),
    op(1, { f: 'cas', version: 10, value: 2 }, 6, 7, written(11)),
    op(0, { f: 'cas', version: 10, value: 3 }, 8, 9, { ok: false, code: 'cmp_fail', version: 11 }),
    op(0, { f: 'add', delta: 5 }, 10, 11, { ok: true, value: 7, version: 12 }),
    op(1, { f: 'put_if_not_exist', value: 9 }, 12, 13, { ok: false, code: 'exists', version: 12 }),
    op(1, { f: 'del' }, 14, 15, { ok: true, version: 13 }),
    op(0, { f: 'del' }, 16, 17, { ok: false, code: 'not_found' }),
    op(0, { f: 'put_if_not_exist', value: 4 }, 18, 19, written(14)),
  ]);
  assert.equal(verdict.result, 'ok', verdict.keys.map(explain).join('\n'));
});

test('overlapping operations may take effect in either order, and the checker finds the order', () => {
  // p1's read overlaps both writes and sees the second; p2 reads after both and sees it too.
  const verdict = check([
    op(0, { f: 'put', value: 1 }, 0, 10, written(5)),
    op(1, { f: 'put', value: 2 }, 1, 9, written(6)),
    op(2, { f: 'get' }, 2, 8, read(2, 6)),
    op(2, { f: 'get' }, 11, 12, read(2, 6)),
  ]);
  assert.equal(verdict.result, 'ok');
});

test('a stale read after a completed write is rejected', () => {
  const verdict = check([
    op(0, { f: 'put', value: 1 }, 0, 2, written(5)),
    op(1, { f: 'get' }, 3, 4, read(null)),
  ]);
  assert.equal(verdict.result, 'illegal');
  assert.match(explain(verdict.keys[0]!), /not linearizable/);
});

test('reads going back in time are rejected (new value seen, then the old one, with no write between)', () => {
  const verdict = check([
    op(0, { f: 'put', value: 1 }, 0, 1, written(5)),
    op(0, { f: 'put', value: 2 }, 2, 20, written(6)),
    op(1, { f: 'get' }, 3, 4, read(2, 6)),
    op(2, { f: 'get' }, 5, 6, read(1, 5)),
  ]);
  assert.equal(verdict.result, 'illegal');
});

test('two compare-and-swaps on the same version cannot both succeed', () => {
  const verdict = check([
    op(0, { f: 'put', value: 1 }, 0, 1, written(5)),
    op(1, { f: 'cas', version: 5, value: 2 }, 2, 6, written(6)),
    op(2, { f: 'cas', version: 5, value: 3 }, 3, 7, written(7)),
  ]);
  assert.equal(verdict.result, 'illegal');
});

test('a lost atomic add is rejected, the sum of both is accepted', () => {
  const base = [
    op(0, { f: 'put', value: 0 }, 0, 1, written(1)),
    op(1, { f: 'add', delta: 1 }, 2, 5, { ok: true, version: 2 }),
    op(2, { f: 'add', delta: 1 }, 2, 5, { ok: true, version: 3 }),
  ];
  assert.equal(check([...base, op(0, { f: 'get' }, 6, 7, read(1, 3))]).result, 'illegal');
  assert.equal(check([...base, op(0, { f: 'get' }, 6, 7, read(2, 3))]).result, 'ok');
});

test('an add that returns a value it could not have produced is rejected', () => {
  const verdict = check([
    op(0, { f: 'put', value: 10 }, 0, 1, written(1)),
    op(1, { f: 'add', delta: 1 }, 2, 3, { ok: true, value: 12, version: 2 }),
  ]);
  assert.equal(verdict.result, 'illegal');
});

test('a read of a value nobody wrote is rejected', () => {
  assert.equal(check([op(0, { f: 'put', value: 1 }, 0, 1, written(1)), op(1, { f: 'get' }, 2, 3, read(7, 1))]).result, 'illegal');
});

test('versions must grow: a later write cannot get a smaller version', () => {
  const verdict = check([op(0, { f: 'put', value: 1 }, 0, 1, written(9)), op(0, { f: 'put', value: 2 }, 2, 3, written(4))]);
  assert.equal(verdict.result, 'illegal');
});

test('an unknown (info) write may have happened, at any time after its invocation, or never', () => {
  const unknownPut = op(1, { f: 'put', value: 5 }, 2, 0, undefined, 'info');
  // Seen long after: fine.
  assert.equal(check([op(0, { f: 'put', value: 1 }, 0, 1, written(1)), unknownPut, op(0, { f: 'get' }, 50, 51, read(5, 2))]).result, 'ok');
  // Never seen: fine.
  assert.equal(check([op(0, { f: 'put', value: 1 }, 0, 1, written(1)), unknownPut, op(0, { f: 'get' }, 50, 51, read(1, 1))]).result, 'ok');
  // Seen before it was invoked: impossible.
  assert.equal(check([op(0, { f: 'put', value: 1 }, 0, 1, written(1)), op(0, { f: 'get' }, 3, 4, read(5, 2)), { ...unknownPut, invokedAt: 10n }]).result, 'illegal');
  // Seen, then gone with nothing to remove it: impossible.
  assert.equal(check([
    op(0, { f: 'put', value: 1 }, 0, 1, written(1)), unknownPut,
    op(0, { f: 'get' }, 50, 51, read(5, 2)), op(0, { f: 'get' }, 52, 53, read(1, 1)),
  ]).result, 'illegal');
});

test('a write that definitely failed must not be seen', () => {
  const verdict = check([
    op(0, { f: 'put', value: 1 }, 0, 1, written(1)),
    op(1, { f: 'put', value: 2 }, 2, 3, undefined, 'fail'),
    op(0, { f: 'get' }, 4, 5, read(2, 2)),
  ]);
  assert.equal(verdict.result, 'illegal');
});

test('keys are checked independently, and the verdict names the failing key', () => {
  const verdict = check([
    op(0, { f: 'put', value: 1 }, 0, 1, written(1), 'ok', 'a'),
    op(0, { f: 'get' }, 2, 3, read(1, 1), 'ok', 'a'),
    op(1, { f: 'put', value: 1 }, 0, 1, written(2), 'ok', 'b'),
    op(1, { f: 'get' }, 2, 3, read(null), 'ok', 'b'),
  ]);
  assert.equal(verdict.result, 'illegal');
  assert.deepEqual(verdict.keys.map((k) => [k.key, k.result]), [['a', 'ok'], ['b', 'illegal']]);
});

test('a search past its budget says unknown rather than guessing', () => {
  const many = Array.from({ length: 12 }, (_, i) => op(i, { f: 'put', value: i }, 0, 0, undefined, 'info'));
  const verdict = checkLinearizable(REGISTER_MODEL, [...many, op(99, { f: 'get' }, 1, 2, read(42, 1))], { stepBudget: 50 });
  assert.equal(verdict.result, 'unknown');
});

// Random legal histories: run a random sequence through the model to get each answer, give each
// operation a linearization instant, then widen it into an interval around that instant; some
// writes become `info`. Any such history is linearizable by construction.
const inputArb: fc.Arbitrary<RegisterInput> = fc.oneof(
  fc.constant({ f: 'get' } as const),
  fc.integer({ min: 0, max: 9 }).map((value) => ({ f: 'put', value }) as const),
  fc.integer({ min: 0, max: 9 }).map((value) => ({ f: 'put_if_not_exist', value }) as const),
  fc.record({ version: fc.integer({ min: 0, max: 12 }), value: fc.integer({ min: 0, max: 9 }) }).map((r) => ({ f: 'cas', ...r }) as const),
  fc.integer({ min: -3, max: 3 }).map((delta) => ({ f: 'add', delta }) as const),
  fc.constant({ f: 'del' } as const),
);

function answer(state: RegisterState, input: RegisterInput, version: number): { output: RegisterOutput; next: RegisterState } {
  const candidates: RegisterOutput[] = [
    { ok: true, value: state.value, version: state.version ?? 0 }, { ok: true, version },
    { ok: false, code: 'not_found' }, { ok: false, code: 'exists', version: state.version ?? 0 }, { ok: false, code: 'cmp_fail', version: state.version ?? 0 },
  ];
  for (const output of candidates) {
    const next = stepRegister(state, input, output);
    if (next !== undefined) return { output, next };
  }
  throw new Error(`no answer fits ${JSON.stringify(input)} in ${JSON.stringify(state)}`);
}

test('property: histories built from a legal sequential run are never rejected', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ input: inputArb, before: fc.nat(30), after: fc.nat(30), unknown: fc.nat(9), process: fc.nat(5) }), { maxLength: 24 }),
    (steps) => {
      let state = ABSENT;
      const history: Op[] = steps.map((s, i) => {
        const { output, next } = answer(state, s.input, i + 1);
        state = next;
        const at = (i + 1) * 10;
        const info = s.unknown === 0 && s.input.f !== 'get';
        return op(s.process, s.input, at - s.before, at + s.after, output, info ? 'info' : 'ok');
      });
      const verdict = check(history);
      assert.equal(verdict.result, 'ok', verdict.keys.map(explain).join('\n'));
    },
  ), { seed: Number(process.env.SPACEKV_SEED ?? 9), numRuns: 300 });
});
