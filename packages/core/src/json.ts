/**
 * JSON text <-> values without losing 64-bit integers.
 *
 * `JSON.parse` rounds integers past 2^53 silently; docs/architecture.md §2 forbids that. Parsing every body
 * with a lossless parser would cost several times `JSON.parse`, so the text is parsed with
 * `JSON.parse` first, and again losslessly only when the result holds an integral number outside
 * the safe range: every integer literal past 2^53 parses to one, so none slips through. Looking at
 * the parsed numbers costs less than scanning the text (which reads every character of every
 * string), and a long run of digits inside a string no longer sends a body down the slow path.
 */
import { LosslessNumber, isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { fail } from './errors.js';
import type { Json } from './types.js';

/**
 * Whether `value` holds a bigint or an integral number outside the safe range: the values that
 * plain JSON would lose. Iterative, so a deeply nested body cannot overflow the stack.
 */
function holdsWideNumber(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'number') {
      if (Number.isInteger(item) && !Number.isSafeInteger(item)) return true;
    } else if (typeof item === 'bigint') {
      return true;
    } else if (typeof item === 'object' && item !== null) {
      if (Array.isArray(item)) for (const element of item) pending.push(element);
      else for (const key in item) pending.push((item as Record<string, unknown>)[key]);
    }
  }
  return false;
}

function parseNumber(text: string): number | bigint {
  if (isSafeNumber(text)) return Number(text);
  if (/^-?\d+$/.test(text)) return BigInt(text);
  // A float that cannot round-trip (e.g. 0.1000000000000000055511) is still a float: a float
  // attribute is a double by definition, so rounding it is its semantics, not a loss.
  return Number(text);
}

/** Parse JSON text; integers outside the safe range come back as `bigint`. Throws `bad_request`. */
export function parseJson(text: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw fail('bad_request', `malformed JSON: ${(err as Error).message}`);
  }
  if (!holdsWideNumber(value)) return value as Json;
  try {
    return losslessParse(text, null, parseNumber) as Json;
  } catch (err) {
    throw fail('bad_request', `malformed JSON: ${(err as Error).message}`);
  }
}

/**
 * Serialize a value. `bigint`s are written as plain JSON numbers. A `number` that is integral but
 * past 2^53 can only be a float (canonical ints there are bigints), so it is written in exponent
 * form, which `parseJson` reads back as a number rather than a bigint.
 */
export function stringifyJson(value: unknown): string {
  if (!holdsWideNumber(value)) return JSON.stringify(value);
  const text = losslessStringify(value as never, (_key: string, v: unknown) =>
    typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) ? new LosslessNumber(v.toExponential()) : v);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/**
 * An object's attribute record as stored: stringifyJson's text, written here when the record is
 * small and flat. Why: JSON.stringify has a fixed cost per call that string additions avoid for a
 * record of a few plain members, such as a put's one 100-byte value; past a few members, or as soon
 * as one string needs an escape, JSON.stringify of the whole record costs less. Instructions per
 * write of the writer thread (callgrind, 19,600 puts in commits of 490, seeded keys and values,
 * 2026-12-07), before (every flat record built here, each string needing an escape through its own
 * JSON.stringify call) and after: a YCSB record, ten 100-byte strings each holding a quote or a
 * backslash, 202.7k -> 141.4k; ten such strings with nothing to escape, 155.9k -> 134.5k; one
 * 100-byte string, 61.9k -> 62.9k, and 69.3k -> 66.8k when it needs an escape. The text is built
 * by string additions, which leave ropes that cost the garbage collector more than they save in a
 * nested value, so only flat records take this way.
 * Plain members are strings that need no escape, booleans, null, and finite numbers in the safe
 * integer range or fractional, in an object whose prototype is Object's or null; anything else (a
 * nested value, a bigint, a wide number, undefined, a `toJSON`, an inherited enumerable name) takes
 * stringifyJson.
 */
export function stringifyAttributes(attributes: Readonly<Record<string, unknown>>): string {
  return flatRecordJson(attributes) ?? stringifyJson(attributes);
}

/**
 * Members up to which string additions cost less than JSON.stringify: an estimate between the two
 * sizes measured, one member (additions about 5k instructions cheaper per write) and ten (about 21k
 * dearer), assuming the difference grows evenly with the members.
 */
const FLAT_MEMBERS_MAX = 4;

function flatRecordJson(value: object): string | undefined {
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return undefined;
  // A large or nested record is found before any text is built, so that it costs no half-built text.
  let members = 0;
  for (const name in value) {
    const member: unknown = (value as Record<string, unknown>)[name];
    if ((typeof member === 'object' && member !== null) || ++members > FLAT_MEMBERS_MAX) return undefined;
  }
  let out = '{';
  let first = true;
  for (const name in value) {
    if (!Object.hasOwn(value, name) || NEEDS_ESCAPE.test(name)) return undefined;
    const member = primitiveJson((value as Record<string, unknown>)[name]);
    if (member === undefined) return undefined;
    out += `${first ? '' : ','}"${name}":${member}`;
    first = false;
  }
  return `${out}}`;
}

function primitiveJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return NEEDS_ESCAPE.test(value) ? undefined : `"${value}"`;
    case 'number':
      return Number.isFinite(value) && (Number.isSafeInteger(value) || !Number.isInteger(value)) ? String(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return value === null ? 'null' : undefined;
  }
}

/** A quote, a backslash, a control character or a UTF-16 surrogate (JSON escapes a lone one; a pair goes the general way too). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
