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
