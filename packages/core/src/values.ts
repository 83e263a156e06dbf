/**
 * Validation of untrusted attribute values into their canonical form (see `types.ts`).
 * Every function here throws `invalid_value` / `too_large` with the attribute named; on success
 * the result can be stored and compared without further checks.
 */
import { fail } from './errors.js';
import type { Limits } from './limits.js';
import type { AttributeType, Json, Key, KeyTypeName, MapKeyTypeName, ScalarType, Value } from './types.js';
import { typeToString } from './types.js';
import { utf8Length } from './utf8.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const YEAR_MAX = 9999;
/** JSON's number grammar: how a float key is written as text (a REST path segment, a cursor). */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'bigint') return `the integer ${input}`;
  if (typeof input === 'object') return 'an object';
  return `${typeof input} ${JSON.stringify(input)?.slice(0, 40)}`;
}

function wrongType(path: string, type: AttributeType | ScalarType, input: unknown): never {
  throw fail('invalid_value', `attribute '${path}' expects ${typeToString(type as AttributeType)}, got ${describe(input)}`, {
    attribute: path,
  });
}

/** Normalize an int: a safe integer stays a number; a larger one must fit int64 and becomes bigint. */
export function canonicalInt(n: bigint): number | bigint {
  if (n < INT64_MIN || n > INT64_MAX) throw new RangeError('int64 overflow');
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

export function isInt64(n: bigint): boolean {
  return n >= INT64_MIN && n <= INT64_MAX;
}

function coerceInt(path: string, input: unknown): number | bigint {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input)) return input === 0 ? 0 : input; // no -0
    if (Number.isInteger(input)) {
      throw fail('invalid_value', `attribute '${path}': ${input} is past 2^53 and was already rounded; send it exactly`, {
        attribute: path,
      });
    }
    return wrongType(path, { kind: 'int' }, input);
  }
  if (typeof input === 'bigint') {
    if (!isInt64(input)) throw fail('invalid_value', `attribute '${path}': ${input} is outside the 64-bit int range`, { attribute: path });
    return canonicalInt(input);
  }
  return wrongType(path, { kind: 'int' }, input);
}

function coerceFloat(path: string, input: unknown): number {
  if (typeof input === 'number' && Number.isFinite(input)) return input;
  if (typeof input === 'bigint') return Number(input);
  return wrongType(path, { kind: 'float' }, input);
}

function coerceTimestamp(path: string, input: unknown): string {
  let ms: number;
  if (typeof input === 'number' && Number.isFinite(input)) ms = Math.trunc(input);
  else if (typeof input === 'string' && /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(input)) {
    ms = Date.parse(input);
  } else return wrongType(path, { kind: 'timestamp' }, input);
  const date = new Date(ms);
  const year = Number.isNaN(ms) ? NaN : date.getUTCFullYear();
  if (!(year >= 0 && year <= YEAR_MAX)) {
    throw fail('invalid_value', `attribute '${path}': timestamp must be an ISO 8601 date-time or epoch milliseconds in years 0000-9999`, {
      attribute: path,
    });
  }
  return date.toISOString();
}

function coerceBytes(path: string, input: unknown): string {
  if (typeof input === 'string' && BASE64.test(input)) return input;
  return wrongType(path, { kind: 'bytes' }, input);
}

export function coerceScalar(path: string, type: ScalarType, input: unknown): string | number | bigint | boolean {
  switch (type.kind) {
    case 'string':
      return typeof input === 'string' ? input : wrongType(path, type, input);
    case 'int':
      return coerceInt(path, input);
    case 'float':
      return coerceFloat(path, input);
    case 'bool':
      return typeof input === 'boolean' ? input : wrongType(path, type, input);
    case 'bytes':
      return coerceBytes(path, input);
    case 'timestamp':
      return coerceTimestamp(path, input);
  }
}

/** Total order on canonical scalars of one type (timestamps and bytes compare as their text). */
export function compareScalars(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = a as number | bigint;
  const y = b as number | bigint;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Sort and deduplicate canonical scalars: the canonical form of a set. */
export function canonicalSet(elements: readonly Value[]): Value[] {
  const sorted = [...elements].sort(compareScalars);
  return sorted.filter((v, i) => i === 0 || compareScalars(sorted[i - 1], v) !== 0);
}

/** Canonical text of a map key of the given type; throws `invalid_value`. */
export function canonicalMapKey(path: string, type: { readonly kind: MapKeyTypeName }, raw: string): string {
  if (type.kind === 'string') return raw;
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed !== raw) wrongType(`${path}{key}`, type, raw);
  if (type.kind === 'int') {
    if (!/^-?\d+$/.test(raw)) wrongType(`${path}{key}`, type, raw);
    return String(coerceInt(`${path}{key}`, BigInt(raw)));
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) wrongType(`${path}{key}`, type, raw);
  return String(n);
}

function checkSize(path: string, count: number, limits: Limits): void {
  if (count > limits.collectionElementsMax) {
    throw fail('too_large', `attribute '${path}' has ${count} elements; the limit is ${limits.collectionElementsMax}`, {
      attribute: path,
      limit: 'collectionElementsMax',
    });
  }
}

function checkDocument(path: string, input: unknown, depth: number, limits: Limits): Json {
  if (depth > limits.documentDepthMax) {
    throw fail('too_large', `attribute '${path}' nests deeper than ${limits.documentDepthMax}`, { attribute: path, limit: 'documentDepthMax' });
  }
  if (input === null || typeof input === 'string' || typeof input === 'boolean' || typeof input === 'bigint') return input;
  if (typeof input === 'number') return Number.isFinite(input) ? input : wrongType(path, { kind: 'document' }, input);
  if (Array.isArray(input)) {
    for (const item of input) checkDocument(path, item, depth + 1, limits);
    return input as Json;
  }
  if (typeof input === 'object') {
    for (const item of Object.values(input)) checkDocument(path, item, depth + 1, limits);
    return input as Json;
  }
  return wrongType(path, { kind: 'document' }, input);
}

/** A JSON value to be placed `depth` steps down a document (at a path): checked as part of the document. */
export function coerceDocumentValue(path: string, input: unknown, depth: number, limits: Limits): Json {
  return checkDocument(path, input, depth, limits);
}

/** Validate `input` against `type` and return its canonical form. */
export function coerceValue(path: string, type: AttributeType, input: unknown, limits: Limits): Value {
  switch (type.kind) {
    case 'document':
      return checkDocument(path, input, 0, limits);
    case 'list':
    case 'set': {
      if (!Array.isArray(input)) return wrongType(path, type, input);
      checkSize(path, input.length, limits);
      const items = input.map((item, i) => coerceScalar(`${path}[${i}]`, type.of, item));
      return type.kind === 'set' ? canonicalSet(items) : items;
    }
    case 'map': {
      if (input === null || typeof input !== 'object' || Array.isArray(input)) return wrongType(path, type, input);
      const entries = Object.entries(input);
      checkSize(path, entries.length, limits);
      return canonicalMap(
        entries.map(([k, v]) => [canonicalMapKey(path, type.key, k), coerceScalar(`${path}{${k}}`, type.value, v)] as const),
        type.key,
      );
    }
    default:
      return coerceScalar(path, type, input);
  }
}

/** Build a canonical map (keys sorted in their type's order; a repeated key keeps the last value). */
export function canonicalMap(entries: readonly (readonly [string, Value])[], keyType: { readonly kind: MapKeyTypeName }): { [k: string]: Value } {
  const byKey = new Map<string, Value>(entries);
  const keys = [...byKey.keys()];
  if (keyType.kind === 'string') keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  else keys.sort((a, b) => compareScalars(keyType.kind === 'int' ? BigInt(a) : Number(a), keyType.kind === 'int' ? BigInt(b) : Number(b)));
  // fromEntries defines each key as an own property; assigning would let `__proto__` replace the
  // prototype and vanish from the map (exact keys: every string key is stored as given).
  return Object.fromEntries(keys.map((k) => [k, byKey.get(k) as Value]));
}

/** Validate a key for a space whose key has `type`. */
export function coerceKey(type: KeyTypeName, input: unknown, limits: Limits): Key {
  if (type === 'timestamp') {
    // A path segment or cursor carries epoch milliseconds as text.
    const raw = typeof input === 'string' && /^-?\d+$/.test(input) ? Number(input) : input;
    try {
      return coerceTimestamp('key', raw);
    } catch {
      throw fail('invalid_key', `the key must be a timestamp (ISO 8601 or epoch milliseconds, years 0000-9999), got ${describe(input)}`);
    }
  }
  if (type === 'float') return coerceFloatKey(input);
  if (type === 'int') {
    if (typeof input === 'string' && /^-?\d+$/.test(input)) input = BigInt(input);
    if ((typeof input === 'number' && Number.isSafeInteger(input)) || (typeof input === 'bigint' && isInt64(input))) {
      return typeof input === 'bigint' ? canonicalInt(input) : input;
    }
    throw fail('invalid_key', `the key must be a 64-bit int, got ${describe(input)}`);
  }
  if (typeof input !== 'string') throw fail('invalid_key', `the key must be a string, got ${describe(input)}`);
  if (input.length === 0) throw fail('invalid_key', 'the key must not be empty');
  const bytes = utf8Length(input);
  if (bytes > limits.keyBytesMax) {
    throw fail('too_large', `the key is ${bytes} bytes; the limit is ${limits.keyBytesMax}`, { limit: 'keyBytesMax' });
  }
  return input;
}

/**
 * A float key: a finite double. -0 is the key 0: the two compare equal everywhere (compareScalars,
 * index bytes, SQLite, a float map key's text), so they must name one object. An integer past 2^53
 * (a bigint from the lossless parser) is rounded to the nearest double, as a float attribute is.
 */
function coerceFloatKey(input: unknown): number {
  const n = typeof input === 'string' && JSON_NUMBER.test(input) ? Number(input) : typeof input === 'bigint' ? Number(input) : input;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw fail('invalid_key', `the key must be a finite float (NaN and Infinity are not keys), got ${describe(input)}`);
  }
  return n === 0 ? 0 : n;
}
