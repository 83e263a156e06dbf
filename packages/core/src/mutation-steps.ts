/**
 * The steps every mutation is made of, shared by typed attributes (mutations.ts) and values found at
 * a document path (document-mutations.ts): the step's outcome, the growth bound of a collection,
 * and the numeric arithmetic (ints exact in 64 bits, floats finite; leaving either is `overflow`, a
 * div or mod by zero `division_by_zero`: results, not faults).
 */
import { fail } from './errors.js';
import type { Limits } from './limits.js';
import type { NumericMutationOp } from './operations.js';
import type { Value } from './types.js';
import { canonicalInt, isInt64 } from './values.js';

export type Num = number | bigint;

/** A mutation that could not be applied: a result for the client, not a fault. */
export interface MutationFailure {
  readonly ok: false;
  readonly code: 'overflow' | 'division_by_zero';
  readonly message: string;
}
export type Step = { readonly ok: true; readonly value: Value } | MutationFailure;

export function ok(value: Value): Step {
  return { ok: true, value };
}

/** A collection a mutation grows may not pass `collectionElementsMax` (a fault: `too_large`). */
export function checkGrowth(name: string, count: number, limits: Limits): void {
  if (count > limits.collectionElementsMax) {
    throw fail('too_large', `attribute '${name}' would have ${count} elements; the limit is ${limits.collectionElementsMax}`, {
      attribute: name,
      limit: 'collectionElementsMax',
    });
  }
}

/** One arithmetic step on an int (exact, 64-bit) or a float (finite). */
export function arithmetic(op: NumericMutationOp, kind: 'int' | 'float', a: Num, b: Num, what: string): Step {
  if ((op === 'div' || op === 'mod') && (kind === 'int' ? BigInt(b) === 0n : b === 0)) {
    return { ok: false, code: 'division_by_zero', message: `${what}: division by zero` };
  }
  return kind === 'int' ? intArithmetic(op, a, b, what) : floatArithmetic(op, Number(a), Number(b), what);
}

function intArithmetic(op: NumericMutationOp, a: Num, b: Num, what: string): Step {
  // Fast path: an exact double result inside the safe range is the exact int result.
  const fast = typeof a === 'number' && typeof b === 'number' ? safeIntOp(op, a, b) : undefined;
  if (fast !== undefined && Number.isSafeInteger(fast)) return ok(fast + 0); // + 0 turns -0 into 0
  const result = bigIntOp(op, BigInt(a), BigInt(b));
  if (!isInt64(result)) return { ok: false, code: 'overflow', message: `${what}: the result ${result} is outside the 64-bit int range` };
  return ok(canonicalInt(result));
}

/** Operations whose double result is exact whenever it is a safe integer; others go to BigInt. */
function safeIntOp(op: NumericMutationOp, a: number, b: number): number | undefined {
  switch (op) {
    case 'add':
      return a + b;
    case 'sub':
      return a - b;
    case 'mul':
      return a * b;
    case 'min':
      return Math.min(a, b);
    case 'max':
      return Math.max(a, b);
    default:
      return undefined; // div/mod round through doubles; and/or/xor are 32-bit on numbers
  }
}

/** BigInt `/` and `%` truncate toward zero, as in C and HyperDex (the remainder takes the dividend's sign). */
function bigIntOp(op: NumericMutationOp, x: bigint, y: bigint): bigint {
  switch (op) {
    case 'add':
      return x + y;
    case 'sub':
      return x - y;
    case 'mul':
      return x * y;
    case 'div':
      return x / y;
    case 'mod':
      return x % y;
    case 'and':
      return x & y;
    case 'or':
      return x | y;
    case 'xor':
      return x ^ y;
    case 'min':
      return x < y ? x : y;
    case 'max':
      return x > y ? x : y;
  }
}

function floatArithmetic(op: NumericMutationOp, x: number, y: number, what: string): Step {
  const result = floatOp(op, x, y);
  if (!Number.isFinite(result)) return { ok: false, code: 'overflow', message: `${what}: the result is not a finite float` };
  return ok(result);
}

function floatOp(op: NumericMutationOp, x: number, y: number): number {
  switch (op) {
    case 'add':
      return x + y;
    case 'sub':
      return x - y;
    case 'mul':
      return x * y;
    case 'div':
      return x / y;
    case 'mod':
      return x % y; // fmod: truncating, like C
    case 'min':
      return Math.min(x, y);
    case 'max':
      return Math.max(x, y);
    default:
      throw fail('invalid_mutation', `'${op}' does not apply to floats`); // parseMutations never lets it through
  }
}
