/**
 * Atomic mutations (DESIGN.md §3 `mutate`): the wire form parsed and validated against a space, and
 * applied, in order, to an object's canonical attributes.
 *
 * Wire form: a list; each item is an object with exactly one key, the mutation name, mapping
 * attribute names to operands. An item naming several attributes expands to one Mutation per
 * attribute, in the object's key order:
 *   [{"set_add": {"friends": "jj"}}, {"add": {"visits": 1, "score": 2.5}}]
 *
 * | mutation                          | attribute types         | operand (canonical form)               |
 * |-----------------------------------|-------------------------|----------------------------------------|
 * | set                               | any but the key         | a whole value of the type              |
 * | unset                             | any but the key         | `true` or `null` (stored as null)      |
 * | add sub mul div mod min max       | int, float              | a number of that type                  |
 * | and or xor                        | int                     | an int                                 |
 * | append prepend                    | string; list(T)         | a string; a list of T (concatenated)   |
 * | lpush rpush                       | list(T)                 | one T (pushed at the front / back)     |
 * | set_add set_remove                | set(T)                  | one T                                  |
 * | set_union set_intersect           | set(T)                  | a set of T                             |
 * | map_set                           | map(K,V)                | an object of entries (canonical map)   |
 * | map_remove                        | map(K,V)                | a key or a list of keys (list of keys) |
 * | map_add … map_max                 | map(K, int or float)    | an object key → number (canonical map) |
 * | map_and map_or map_xor            | map(K, int)             | an object key → int                    |
 *
 * Errors: non-list input `bad_request`; a malformed item, an unknown mutation, one that does not
 * apply to the attribute's type, an operand that does not fit (including the int64 range), or any
 * mutation of the key: `invalid_mutation`; an undeclared attribute `unknown_attribute`; more than
 * `mutationsPerOpMax` mutations (after expansion) or an oversized operand collection `too_large`.
 */
import { fail, SpacekvError } from './errors.js';
import type { Limits } from './limits.js';
import type { Mutation, MutationOp, NumericMutationOp } from './operations.js';
import { MUTATION_OPS, NUMERIC_MUTATION_OPS } from './operations.js';
import type { Space } from './schema.js';
import type { AttributeType, Attributes, Value } from './types.js';
import { defaultValue, typeToString } from './types.js';
import { canonicalInt, canonicalMap, canonicalMapKey, canonicalSet, coerceScalar, coerceValue, compareScalars, isInt64 } from './values.js';

type MapNumericOp = `map_${NumericMutationOp}`;
type MapType = Extract<AttributeType, { kind: 'map' }>;
type Num = number | bigint;
type MapValue = { readonly [k: string]: Value };

/** A mutation that could not be applied: a result for the client, not a fault. */
export interface MutationFailure {
  readonly ok: false;
  readonly code: 'overflow' | 'division_by_zero';
  readonly message: string;
}
export type MutationOutcome = { readonly ok: true; readonly attributes: Attributes } | MutationFailure;
type Step = { readonly ok: true; readonly value: Value } | MutationFailure;

const BITWISE_OPS: ReadonlySet<string> = new Set(['and', 'or', 'xor']);

// ---------------------------------------------------------------------------------------------
// Parsing

/** Validate a `mutate` list against a space into canonical Mutations (see the table above). */
export function parseMutations(input: unknown, space: Space, limits: Limits): Mutation[] {
  if (!Array.isArray(input)) throw fail('bad_request', 'mutations must be a list of {"<mutation>": {"<attribute>": operand}} items');
  const out: Mutation[] = [];
  (input as readonly unknown[]).forEach((item, index) => parseItem(item, index, space, limits, out));
  return out;
}

function parseItem(item: unknown, index: number, space: Space, limits: Limits, out: Mutation[]): void {
  const names = isPlainObject(item) ? Object.keys(item) : [];
  const op = names[0];
  if (!isPlainObject(item) || names.length !== 1 || op === undefined) {
    throw fail('invalid_mutation', `mutation #${index} must be an object with exactly one key, the mutation name`);
  }
  if (!isMutationOp(op)) throw fail('invalid_mutation', `mutation #${index}: unknown mutation '${op}'`);
  const body = item[op];
  if (!isPlainObject(body) || Object.keys(body).length === 0) {
    throw fail('invalid_mutation', `mutation #${index}: '${op}' must map attribute names to operands`);
  }
  for (const [name, raw] of Object.entries(body)) {
    const type = mutableType(op, name, space);
    if (out.length >= limits.mutationsPerOpMax) {
      throw fail('too_large', `more than ${limits.mutationsPerOpMax} mutations`, { limit: 'mutationsPerOpMax' });
    }
    out.push({ op, attribute: name, operand: asMutationError(name, () => parseOperand(op, name, type, raw, limits)) });
  }
}

function mutableType(op: MutationOp, name: string, space: Space): AttributeType {
  if (name === space.schema.key.name) throw fail('invalid_mutation', `'${op}': the key '${name}' cannot be mutated`, { attribute: name });
  const attribute = space.attribute(name);
  if (attribute === undefined) throw fail('unknown_attribute', `space '${space.name}' has no attribute '${name}'`, { attribute: name });
  return attribute.type;
}

function parseOperand(op: MutationOp, name: string, type: AttributeType, raw: unknown, limits: Limits): Value {
  if (op === 'set') return coerceValue(name, type, raw, limits);
  if (op === 'unset') return unsetOperand(op, name, raw);
  if (isNumericOp(op)) return numericOperand(op, name, type, raw);
  if (isMapNumericOp(op)) return mapNumericOperand(op, name, type, raw, limits);
  switch (op) {
    case 'append':
    case 'prepend':
      if (type.kind === 'string') return coerceScalar(name, type, raw);
      if (type.kind === 'list') return coerceValue(name, type, raw, limits);
      return notApplicable(op, name, type);
    case 'lpush':
    case 'rpush':
      return type.kind === 'list' ? coerceScalar(name, type.of, raw) : notApplicable(op, name, type);
    case 'set_add':
    case 'set_remove':
      return type.kind === 'set' ? coerceScalar(name, type.of, raw) : notApplicable(op, name, type);
    case 'set_union':
    case 'set_intersect':
      return type.kind === 'set' ? coerceValue(name, type, raw, limits) : notApplicable(op, name, type);
    case 'map_set':
      return type.kind === 'map' ? coerceValue(name, type, raw, limits) : notApplicable(op, name, type);
    case 'map_remove':
      return type.kind === 'map' ? mapKeysOperand(name, type, raw, limits) : notApplicable(op, name, type);
  }
}

function unsetOperand(op: MutationOp, name: string, raw: unknown): null {
  if (raw !== true && raw !== null) throw fail('invalid_mutation', `'${op}' on '${name}' takes true or null`, { attribute: name });
  return null;
}

function numericOperand(op: NumericMutationOp, name: string, type: AttributeType, raw: unknown): Value {
  if (type.kind !== 'int' && (type.kind !== 'float' || BITWISE_OPS.has(op))) return notApplicable(op, name, type);
  return coerceScalar(name, type, raw);
}

function mapNumericOperand(op: MapNumericOp, name: string, type: AttributeType, raw: unknown, limits: Limits): Value {
  if (type.kind !== 'map') return notApplicable(op, name, type);
  const valueKind = type.value.kind;
  if (valueKind !== 'int' && (valueKind !== 'float' || BITWISE_OPS.has(op.slice(4)))) return notApplicable(op, name, type);
  if (!isPlainObject(raw)) throw fail('invalid_mutation', `'${op}' on '${name}' takes an object of map key → number`, { attribute: name });
  return coerceValue(name, type, raw, limits);
}

/** A map key (or a JSON number for int/float keys) or a list of them; canonical: deduplicated key texts. */
function mapKeysOperand(name: string, type: MapType, raw: unknown, limits: Limits): Value {
  const keys: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  if (keys.length > limits.collectionElementsMax) {
    throw fail('too_large', `'map_remove' on '${name}' names more than ${limits.collectionElementsMax} keys`, {
      attribute: name,
      limit: 'collectionElementsMax',
    });
  }
  const texts = keys.map((key) => {
    if (typeof key === 'string' || (type.key.kind !== 'string' && (typeof key === 'number' || typeof key === 'bigint'))) {
      return canonicalMapKey(name, type.key, String(key));
    }
    throw fail('invalid_mutation', `'map_remove' on '${name}' takes a map key of type ${type.key.kind} or a list of them`, { attribute: name });
  });
  return [...new Set(texts)];
}

function notApplicable(op: MutationOp, name: string, type: AttributeType): never {
  throw fail('invalid_mutation', `mutation '${op}' does not apply to attribute '${name}' of type ${typeToString(type)}`, { attribute: name });
}

/** An operand that does not fit is a bad mutation, reported the same way as a bad predicate operand. */
function asMutationError<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof SpacekvError && err.code === 'invalid_value') throw fail('invalid_mutation', err.message, { attribute: name });
    throw err;
  }
}

function isMutationOp(op: string): op is MutationOp {
  return (MUTATION_OPS as readonly string[]).includes(op);
}

function isNumericOp(op: MutationOp): op is NumericMutationOp {
  return (NUMERIC_MUTATION_OPS as readonly string[]).includes(op);
}

function isMapNumericOp(op: MutationOp): op is MapNumericOp {
  return op.startsWith('map_') && isNumericOp(op.slice(4) as MutationOp);
}

function isPlainObject(x: unknown): x is { readonly [k: string]: unknown } {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

// ---------------------------------------------------------------------------------------------
// Application

/**
 * Apply mutations in order to complete canonical attributes; pure (the input is never modified).
 * Arithmetic that leaves int64 or yields a non-finite float answers `overflow`, a div/mod by zero
 * `division_by_zero`: both are results. A collection grown past `collectionElementsMax` throws
 * `too_large` (a fault, like an oversized put).
 */
export function applyMutations(mutations: readonly Mutation[], space: Space, attributes: Attributes, limits: Limits): MutationOutcome {
  const out: { [name: string]: Value } = { ...attributes };
  for (const mutation of mutations) {
    const type = space.attribute(mutation.attribute)?.type;
    if (type === undefined) {
      throw fail('unknown_attribute', `space '${space.name}' has no attribute '${mutation.attribute}'`, { attribute: mutation.attribute });
    }
    const current = Object.hasOwn(out, mutation.attribute) ? (out[mutation.attribute] as Value) : defaultValue(type);
    const step = applyOne(mutation, type, current, limits);
    if (!step.ok) return step;
    out[mutation.attribute] = step.value;
  }
  return { ok: true, attributes: out };
}

function applyOne(mutation: Mutation, type: AttributeType, current: Value, limits: Limits): Step {
  const { op, operand, attribute: name } = mutation;
  if (op === 'set') return ok(operand);
  if (op === 'unset') return ok(defaultValue(type));
  if (isNumericOp(op)) return arithmetic(op, type.kind === 'float' ? 'float' : 'int', current as Num, operand as Num, `'${op}' on '${name}'`);
  if (isMapNumericOp(op)) return mapArithmetic(op, type as MapType, asMap(current), asMap(operand), name, limits);
  switch (op) {
    case 'append':
      if (typeof current === 'string') return ok(current + String(operand));
      return grown(name, [...asList(current), ...asList(operand)], limits);
    case 'prepend':
      if (typeof current === 'string') return ok(String(operand) + current);
      return grown(name, [...asList(operand), ...asList(current)], limits);
    case 'lpush':
      return grown(name, [operand, ...asList(current)], limits);
    case 'rpush':
      return grown(name, [...asList(current), operand], limits);
    case 'set_add':
      return grown(name, setAdd(asList(current), operand), limits);
    case 'set_remove':
      return ok(setRemove(asList(current), operand));
    case 'set_union':
      return grown(name, canonicalSet([...asList(current), ...asList(operand)]), limits);
    case 'set_intersect':
      return ok(asList(current).filter((x) => sortedSearch(asList(operand), x).found));
    case 'map_set':
      return grownMap(name, canonicalMap([...Object.entries(asMap(current)), ...Object.entries(asMap(operand))], (type as MapType).key), limits);
    case 'map_remove':
      return ok(mapRemove(asMap(current), asList(operand)));
  }
}

function ok(value: Value): Step {
  return { ok: true, value };
}

// --- numbers

/** One arithmetic step on an int (exact, 64-bit) or a float (finite). */
function arithmetic(op: NumericMutationOp, kind: 'int' | 'float', a: Num, b: Num, what: string): Step {
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

/** `map_<op>`: the op applied to each named entry; an absent entry counts as 0. */
function mapArithmetic(op: MapNumericOp, type: MapType, current: MapValue, operand: MapValue, name: string, limits: Limits): Step {
  const numericOp = op.slice(4) as NumericMutationOp;
  const kind = type.value.kind === 'float' ? 'float' : 'int';
  const entries = new Map<string, Value>(Object.entries(current));
  for (const [key, b] of Object.entries(operand)) {
    const step = arithmetic(numericOp, kind, (entries.get(key) ?? 0) as Num, b as Num, `'${op}' on '${name}{${key}}'`);
    if (!step.ok) return step;
    entries.set(key, step.value);
  }
  return grownMap(name, canonicalMap([...entries], type.key), limits);
}

// --- collections

function asList(value: Value): readonly Value[] {
  return Array.isArray(value) ? (value as readonly Value[]) : [];
}

function asMap(value: Value): MapValue {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as MapValue) : {};
}

function grown(name: string, list: readonly Value[], limits: Limits): Step {
  checkSize(name, list.length, limits);
  return ok(list);
}

function grownMap(name: string, map: MapValue, limits: Limits): Step {
  checkSize(name, Object.keys(map).length, limits);
  return ok(map);
}

function checkSize(name: string, count: number, limits: Limits): void {
  if (count > limits.collectionElementsMax) {
    throw fail('too_large', `attribute '${name}' would have ${count} elements; the limit is ${limits.collectionElementsMax}`, {
      attribute: name,
      limit: 'collectionElementsMax',
    });
  }
}

/** Binary search in a canonical (sorted, distinct) set. */
function sortedSearch(set: readonly Value[], x: Value): { index: number; found: boolean } {
  let lo = 0;
  let hi = set.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const order = compareScalars(set[mid], x);
    if (order === 0) return { index: mid, found: true };
    if (order < 0) lo = mid + 1;
    else hi = mid;
  }
  return { index: lo, found: false };
}

function setAdd(set: readonly Value[], x: Value): readonly Value[] {
  const { index, found } = sortedSearch(set, x);
  return found ? set : [...set.slice(0, index), x, ...set.slice(index)];
}

function setRemove(set: readonly Value[], x: Value): readonly Value[] {
  const { index, found } = sortedSearch(set, x);
  return found ? [...set.slice(0, index), ...set.slice(index + 1)] : set;
}

function mapRemove(map: MapValue, keys: readonly Value[]): MapValue {
  const gone = new Set(keys);
  // Own properties by definition, never by assignment, so a `__proto__` key stays a key.
  return Object.fromEntries(Object.entries(map).filter(([k]) => !gone.has(k)));
}
