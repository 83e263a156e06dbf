// Proves the predicate cost bound (cost.ts): a regex test is charged its worst case (program size ×
// input length) before it runs, so a costly one fails `too_costly`, naming its limit, without doing
// the work; tests share one budget across a condition (and its `or` branches) and across the
// evaluations a caller charges to it; within the budget the answers are exactly those of an
// unbounded evaluation (fast-check, seeded by SPACEKV_SEED, printed in the test name).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { StepBudget } from '../src/cost.js';
import { SpacekvError } from '../src/errors.js';
import { DEFAULT_LIMITS, makeLimits } from '../src/limits.js';
import { evaluateCondition, parseCondition } from '../src/predicates.js';
import { compileRegex } from '../src/regex.js';
import { Space } from '../src/schema.js';

const seed = Number(process.env.SPACEKV_SEED ?? Math.floor(Math.random() * 2 ** 31));
const space = new Space({ name: 'docs', key: { name: 'k', type: 'string' }, attributes: [{ name: 's', type: { kind: 'string' } }, { name: 't', type: { kind: 'string' } }] });
/** The pattern: 2,002 instructions, a Pike VM step for each at every character. */
const COSTLY = '(?:.?){1000}y';

function tooCostly(run: () => unknown, limit: string): void {
  assert.throws(run, (err: unknown) => err instanceof SpacekvError && err.code === 'too_costly' && err.details.limit === limit && /steps/.test(err.message));
}

test('a regex past conditionStepsMax fails too_costly before it runs, however long its input', () => {
  const condition = parseCondition({ s: { regex: COSTLY } }, space, DEFAULT_LIMITS);
  // 2,002 × 10 MB characters: hours of matching if it ran; refused from arithmetic alone.
  tooCostly(() => evaluateCondition(condition, 'k', 'k', { s: 'x'.repeat(10_000_000), t: '' }, StepBudget.forCondition(DEFAULT_LIMITS)), 'conditionStepsMax');
  tooCostly(() => evaluateCondition(condition, 'k', 'k', { s: 'x'.repeat(10_000_000), t: '' }, StepBudget.forSearch(DEFAULT_LIMITS)), 'searchStepsMax');
});

test('negative control: with the budget switched off the same test runs the matcher (cheap form: 2 KB)', () => {
  const condition = parseCondition({ s: { regex: COSTLY } }, space, DEFAULT_LIMITS);
  const tight = makeLimits({ conditionStepsMax: 1_000_000 });
  const text = `${'x'.repeat(2000)}y`;
  tooCostly(() => evaluateCondition(condition, 'k', 'k', { s: text, t: '' }, StepBudget.forCondition(tight)), 'conditionStepsMax');
  const off = makeLimits({ conditionStepsMax: Number.MAX_SAFE_INTEGER });
  assert.equal(evaluateCondition(condition, 'k', 'k', { s: text, t: '' }, StepBudget.forCondition(off)), true);
});

test('the tests of a condition, its or branches and every object charged to one budget share it', () => {
  const insts = compileRegex('a+b').insts.length;
  const text = 'a'.repeat(99); // each test costs insts × 100 steps
  const condition = parseCondition({ or: [{ s: { regex: 'a+b' } }, { t: { regex: 'a+b' } }] }, space, DEFAULT_LIMITS);
  const budget = new StepBudget('conditionStepsMax', insts * 100 * 5);
  // Two tests per object (neither branch holds): two objects fit, the third runs out in its second test.
  assert.equal(evaluateCondition(condition, 'k', 'k', { s: text, t: text }, budget), false);
  assert.equal(evaluateCondition(condition, 'k', 'k', { s: text, t: text }, budget), false);
  tooCostly(() => evaluateCondition(condition, 'k', 'k', { s: text, t: text }, budget), 'conditionStepsMax');
});

test(`within its budget an evaluation answers as an unbounded one; past it, too_costly exactly when the worst case passes it (seed ${seed})`, () => {
  const patterns = fc.constantFrom('a+b', '^x', '(?:a|b){3,5}c', '.*z$', '[a-c]+', COSTLY);
  fc.assert(fc.property(patterns, fc.string({ maxLength: 300 }), fc.integer({ min: 1, max: 400_000 }), (pattern, text, max) => {
    const condition = parseCondition({ s: { regex: pattern } }, space, DEFAULT_LIMITS);
    const attributes = { s: text, t: '' };
    const unbounded = evaluateCondition(condition, 'k', 'k', attributes, new StepBudget('conditionStepsMax', Number.MAX_SAFE_INTEGER));
    const cost = compileRegex(pattern).insts.length * (text.length + 1);
    const bounded = new StepBudget('conditionStepsMax', max);
    if (cost > max) tooCostly(() => evaluateCondition(condition, 'k', 'k', attributes, bounded), 'conditionStepsMax');
    else assert.equal(evaluateCondition(condition, 'k', 'k', attributes, bounded), unbounded);
  }), { seed, numRuns: 300 });
});
