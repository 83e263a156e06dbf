/**
 * Validators of the fields operations share (space, key, attributes, version, ...), used by the wire
 * codec (wire.ts), the tx parser (tx.ts) and the REST routes. Each takes untrusted JSON and returns a
 * canonical value or throws a SpacekvError with a stable code (STYLE.md §8).
 */
import { isSystemSpace } from './access.js';
import { parseSchemaDslWithWarnings } from './dsl.js';
import { fail } from './errors.js';
import type { Limits } from './limits.js';
import type { AddSpaceOp, ExpireIn, KeyedOp } from './operations.js';
import { parseSchemaJson } from './schema-json.js';
import type { Space } from './schema.js';
import type { Attributes, Value } from './types.js';
import { resolveName, isPath } from './paths.js';
import { coerceDocumentValue, coerceKey, coerceValue } from './values.js';

/** How the codec finds the space an operation names. */
export type SpaceLookup = (name: string) => Space | undefined;

/** A JSON object as received, before validation. */
export type Fields = Readonly<Record<string, unknown>>;

export function isFields(input: unknown): input is Fields {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

export function parseSpaceName(input: unknown): string {
  if (typeof input !== 'string' || input.length === 0) throw fail('bad_request', 'the field \'space\' must be a non-empty string');
  if (isSystemSpace(input)) throw fail('unknown_space', `no space named '${input}'`); // rm_space and describe_space name it without a lookup
  return input;
}

export function requireSpace(lookup: SpaceLookup, name: string): Space {
  // The server's own spaces (token records) exist for no request: every front finds its space here, and finds none.
  const space = isSystemSpace(name) ? undefined : lookup(name);
  if (!space) throw fail('unknown_space', `no space named '${name}'`);
  return space;
}

/** The object named by the `space` and `key` fields, pinned to the space's incarnation. */
export interface Target {
  readonly space: Space;
  readonly keyed: KeyedOp & { readonly spaceCreatedSeq: number };
}

export function parseTarget(input: Fields, lookup: SpaceLookup, limits: Limits): Target {
  const space = requireSpace(lookup, parseSpaceName(input.space));
  const key = coerceKey(space.schema.key.type, input.key, limits);
  return { space, keyed: { space: space.name, key, spaceCreatedSeq: space.createdSeq } };
}

/**
 * Validate the attributes of a put: every name declared, every value of its type. A name may be a
 * document path (`info.name`, see paths.ts): its value is any JSON, set at that path when the put
 * is applied (core's apply.ts), creating the objects on the way.
 */
export function parseAttributes(input: unknown, space: Space, limits: Limits): Attributes {
  if (!isFields(input)) throw fail('bad_request', 'attributes must be a JSON object mapping attribute names to values');
  const out: Record<string, Value> = {};
  for (const [name, value] of Object.entries(input)) {
    if (isPath(name)) {
      out[name] = coerceDocumentValue(name, value, resolveName(name, space, limits).path.length, limits);
      continue;
    }
    const attribute = space.attribute(name);
    if (!attribute) {
      const hint = name === space.schema.key.name ? ' (it is the key; it goes in the path or the key field)' : '';
      throw fail('unknown_attribute', `space '${space.name}' has no attribute '${name}'${hint}`, { attribute: name });
    }
    out[name] = coerceValue(name, attribute.type, value, limits);
  }
  return out;
}

export function parseExpireIn(input: unknown, limits: Limits): ExpireIn {
  if (input === undefined || input === null) return input;
  if (typeof input !== 'number' || !(input > 0)) {
    throw fail('bad_request', `expire_in must be a number of seconds above 0 and at most ${limits.expireInSecondsMax}, or null`);
  }
  // Past the bound is too_large, naming the limit, like every other bound (and like a schema's ttl).
  if (input > limits.expireInSecondsMax) {
    throw fail('too_large', `expire_in is past ${limits.expireInSecondsMax} seconds`, { limit: 'expireInSecondsMax' });
  }
  return input;
}

export function parseVersion(input: unknown): number {
  if (typeof input === 'string' && /^\d+$/.test(input)) input = Number(input);
  if (typeof input !== 'number' || !Number.isSafeInteger(input) || input < 0) throw fail('bad_request', 'version must be a non-negative integer');
  return input;
}

/** Attribute names or document paths (`info.name`) to return; a path that is absent reads as null. */
export function parseSelect(input: unknown, space: Space, limits: Limits): string[] {
  if (!Array.isArray(input) || input.some((n) => typeof n !== 'string')) throw fail('bad_request', 'select must be a list of attribute names');
  for (const name of input as string[]) resolveName(name, space, limits);
  return input as string[];
}

/** The `add_space` of a schema: DSL text (with the warnings of HyperDex clauses it ignored) or the JSON form. */
export function parseAddSpace(input: unknown, limits: Limits): AddSpaceOp {
  if (typeof input !== 'string') return { op: 'add_space', schema: parseSchemaJson(input, limits) };
  const { schema, warnings } = parseSchemaDslWithWarnings(input, limits);
  return warnings.length === 0 ? { op: 'add_space', schema } : { op: 'add_space', schema, warnings };
}
