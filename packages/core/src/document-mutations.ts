/**
 * Mutations on a document path (`{"add": {"info.counter": 1}}`, paths.ts), as HyperDex applies them
 * inside a document: each applies to the JSON value found at the path, typed by that value.
 *
 * | mutation                          | value at the path (absent reads as)      | operand                       |
 * |-----------------------------------|------------------------------------------|-------------------------------|
 * | set                               | anything                                 | any JSON                      |
 * | unset, document_unset             | anything (the path is removed)           | `true` or `null`              |
 * | document_rename                   | anything present (moved)                 | the new path, same document   |
 * | add sub mul div mod min max       | number (0)                               | number                        |
 * | and or xor                        | int (0)                                  | int                           |
 * | append prepend                    | string (""), list ([]), as the operand   | string or list                |
 * | lpush rpush                       | list ([])                                | any JSON (one element)        |
 * | set_add set_remove                | list as a set ([]): no duplicates        | any JSON (one element)        |
 * | set_union set_intersect           | list as a set ([])                       | list                          |
 * | map_set map_remove                | object ({})                              | object; a key or list of keys |
 * | map_add … map_max, map_and …      | object of numbers ({}; entries 0)        | object key → number           |
 * | map_string_prepend/append         | object of strings ({}; entries "")       | object key → string           |
 *
 * Ints stay exact in 64 bits (two integers give an int result; any float a float). A value found
 * that does not fit the mutation fails the whole operation with `invalid_mutation` (a fault: nothing
 * is written), as a put through a non-object fails `invalid_path`.
 */
import { fail } from './errors.js';
import type { Limits } from './limits.js';
import type { Mutation, MutationOp, NumericMutationOp } from './operations.js';
import { NUMERIC_MUTATION_OPS } from './operations.js';
import { type Num, type Step, arithmetic, checkGrowth, ok } from './mutation-steps.js';
import { describeJson, isJsonObject, resolveName, splitPath, valueAtPath, withValueAt } from './paths.js';
import { valuesEqual } from './predicates.js';
import type { Space } from './schema.js';
import type { Json, Value } from './types.js';
import { coerceDocumentValue } from './values.js';

type JsonObject = { readonly [k: string]: Json };

const BITWISE_OPS: ReadonlySet<string> = new Set(['and', 'or', 'xor']);

function isNumericOp(op: string): op is NumericMutationOp {
  return (NUMERIC_MUTATION_OPS as readonly string[]).includes(op);
}

function isNum(x: unknown): x is Num {
  return (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'bigint';
}

function isInteger(x: Num): boolean {
  return typeof x === 'bigint' || Number.isInteger(x);
}

function bad(op: MutationOp, name: string, what: string): never {
  throw fail('invalid_mutation', `'${op}' on '${name}' ${what}`, { attribute: name });
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Validate the operand of `op` on the path `name` (already resolved); see the table above. */
export function parsePathOperand(op: MutationOp, name: string, raw: unknown, space: Space, limits: Limits): Value {
  const depth = splitPath(name).path.length;
  const json = (): Json => coerceDocumentValue(name, raw, depth, limits);
  if (isNumericOp(op)) {
    if (!isNum(raw)) return bad(op, name, 'takes a number');
    if (BITWISE_OPS.has(op) && !isInteger(raw)) return bad(op, name, 'takes an int');
    return raw;
  }
  if (op.startsWith('map_') && isNumericOp(op.slice(4))) return entriesOperand(op, name, raw, isNum, 'a number');
  switch (op) {
    case 'set':
    case 'lpush':
    case 'rpush':
    case 'set_add':
    case 'set_remove':
      return json();
    case 'unset':
    case 'document_unset':
      return raw === true || raw === null ? null : bad(op, name, 'takes true or null');
    case 'document_rename':
      return renameTarget(name, raw, space, limits);
    case 'append':
    case 'prepend':
      return typeof raw === 'string' || Array.isArray(raw) ? json() : bad(op, name, 'takes a string or a list');
    case 'set_union':
    case 'set_intersect':
      return Array.isArray(raw) ? json() : bad(op, name, 'takes a list');
    case 'map_set':
      return isJsonObject(raw as Value) ? json() : bad(op, name, 'takes an object');
    case 'map_remove': {
      const keys: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
      if (!keys.every((k) => typeof k === 'string')) return bad(op, name, 'takes a key or a list of keys');
      return keys as string[];
    }
    case 'map_string_prepend':
    case 'map_string_append':
      return entriesOperand(op, name, raw, (x) => typeof x === 'string', 'a string');
    default:
      return bad(op, name, 'does not apply inside a document');
  }
}

function entriesOperand(op: MutationOp, name: string, raw: unknown, fits: (x: unknown) => boolean, what: string): Value {
  if (!isJsonObject(raw as Value) || !Object.values(raw as object).every(fits)) return bad(op, name, `takes an object of key → ${what}`);
  return raw as Value;
}

/** The operand of `document_rename`: a path into the same document, as its steps. */
function renameTarget(name: string, raw: unknown, space: Space, limits: Limits): Value {
  if (typeof raw !== 'string') return bad('document_rename', name, "takes the new path as a string ('info.fullname')");
  const from = splitPath(name).attribute;
  const to = resolveName(raw, space, limits);
  if (to.attribute.name !== from || to.path.length === 0) return bad('document_rename', name, `moves a value within '${from}': the new path must start with '${from}.'`);
  return [...to.path];
}

// ---------------------------------------------------------------------------------------------
// Application

/** Apply `mutation` (on a path) to `document`, the whole value of its attribute; the step's value is the new document. */
export function applyAtPath(mutation: Mutation, path: readonly string[], document: Value, limits: Limits): Step {
  const name = [mutation.attribute, ...path].join('.');
  const { op, operand } = mutation;
  const found = valueAtPath(document, path);
  if (op === 'document_rename') {
    if (found === undefined) return bad(op, name, 'found nothing to rename');
    const to = operand as readonly string[];
    return ok(withValueAt(withValueAt(document, path, undefined, name), to, found, [mutation.attribute, ...to].join('.')));
  }
  if (op === 'unset' || op === 'document_unset') return ok(withValueAt(document, path, undefined, name));
  const step = valueStep(op, name, found, operand, limits);
  if (!step.ok) return step;
  return ok(withValueAt(document, path, step.value, name));
}

/** The new value at the path for every mutation but those that move or remove it. */
function valueStep(op: MutationOp, name: string, found: Value | undefined, operand: Value, limits: Limits): Step {
  if (op === 'set') return ok(operand);
  if (isNumericOp(op)) return numberStep(op, name, found ?? 0, operand as Num, `'${op}' on '${name}'`);
  if (op.startsWith('map_') && isNumericOp(op.slice(4))) {
    return entriesStep(op, name, found, operand, (before, x, key) => numberStep(op.slice(4) as NumericMutationOp, name, before ?? 0, x as Num, `'${op}' on '${name}.${key}'`), limits);
  }
  switch (op) {
    case 'append':
    case 'prepend':
      return concatenate(op, name, found, operand, limits);
    case 'lpush':
    case 'rpush': {
      const list = listAt(op, name, found);
      return grownList(name, op === 'lpush' ? [operand, ...list] : [...list, operand], limits);
    }
    case 'set_add':
      return grownList(name, withElements(listAt(op, name, found), [operand]), limits);
    case 'set_union':
      return grownList(name, withElements(listAt(op, name, found), operand as readonly Value[]), limits);
    case 'set_remove':
      return ok(listAt(op, name, found).filter((x) => !valuesEqual(x, operand)));
    case 'set_intersect':
      return ok(listAt(op, name, found).filter((x) => (operand as readonly Value[]).some((y) => valuesEqual(x, y))));
    case 'map_set': {
      const merged = { ...objectAt(op, name, found), ...(operand as JsonObject) };
      checkGrowth(name, Object.keys(merged).length, limits);
      return ok(merged);
    }
    case 'map_remove': {
      const out: Record<string, Json> = { ...objectAt(op, name, found) };
      for (const key of operand as readonly string[]) delete out[key];
      return ok(out);
    }
    case 'map_string_prepend':
    case 'map_string_append':
      return entriesStep(op, name, found, operand, (before, x) => {
        if (before !== undefined && typeof before !== 'string') return bad(op, name, `found ${describeJson(before)} in an entry, not a string`);
        return ok(op === 'map_string_append' ? (before ?? '') + String(x) : String(x) + (before ?? ''));
      }, limits);
    default:
      return bad(op, name, 'does not apply inside a document');
  }
}

function numberStep(op: NumericMutationOp, name: string, found: Value, operand: Num, what: string): Step {
  if (!isNum(found)) return bad(op, name, `found ${describeJson(found)}, not a number`);
  const kind = isInteger(found) && isInteger(operand) ? 'int' : 'float';
  if (kind === 'float' && BITWISE_OPS.has(op)) return bad(op, name, 'found a float; and, or and xor take ints');
  return arithmetic(op, kind, found, operand, what);
}

function concatenate(op: 'append' | 'prepend', name: string, found: Value | undefined, operand: Value, limits: Limits): Step {
  if (typeof operand === 'string') {
    const text = found ?? '';
    if (typeof text !== 'string') return bad(op, name, `takes a string operand, but found ${describeJson(text)} there`);
    return ok(op === 'append' ? text + operand : operand + text);
  }
  const list = listAt(op, name, found);
  const more = operand as readonly Value[];
  return grownList(name, op === 'append' ? [...list, ...more] : [...more, ...list], limits);
}

/** Each named entry of the object at the path replaced by `each(before, operand entry)`. */
function entriesStep(
  op: MutationOp, name: string, found: Value | undefined, operand: Value, each: (before: Value | undefined, x: Value, key: string) => Step, limits: Limits,
): Step {
  const out: Record<string, Value> = { ...objectAt(op, name, found) };
  for (const [key, x] of Object.entries(operand as JsonObject)) {
    const step = each(Object.hasOwn(out, key) ? out[key] : undefined, x, key);
    if (!step.ok) return step;
    out[key] = step.value;
  }
  checkGrowth(name, Object.keys(out).length, limits);
  return ok(out as Value);
}

function listAt(op: MutationOp, name: string, found: Value | undefined): readonly Value[] {
  if (found === undefined) return [];
  return Array.isArray(found) ? (found as readonly Value[]) : bad(op, name, `found ${describeJson(found)}, not a list`);
}

function objectAt(op: MutationOp, name: string, found: Value | undefined): JsonObject {
  if (found === undefined) return {};
  return isJsonObject(found) ? found : bad(op, name, `found ${describeJson(found)}, not an object`);
}

/** `list` with each of `more` appended unless already there (a list used as a set keeps its order). */
function withElements(list: readonly Value[], more: readonly Value[]): Value[] {
  const out = [...list];
  for (const x of more) if (!out.some((y) => valuesEqual(x, y))) out.push(x);
  return out;
}

function grownList(name: string, list: readonly Value[], limits: Limits): Step {
  checkGrowth(name, list.length, limits);
  return ok(list);
}
