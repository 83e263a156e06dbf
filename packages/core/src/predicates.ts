/**
 * Conditions (DESIGN.md §3): the wire form parsed and validated against a space, and evaluated
 * against an object's canonical attributes.
 *
 * Wire form: an object mapping attribute names to a test, all of which must hold:
 *   {"last": "Smith", "age": {"gte": 18, "lt": 65}, "or": [{"city": "Paris"}, {"vip": true}]}
 * - A bare value means equality. A (non-document) attribute given an object gets an *operator
 *   object*: each key is an operator of PREDICATE_OPS and all of them must hold. So equality with a
 *   map value is written `{"tags": {"eq": {...}}}`; a bare list or set value is equality.
 * - A `document` attribute never takes operators: whatever is given, object or not, is the whole
 *   document it must equal (`{"doc": {"eq": 1}}` tests for the document `{"eq": 1}`). This keeps any
 *   document expressible; the price is that documents have no `ne`.
 * - `"or": [cond, …]` holds when any branch (a condition of this same form, nesting allowed) does;
 *   it must have at least one branch.
 * - The space's key name may be tested like an attribute, typed by the key's type.
 * Size: every attribute test counts one toward `predicatesPerOpMax`, and so does every `or` branch
 * (so deep or wide nesting of empty branches is bounded too).
 *
 * Operators and the types they apply to (operands are canonicalized with values.ts):
 * - `eq ne`: every type; the operand is a whole value of the attribute's type.
 * - `lt lte gt gte`: string, int, float, timestamp, bytes (ordered by compareScalars).
 * - `prefix regex`: string, with a string operand; regex is the linear-time subset of regex.ts.
 * - `contains`: list/set (operand: one element), map (operand: a key), string (a substring).
 * - `length_eq length_lte length_gte`: string (Unicode code points, not UTF-16 units), list, set,
 *   map (entries), bytes (decoded bytes); the operand is a non-negative int.
 */
import { fail, SpacekvError } from './errors.js';
import type { Limits } from './limits.js';
import type { AttributePredicate, Condition, OrPredicate, PredicateOp } from './operations.js';
import { PREDICATE_OPS } from './operations.js';
import type { StepBudget } from './cost.js';
import { cachedRegex, regexTest } from './regex.js';
import type { Space } from './schema.js';
import type { AttributeType, Attributes, Key, Value } from './types.js';
import { typeToString } from './types.js';
import { canonicalMapKey, coerceValue, compareScalars } from './values.js';

const ORDERED_KINDS: ReadonlySet<string> = new Set(['string', 'int', 'float', 'timestamp', 'bytes']);
const LENGTH_KINDS: ReadonlySet<string> = new Set(['string', 'list', 'set', 'map', 'bytes']);
const CONTAINS_KINDS: ReadonlySet<string> = new Set(['string', 'list', 'set', 'map']);
const STRING_KINDS: ReadonlySet<string> = new Set(['string']);

interface ParseState {
  readonly space: Space;
  readonly limits: Limits;
  count: number;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Validate a condition's wire form against a space; throws `invalid_predicate`, `unknown_attribute`, `too_large`. */
export function parseCondition(input: unknown, space: Space, limits: Limits): Condition {
  return parseConjunction(input, { space, limits, count: 0 });
}

function parseConjunction(input: unknown, state: ParseState): Condition {
  if (!isPlainObject(input)) {
    throw fail('invalid_predicate', 'a condition must be an object mapping attribute names to values or operator objects');
  }
  const clauses: (AttributePredicate | OrPredicate)[] = [];
  for (const [name, spec] of Object.entries(input)) {
    if (name === 'or') clauses.push(parseOr(spec, state));
    else clauses.push(...parseAttribute(name, spec, state));
  }
  return clauses;
}

function parseOr(spec: unknown, state: ParseState): OrPredicate {
  if (!Array.isArray(spec) || spec.length === 0) {
    throw fail('invalid_predicate', "'or' must be a non-empty list of conditions");
  }
  const branches = (spec as readonly unknown[]).map((branch) => {
    countPredicate(state);
    return parseConjunction(branch, state);
  });
  return { kind: 'or', branches };
}

function parseAttribute(name: string, spec: unknown, state: ParseState): AttributePredicate[] {
  const type = attributeType(name, state.space);
  if (type.kind === 'document' || !isPlainObject(spec)) return [makePredicate(name, 'eq', spec, type, state)];
  const ops = Object.entries(spec);
  if (ops.length === 0) {
    throw fail('invalid_predicate', `attribute '${name}': empty operator object (to compare with an empty map write {"eq": {}})`, {
      attribute: name,
    });
  }
  return ops.map(([op, operand]) => makePredicate(name, op, operand, type, state));
}

/** The type a condition tests under `name`: the key's or a declared attribute's. */
function attributeType(name: string, space: Space): AttributeType {
  if (name === space.schema.key.name) return { kind: space.schema.key.type };
  const attribute = space.attribute(name);
  if (attribute === undefined) {
    throw fail('unknown_attribute', `space '${space.name}' has no attribute '${name}'`, { attribute: name });
  }
  return attribute.type;
}

function countPredicate(state: ParseState): void {
  state.count++;
  if (state.count > state.limits.predicatesPerOpMax) {
    throw fail('too_large', `the condition has more than ${state.limits.predicatesPerOpMax} predicates`, {
      limit: 'predicatesPerOpMax',
    });
  }
}

function makePredicate(name: string, op: string, raw: unknown, type: AttributeType, state: ParseState): AttributePredicate {
  if (!isPredicateOp(op)) {
    throw fail('invalid_predicate', `attribute '${name}': unknown operator '${op}' (expected one of ${PREDICATE_OPS.join(', ')})`, {
      attribute: name,
    });
  }
  countPredicate(state);
  const operand = parseOperand(name, op, raw, type, state.limits);
  const predicate: AttributePredicate = { kind: 'attr', attribute: name, op, operand };
  // Bytes and strings are both JS strings in canonical form and evaluateCondition gets no schema,
  // so the unit of a length test on bytes travels with the predicate.
  return type.kind === 'bytes' && op.startsWith('length_') ? { ...predicate, unit: 'bytes' } : predicate;
}

function parseOperand(name: string, op: PredicateOp, raw: unknown, type: AttributeType, limits: Limits): Value {
  switch (op) {
    case 'eq':
    case 'ne':
      return coerceOperand(name, type, raw, limits);
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      requireKind(name, op, type, ORDERED_KINDS);
      return coerceOperand(name, type, raw, limits);
    case 'prefix':
    case 'regex':
      return textOperand(name, op, raw, type, limits);
    case 'contains':
      return containsOperand(name, raw, type, limits);
    case 'length_eq':
    case 'length_lte':
    case 'length_gte':
      return lengthOperand(name, op, raw, type, limits);
  }
}

function textOperand(name: string, op: 'prefix' | 'regex', raw: unknown, type: AttributeType, limits: Limits): string {
  requireKind(name, op, type, STRING_KINDS);
  const pattern = coerceOperand(name, { kind: 'string' }, raw, limits) as string;
  if (op === 'regex') cachedRegex(pattern); // compile now: an invalid pattern fails the request, not the evaluation
  return pattern;
}

function containsOperand(name: string, raw: unknown, type: AttributeType, limits: Limits): Value {
  requireKind(name, 'contains', type, CONTAINS_KINDS);
  switch (type.kind) {
    case 'list':
    case 'set':
      return coerceOperand(name, type.of, raw, limits);
    case 'map': {
      // A map key may be sent as the JSON number it denotes (`{"contains": 5}` for map(int, V)).
      const text = typeof raw === 'string' || (type.key.kind !== 'string' && isNumberLike(raw)) ? String(raw) : undefined;
      if (text === undefined) throw fail('invalid_predicate', `attribute '${name}': contains needs a map key of type ${type.key.kind}`, { attribute: name });
      return asPredicateError(name, () => canonicalMapKey(name, type.key, text));
    }
    default:
      return coerceOperand(name, { kind: 'string' }, raw, limits);
  }
}

function lengthOperand(name: string, op: PredicateOp, raw: unknown, type: AttributeType, limits: Limits): Value {
  requireKind(name, op, type, LENGTH_KINDS);
  const n = coerceOperand(name, { kind: 'int' }, raw, limits);
  if ((n as number | bigint) < 0) throw fail('invalid_predicate', `attribute '${name}': ${op} needs a non-negative int`, { attribute: name });
  return n;
}

function requireKind(name: string, op: PredicateOp, type: AttributeType, kinds: ReadonlySet<string>): void {
  if (!kinds.has(type.kind)) {
    throw fail('invalid_predicate', `operator '${op}' does not apply to attribute '${name}' of type ${typeToString(type)}`, {
      attribute: name,
    });
  }
}

/** coerceValue, with a bad value reported as a bad predicate (the predicate is what is wrong). */
function coerceOperand(name: string, type: AttributeType, raw: unknown, limits: Limits): Value {
  return asPredicateError(name, () => coerceValue(name, type, raw, limits));
}

function asPredicateError<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof SpacekvError && err.code === 'invalid_value') throw fail('invalid_predicate', err.message, { attribute: name });
    throw err;
  }
}

function isPredicateOp(op: string): op is PredicateOp {
  return (PREDICATE_OPS as readonly string[]).includes(op);
}

function isPlainObject(x: unknown): x is { readonly [k: string]: unknown } {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function isNumberLike(x: unknown): x is number | bigint {
  return typeof x === 'number' || typeof x === 'bigint';
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/**
 * Does the object (`key` plus its complete canonical `attributes`) satisfy `condition`? Pure but
 * for `budget`, which each costly test is charged (throws `too_costly` when it runs out).
 */
export function evaluateCondition(condition: Condition, key: Key, keyName: string, attributes: Attributes, budget: StepBudget): boolean {
  return condition.every((clause) => {
    if (clause.kind === 'or') return clause.branches.some((branch) => evaluateCondition(branch, key, keyName, attributes, budget));
    const value = clause.attribute === keyName ? key : Object.hasOwn(attributes, clause.attribute) ? attributes[clause.attribute] : undefined;
    return evaluatePredicate(clause, value, budget);
  });
}

/** A missing value (never the case for complete attributes) equals nothing, so only `ne` holds. */
function evaluatePredicate(predicate: AttributePredicate, value: Value | undefined, budget: StepBudget): boolean {
  const operand = predicate.operand;
  switch (predicate.op) {
    case 'eq':
      return valuesEqual(value, operand);
    case 'ne':
      return !valuesEqual(value, operand);
    case 'lt':
      return isScalar(value) && compareScalars(value, operand) < 0;
    case 'lte':
      return isScalar(value) && compareScalars(value, operand) <= 0;
    case 'gt':
      return isScalar(value) && compareScalars(value, operand) > 0;
    case 'gte':
      return isScalar(value) && compareScalars(value, operand) >= 0;
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'regex':
      return typeof value === 'string' && typeof operand === 'string' && regexHolds(predicate.attribute, operand, value, budget);
    case 'contains':
      return contains(value, operand);
    case 'length_eq':
    case 'length_lte':
    case 'length_gte':
      return lengthHolds(predicate, value);
  }
}

/** A regex test, charged its worst case (program size × input length) before it runs. */
function regexHolds(attribute: string, pattern: string, text: string, budget: StepBudget): boolean {
  const program = cachedRegex(pattern);
  budget.charge(program.insts.length * (text.length + 1), `the regex on '${attribute}' (${program.insts.length} instructions) over ${text.length} characters`);
  return regexTest(program, text);
}

function lengthHolds(predicate: AttributePredicate, value: Value | undefined): boolean {
  const unit = predicate.unit === 'bytes' ? 'bytes' : 'code_points';
  const length = lengthOf(value, unit);
  if (length === undefined) return false;
  const order = compareScalars(length, predicate.operand);
  return predicate.op === 'length_eq' ? order === 0 : predicate.op === 'length_lte' ? order <= 0 : order >= 0;
}

function lengthOf(value: Value | undefined, unit: 'bytes' | 'code_points'): number | undefined {
  if (typeof value === 'string') return unit === 'bytes' ? base64DecodedLength(value) : codePointLength(value);
  if (Array.isArray(value)) return value.length;
  if (value !== null && typeof value === 'object') return Object.keys(value).length;
  return undefined;
}

function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++, count++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return count;
}

/** Canonical base64 is padded, so its length fixes the decoded length. */
function base64DecodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

function contains(value: Value | undefined, operand: Value): boolean {
  if (typeof value === 'string') return typeof operand === 'string' && value.includes(operand);
  if (Array.isArray(value)) return (value as readonly Value[]).some((element) => valuesEqual(element, operand));
  if (value !== null && typeof value === 'object') return typeof operand === 'string' && Object.hasOwn(value, operand);
  return false;
}

function isScalar(value: Value | undefined): value is string | number | bigint | boolean {
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'bigint' || t === 'boolean';
}

/**
 * Deep structural equality of canonical values (and of documents): arrays element by element,
 * objects by their key sets regardless of key order, and an int equal whether held as number or
 * bigint.
 */
export function valuesEqual(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (typeof a === 'bigint' && typeof b === 'number') return Number.isInteger(b) && a === BigInt(b);
  if (typeof a === 'number' && typeof b === 'bigint') return Number.isInteger(a) && BigInt(a) === b;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && arraysEqual(a, b);
  return objectsEqual(a as { readonly [k: string]: Value }, b as { readonly [k: string]: Value });
}

function arraysEqual(a: readonly Value[], b: readonly Value[]): boolean {
  return a.length === b.length && a.every((item, i) => valuesEqual(item, b[i]));
}

function objectsEqual(a: { readonly [k: string]: Value }, b: { readonly [k: string]: Value }): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && valuesEqual(a[k], b[k]));
}
