// Proves what the shared candidate matcher (src/store/search-rows.ts) trusts: the rows of a plan
// whose index range is exact came from that range, which decided the condition, so their attributes
// are not parsed to test it again (issue 18: parsing was the matcher's largest cost in an indexed
// equality search); any other plan tests every row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, type SearchPlan, Space, StepBudget, parseSchemaDsl, scalarIndexKey } from '@spacekv/core';
import { match } from '../../src/store/search-rows.js';

const space = new Space(parseSchemaDsl('space items key k attributes int n index n', DEFAULT_LIMITS), 1);

function nIsOne(exact: boolean): SearchPlan {
  const key = scalarIndexKey({ kind: 'int' }, 1);
  return {
    space: 'items', spaceCreatedSeq: 1, nowMs: Date.now(), keys: {}, order: { by: 'key', reverse: false }, limit: 10, rowsMax: 10_000,
    condition: [{ kind: 'attr', attribute: 'n', op: 'eq', operand: 1 }] as unknown as SearchPlan['condition'],
    access: { index: { attribute: 'n', lower: { key, inclusive: true }, upper: { key, inclusive: true } }, exact },
  };
}

// Text that is not JSON: only a matcher that parses it notices.
const row = { key: 'a', version: 3, expiresAt: null, attributesJson: 'not json' };

test('a row of an exact index range is taken as it is; any other plan parses and tests it', () => {
  assert.deepEqual(match(nIsOne(true), space, row, StepBudget.forSearch(DEFAULT_LIMITS)), { key: 'a', version: 3, attributesJson: 'not json' });
  assert.throws(() => match(nIsOne(false), space, row, StepBudget.forSearch(DEFAULT_LIMITS)));
  const other = { ...row, attributesJson: '{"n":2}' };
  assert.equal(match(nIsOne(false), space, other, StepBudget.forSearch(DEFAULT_LIMITS)), undefined);
});

test('an exact range still drops expired rows and still parses for select', () => {
  const budget = StepBudget.forSearch(DEFAULT_LIMITS);
  assert.equal(match(nIsOne(true), space, { ...row, expiresAt: 1 }, budget), undefined);
  assert.throws(() => match({ ...nIsOne(true), select: ['n'] }, space, row, budget));
});
