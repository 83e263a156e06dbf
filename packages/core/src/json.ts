/**
 * JSON text <-> values without losing 64-bit integers.
 *
 * `JSON.parse` rounds integers past 2^53 silently; DESIGN.md §2 forbids that. Parsing every body
 * with a lossless parser would cost several times `JSON.parse`, so the lossless path is taken only
 * when the text holds a run of 16 or more digits (the shortest unsafe integer has 16). A string
 * that merely contains such digits takes the slow path too, which is correct, just slower.
 */
import { LosslessNumber, isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { fail } from './errors.js';
import type { Json } from './types.js';

const LONG_DIGIT_RUN = /\d{16}/;

function parseNumber(text: string): number | bigint {
  if (isSafeNumber(text)) return Number(text);
  if (/^-?\d+$/.test(text)) return BigInt(text);
  // A float that cannot round-trip (e.g. 0.1000000000000000055511) is still a float: a float
  // attribute is a double by definition, so rounding it is its semantics, not a loss.
  return Number(text);
}

/** Parse JSON text; integers outside the safe range come back as `bigint`. Throws `bad_request`. */
export function parseJson(text: string): Json {
  try {
    if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text) as Json;
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
  try {
    const text = JSON.stringify(value);
    if (text === undefined || !LONG_DIGIT_RUN.test(text)) return text;
  } catch (err) {
    if (!(err instanceof TypeError) || !String(err.message).includes('BigInt')) throw err;
  }
  const text = losslessStringify(value as never, (_key: string, v: unknown) =>
    typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) ? new LosslessNumber(v.toExponential()) : v);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}
