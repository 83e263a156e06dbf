// Proves docs/errors.md and the error catalogue in errors.ts agree: every code documented with its
// HTTP status and kind, and no documented code missing from the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, RESULT_CODES, SpacekvError, httpStatusOf, isErrorCode } from '../src/index.js';

const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `(\w+)` \| (\d{3}) \| (result|fault) \|/gm)].map((m) => [m[1] as string, { status: Number(m[2]), kind: m[3] }]),
);

test('every catalogued code is documented with its status and kind', () => {
  for (const [code, { status }] of Object.entries(ERRORS)) {
    const row = documented.get(code);
    assert.ok(row, `docs/errors.md lacks ${code}`);
    assert.equal(row.status, status, `status of ${code}`);
    assert.equal(row.kind, (RESULT_CODES as readonly string[]).includes(code) ? 'result' : 'fault', `kind of ${code}`);
  }
});

test('every documented code exists in the catalogue', () => {
  for (const code of documented.keys()) assert.ok(isErrorCode(code), `${code} is documented but not in errors.ts`);
});

test('SpacekvError carries its code, status and details to the wire', () => {
  const err = new SpacekvError('cmp_fail', 'expected 3', { version: 5 });
  assert.equal(err.status, 412);
  assert.equal(httpStatusOf('too_large'), 413);
  assert.deepEqual(err.toWire(), { code: 'cmp_fail', message: 'expected 3', version: 5 });
});
