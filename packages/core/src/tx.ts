/**
 * The `tx` operation (DESIGN.md §3, docs/transactions.md): its wire form parsed and validated, and
 * its checks evaluated. Every store runs a tx the same way, inside one savepoint of its writer:
 * evaluate every check with `checkFailure`; only when all hold, run the operations in order, each
 * seeing the effects of those before it, stopping at the first failed result; then either commit
 * every write at one new seq, or roll all of them back and answer `tx_failed`.
 *
 * Wire form:
 *   {"op": "tx",
 *    "checks": [{"space": "accounts", "key": "a", "version": 12},
 *               {"space": "accounts", "key": "b", "exists": false},
 *               {"space": "accounts", "key": "a", "if": {"balance": {"gte": 10}}}],
 *    "ops": [{"op": "mutate", "space": "accounts", "key": "a", "mutations": [{"sub": {"balance": 10}}]},
 *            {"op": "put", "space": "accounts", "key": "b", "attributes": {"balance": 10}}]}
 * Both lists may be absent (empty). Checks and operations count together toward `txOpsMax`.
 */
import type { CurrentObject } from './apply.js';
import { type OpResultCode, SpacekvError, fail } from './errors.js';
import { type Fields, type SpaceLookup, isFields, parseTarget, parseVersion } from './fields.js';
import type { Limits } from './limits.js';
import type { Change, ObjectOp, TxCheck, TxOp } from './operations.js';
import type { StepBudget } from './cost.js';
import { evaluateCondition, parseCondition } from './predicates.js';
import type { Space } from './schema.js';

const CHECK_FIELDS: readonly string[] = ['space', 'key', 'exists', 'version', 'if'];
const CHECK_TESTS = ['exists', 'version', 'if'] as const;

/** Parses one operation of a tx; wire.ts passes its own single-key parser, so the two cannot drift. */
export type TxStepParser = (input: unknown) => ObjectOp;

/** Validate a tx's `checks` and `ops` (the `op` field is already known to be "tx"). */
export function parseTx(input: Fields, lookup: SpaceLookup, limits: Limits, parseStep: TxStepParser): TxOp {
  const checks = listField(input, 'checks');
  const ops = listField(input, 'ops');
  if (checks.length + ops.length > limits.txOpsMax) {
    throw fail('too_large', `the tx has ${checks.length} checks and ${ops.length} operations; the limit is ${limits.txOpsMax} together`, {
      limit: 'txOpsMax',
    });
  }
  return {
    op: 'tx',
    checks: checks.map((check, i) => located('checks', i, () => parseCheck(check, lookup, limits))),
    ops: ops.map((op, i) => located('ops', i, () => parseStep(op))),
  };
}

function listField(input: Fields, name: 'checks' | 'ops'): readonly unknown[] {
  const list = input[name];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw fail('bad_request', `the field '${name}' of a tx must be a list`);
  return list;
}

/** Run a parser, prefixing any fault's message with the place it concerns (`ops[3]: ...`). */
function located<T>(list: string, index: number, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof SpacekvError)) throw err;
    throw new SpacekvError(err.code, `${list}[${index}]: ${err.message}`, err.details);
  }
}

function parseCheck(input: unknown, lookup: SpaceLookup, limits: Limits): TxCheck {
  if (!isFields(input)) throw fail('bad_request', 'a check must be an object: {"space", "key", and one of "exists", "version", "if"}');
  for (const field of Object.keys(input)) {
    if (!CHECK_FIELDS.includes(field)) throw fail('bad_request', `a check takes no field '${field}' (it takes: ${CHECK_FIELDS.join(', ')})`);
  }
  const tests = CHECK_TESTS.filter((test) => Object.hasOwn(input, test));
  if (tests.length !== 1) throw fail('bad_request', `a check takes exactly one of exists, version, if (got ${tests.length})`);
  const { space, keyed } = parseTarget(input, lookup, limits);
  switch (tests[0]) {
    case 'exists':
      if (typeof input.exists !== 'boolean') throw fail('bad_request', "a check's 'exists' must be true or false");
      return { check: 'exists', ...keyed, exists: input.exists };
    case 'version':
      return { check: 'version', ...keyed, version: parseVersion(input.version) };
    default:
      return { check: 'if', ...keyed, condition: parseCondition(input.if, space, limits) };
  }
}

/** Why a check does not hold of `current` (null: absent or expired), or null when it holds. Pure. */
export function checkFailure(
  check: TxCheck, space: Space, current: CurrentObject | null, budget: StepBudget,
): { readonly code: OpResultCode; readonly message: string; readonly version: number } | null {
  const version = current?.version ?? 0;
  const failed = (code: OpResultCode, message: string) => ({ code, message, version });
  const what = `key ${String(check.key)} in space '${check.space}'`;
  switch (check.check) {
    case 'exists':
      if (check.exists && !current) return failed('not_found', `no object with ${what}`);
      if (!check.exists && current) return failed('exists', `${what} exists, at version ${version}`);
      return null;
    case 'version':
      if (version === check.version) return null;
      return failed('cmp_fail', `expected ${what} at version ${check.version}, it is at version ${version}`);
    case 'if':
      if (!current) return failed('not_found', `no object with ${what}`);
      if (!evaluateCondition(check.condition, check.key, space.schema.key.name, current.attributes, budget)) {
        return failed('cmp_fail', `the condition on ${what} does not hold`);
      }
      return null;
  }
}

/**
 * The changes a tx hands to the commit hook: one per object it wrote, all at the tx's seq, in the
 * order of each object's first write, each with the object's final state and the name of the
 * operation that wrote it last. So (seq, space, key) names one change, as consumers expect.
 */
export class TxChanges {
  private readonly byObject = new Map<string, Change>();

  add(change: Change): void {
    // A space's keys are all of one type, so the key's text names the object within its space.
    this.byObject.set(`${change.space}\u0000${String(change.key)}`, change);
  }

  get size(): number {
    return this.byObject.size;
  }

  list(): Change[] {
    return [...this.byObject.values()];
  }
}
