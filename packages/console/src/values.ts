/**
 * Turning what a user types into typed values and back. Objects travel as the server's lossless
 * JSON (64-bit ints beyond 2^53 stay exact as bigint), so the editor shows and reads that form.
 */
import { CONSOLE_LIMITS, type Json, type Key, parseJson, stringifyJson } from '@spacekv/core';
import type { SpaceDescription } from '@spacekv/client';

/** Attributes as pretty JSON text for the editor. */
export function attributesText(attributes: unknown): string {
  return JSON.stringify(JSON.parse(stringifyJson(attributes)), null, 2);
}

/** Editor text to an attributes object; throws a readable error when it is not a JSON object. */
export function parseAttributes(text: string): Record<string, Json> {
  const value = parseJson(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('the attributes must be a JSON object, like {"name": "Ada"}');
  return value as Record<string, Json>;
}

/** A key typed in a box (or taken from a URL) as the space's key type wants it. */
export function parseKey(space: SpaceDescription, text: string): Key {
  if (space.key.type !== 'int') return text;
  if (!/^-?\d+$/.test(text.trim())) throw new Error(`the key of ${space.name} is an int; '${text}' is not one`);
  const n = BigInt(text.trim());
  return Number.isSafeInteger(Number(n)) ? Number(n) : n;
}

/** The operators a predicate on an attribute of `type` may use (docs/protocol.md). */
export function operatorsFor(type: string): readonly string[] {
  if (/^(list|set)\(/.test(type)) return ['contains', 'length_eq', 'length_lte', 'length_gte'];
  if (type.startsWith('map(')) return ['contains', 'length_eq', 'length_lte', 'length_gte'];
  if (type === 'string') return ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'prefix', 'regex', 'length_eq', 'length_lte', 'length_gte'];
  if (type === 'bool') return ['eq', 'ne'];
  if (type === 'bytes' || type === 'document') return ['eq', 'ne'];
  return ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'];
}

/** The type an operand of `op` on an attribute of `type` has: lengths are ints, `contains` takes an element. */
export function operandType(type: string, op: string): string {
  if (op.startsWith('length_')) return 'int';
  if (op === 'prefix' || op === 'regex') return 'string';
  if (op === 'contains') {
    const inner = /^(?:list|set)\((.*)\)$/.exec(type)?.[1] ?? /^map\(([^,]*),/.exec(type)?.[1];
    return inner?.trim() ?? 'string';
  }
  return type;
}

/** A typed operand from its text: strings as typed, everything else as JSON (numbers, true/false, ...). */
export function parseOperand(type: string, text: string): Json {
  if (type === 'string') return text;
  try {
    return parseJson(text);
  } catch {
    throw new Error(`'${text}' is not a ${type} value`);
  }
}

export function keyText(key: Key): string {
  return String(key);
}

/** Attributes as one line of JSON for a table cell, cut at `previewCharsMax`. */
export function preview(attributes: unknown): string {
  const text = stringifyJson(attributes);
  const max = CONSOLE_LIMITS.previewCharsMax;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
