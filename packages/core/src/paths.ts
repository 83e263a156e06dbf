/**
 * Document paths, as HyperDex writes them: `info.name` names the value at key `name` of the
 * object held by the `document` attribute `info`. A path may appear wherever an attribute name may
 * (put, select, mutations, predicates, sort_by, indexes). Attribute names are identifiers
 * (NAME_PATTERN), so the first dot always ends the attribute name; the steps after it are object
 * keys (non-empty; a key that itself holds a dot cannot be named by a path, as in HyperDex).
 *
 * Values inside a document are plain JSON and are typed by what is found there: a path that is
 * absent, or meets a value of another type, simply does not match a predicate.
 */
import { fail } from './errors.js';
import type { Limits } from './limits.js';
import type { AttributeSchema, Space } from './schema.js';
import type { Attributes, Json, Value } from './types.js';
import { typeToString } from './types.js';
import { compareScalars } from './values.js';

/** An attribute name, or a path into a document attribute, resolved against a space. */
export interface AttributeRef {
  readonly attribute: AttributeSchema;
  /** Steps below the attribute; empty for the attribute itself. */
  readonly path: readonly string[];
}

type JsonObject = { readonly [k: string]: Json };

/** Whether `name` is written as a path (`info.name`) rather than a plain attribute name. */
export function isPath(name: string): boolean {
  return name.includes('.');
}

/** Split `info.a.b` into `info` and `['a', 'b']` (no validation). */
export function splitPath(name: string): { readonly attribute: string; readonly path: readonly string[] } {
  const [attribute = '', ...path] = name.split('.');
  return { attribute, path };
}

/**
 * Resolve `name` (an attribute or a path) against `space`. Throws `unknown_attribute` for an
 * undeclared attribute, `invalid_path` for a path into a non-document attribute or with an empty
 * step, `too_large` past `documentPathDepthMax` / `documentPathLengthMax`.
 */
export function resolveName(name: string, space: Space, limits: Limits): AttributeRef {
  if (!isPath(name)) {
    const attribute = space.attribute(name);
    if (attribute === undefined) throw fail('unknown_attribute', `space '${space.name}' has no attribute '${name}'`, { attribute: name });
    return { attribute, path: [] };
  }
  if (name.length > limits.documentPathLengthMax) {
    throw fail('too_large', `the path '${name.slice(0, 40)}…' is ${name.length} characters; the limit is ${limits.documentPathLengthMax}`, {
      attribute: name, limit: 'documentPathLengthMax',
    });
  }
  const split = splitPath(name);
  const attribute = space.attribute(split.attribute);
  if (attribute === undefined) {
    throw fail('unknown_attribute', `space '${space.name}' has no attribute '${split.attribute}' (in the path '${name}')`, { attribute: name });
  }
  if (attribute.type.kind !== 'document') {
    throw fail('invalid_path', `'${name}' is a path into '${split.attribute}', which is a ${typeToString(attribute.type)}, not a document`, {
      attribute: name,
    });
  }
  if (split.path.some((step) => step.length === 0)) throw fail('invalid_path', `the path '${name}' has an empty step`, { attribute: name });
  if (split.path.length > limits.documentPathDepthMax) {
    throw fail('too_large', `the path '${name}' is ${split.path.length} steps deep; the limit is ${limits.documentPathDepthMax}`, {
      attribute: name, limit: 'documentPathDepthMax',
    });
  }
  return { attribute, path: split.path };
}

export function isJsonObject(value: Value | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value at `path` below `value`; undefined when a step is missing or passes through a non-object. */
export function valueAtPath(value: Value | undefined, path: readonly string[]): Value | undefined {
  let here = value;
  for (const step of path) {
    if (!isJsonObject(here) || !Object.hasOwn(here, step)) return undefined;
    here = here[step];
  }
  return here;
}

/** An attribute's value, or the value at a path (`info.name`); undefined when absent. */
export function readName(attributes: Attributes, name: string): Value | undefined {
  if (!isPath(name)) return Object.hasOwn(attributes, name) ? attributes[name] : undefined;
  const { attribute, path } = splitPath(name);
  return valueAtPath(Object.hasOwn(attributes, attribute) ? attributes[attribute] : undefined, path);
}

/** `select` applied to complete attributes: each name (attribute or path) with its value (a missing path: null). */
export function selectNames(attributes: Attributes, select: readonly string[]): Attributes {
  const chosen: Record<string, Value> = {};
  for (const name of select) chosen[name] = readName(attributes, name) ?? null;
  return chosen;
}

/**
 * `document` with `value` at `path` (a copy; the input is never changed), creating the objects the
 * path passes through. A step through a value that is not an object cannot be taken: `invalid_path`.
 * `value` undefined removes the path's last step instead (nothing to remove is no change).
 */
export function withValueAt(document: Value, path: readonly string[], value: Value | undefined, name: string): Value {
  const [step, ...rest] = path;
  if (step === undefined) return value ?? {};
  if (!isJsonObject(document)) {
    if (value === undefined) return document;
    throw fail('invalid_path', `'${name}': the path passes through ${describeJson(document)}, not an object`, { attribute: name });
  }
  const out: Record<string, Json> = { ...document };
  if (rest.length === 0) {
    if (value === undefined) delete out[step];
    else out[step] = value;
    return out;
  }
  const below = Object.hasOwn(document, step) ? (document[step] as Value) : undefined;
  if (below === undefined && value === undefined) return document;
  out[step] = withValueAt(below ?? {}, rest, value, name);
  return out;
}

const KIND_RANK: Readonly<Record<string, number>> = { undefined: 0, null: 1, boolean: 2, number: 3, bigint: 3, string: 4, list: 5, object: 6 };

function kindRank(value: Value | undefined): number {
  if (value === null) return KIND_RANK.null as number;
  if (Array.isArray(value)) return KIND_RANK.list as number;
  return KIND_RANK[typeof value] as number;
}

/**
 * The order of `sorted_search`: for a typed attribute, compareScalars; for a document path, whose
 * values may be of any kind, first by kind (absent, null, bool, number, string, list, object), then
 * by value within bools, numbers and strings (lists and objects tie, and fall back to key order).
 */
export function compareSortValues(a: Value | undefined, b: Value | undefined): number {
  const ka = kindRank(a);
  const kb = kindRank(b);
  if (ka !== kb) return ka - kb;
  return ka >= (KIND_RANK.list as number) || ka <= (KIND_RANK.null as number) ? 0 : compareScalars(a, b);
}

/** A JSON value in a few words, for messages. */
export function describeJson(value: Value | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'bigint') return 'a number';
  return `a ${typeof value}`;
}
