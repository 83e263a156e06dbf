/**
 * The wire codec shared by every front and the client: Operation JSON in, Result JSON out
 * (DESIGN.md §3, docs/protocol.md). Parsing validates once, at the boundary (STYLE.md §8):
 * what comes out of `parseOperation` is trusted by the engine and the stores.
 */
import { fail } from './errors.js';
import type { WireError } from './errors.js';
import type { Limits } from './limits.js';
import { parseMutations } from './mutations.js';
import type { ExpireIn, Operation, Result, StoredObject } from './operations.js';
import { parseCondition } from './predicates.js';
import { parseSchemaDsl } from './dsl.js';
import { parseSchemaJson, schemaToJson } from './schema-json.js';
import type { Space, SpaceSchema } from './schema.js';
import type { Attributes, Key, Value } from './types.js';
import { coerceKey, coerceValue } from './values.js';
import { stringifyJson } from './json.js';

/** How the codec finds the space an operation names. */
export type SpaceLookup = (name: string) => Space | undefined;

type Fields = Readonly<Record<string, unknown>>;

const ALLOWED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  get: ['space', 'key'],
  get_partial: ['space', 'key', 'select'],
  put: ['space', 'key', 'attributes', 'expire_in'],
  put_if_not_exist: ['space', 'key', 'attributes', 'expire_in'],
  get_and_put: ['space', 'key', 'attributes', 'expire_in'],
  cond_put: ['space', 'key', 'if', 'attributes', 'expire_in'],
  compare_and_swap: ['space', 'key', 'version', 'attributes', 'expire_in'],
  del: ['space', 'key', 'version'],
  cond_del: ['space', 'key', 'if'],
  get_and_del: ['space', 'key'],
  mutate: ['space', 'key', 'mutations', 'if', 'expire_in'],
  add_space: ['schema'],
  rm_space: ['space'],
  list_spaces: [],
  describe_space: ['space'],
};

export const OPERATION_NAMES: readonly string[] = Object.keys(ALLOWED_FIELDS);

function isRecord(input: unknown): input is Fields {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

function checkFields(op: string, input: Fields): void {
  const allowed = ALLOWED_FIELDS[op] as readonly string[];
  for (const field of Object.keys(input)) {
    if (field !== 'op' && field !== 'id' && !allowed.includes(field)) throw fail('bad_request', `operation '${op}' takes no field '${field}' (it takes: ${allowed.join(', ') || 'nothing'})`);
  }
}

export function parseSpaceName(input: unknown): string {
  if (typeof input !== 'string' || input.length === 0) throw fail('bad_request', 'the field \'space\' must be a non-empty string');
  return input;
}

export function requireSpace(lookup: SpaceLookup, name: string): Space {
  const space = lookup(name);
  if (!space) throw fail('unknown_space', `no space named '${name}'`);
  return space;
}

/** Validate the attributes of a put: every name declared, every value of its type. */
export function parseAttributes(input: unknown, space: Space, limits: Limits): Attributes {
  if (!isRecord(input)) throw fail('bad_request', 'attributes must be a JSON object mapping attribute names to values');
  const out: Record<string, Value> = {};
  for (const [name, value] of Object.entries(input)) {
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
  if (typeof input !== 'number' || !(input > 0) || input > limits.expireInSecondsMax) {
    throw fail('bad_request', `expire_in must be a number of seconds above 0 and at most ${limits.expireInSecondsMax}, or null`);
  }
  return input;
}

export function parseVersion(input: unknown): number {
  if (typeof input === 'string' && /^\d+$/.test(input)) input = Number(input);
  if (typeof input !== 'number' || !Number.isSafeInteger(input) || input < 0) throw fail('bad_request', 'version must be a non-negative integer');
  return input;
}

function parseSelect(input: unknown, space: Space): string[] {
  if (!Array.isArray(input) || input.some((n) => typeof n !== 'string')) throw fail('bad_request', 'select must be a list of attribute names');
  for (const name of input as string[]) {
    if (!space.attribute(name)) throw fail('unknown_attribute', `space '${space.name}' has no attribute '${name}'`, { attribute: name });
  }
  return input as string[];
}

/** The schema of `add_space`: DSL text or the JSON form. */
export function parseSchema(input: unknown, limits: Limits): SpaceSchema {
  return typeof input === 'string' ? parseSchemaDsl(input, limits) : parseSchemaJson(input, limits);
}

/**
 * Parse and validate one operation in its wire form. Throws a SpacekvError with a stable code.
 * An `id` field is the envelope's (WebSocket request id) and is ignored here.
 */
export function parseOperation(input: unknown, lookup: SpaceLookup, limits: Limits): Operation {
  if (!isRecord(input)) throw fail('bad_request', 'an operation must be a JSON object with an \'op\' field');
  const op = input.op;
  if (typeof op !== 'string' || !Object.hasOwn(ALLOWED_FIELDS, op)) {
    throw fail('bad_request', `unknown operation ${JSON.stringify(op)}; expected one of ${OPERATION_NAMES.join(', ')}`);
  }
  checkFields(op, input);
  switch (op) {
    case 'add_space':
      return { op, schema: parseSchema(input.schema, limits) };
    case 'list_spaces':
      return { op };
    case 'rm_space':
    case 'describe_space':
      return { op, space: parseSpaceName(input.space) };
    default:
      return parseObjectOperation(op, input, lookup, limits);
  }
}

function parseObjectOperation(op: string, input: Fields, lookup: SpaceLookup, limits: Limits): Operation {
  const space = requireSpace(lookup, parseSpaceName(input.space));
  const key = coerceKey(space.schema.key.type, input.key, limits);
  const base = { space: space.name, key, spaceCreatedSeq: space.createdSeq };
  const expireIn = () => parseExpireIn(input.expire_in, limits);
  const attributes = () => parseAttributes(input.attributes ?? {}, space, limits);
  const condition = () => parseCondition(input.if ?? {}, space, limits);
  switch (op) {
    case 'get':
    case 'get_and_del':
      return { op, ...base };
    case 'get_partial':
      return { op, ...base, select: parseSelect(input.select, space) };
    case 'put':
    case 'put_if_not_exist':
    case 'get_and_put':
      return { op, ...base, attributes: attributes(), expireIn: expireIn() };
    case 'cond_put':
      return { op, ...base, condition: condition(), attributes: attributes(), expireIn: expireIn() };
    case 'compare_and_swap':
      return { op, ...base, version: parseVersion(input.version), attributes: attributes(), expireIn: expireIn() };
    case 'del':
      return input.version === undefined ? { op, ...base } : { op, ...base, version: parseVersion(input.version) };
    case 'cond_del':
      return { op, ...base, condition: condition() };
    case 'mutate':
      return {
        op, ...base,
        mutations: parseMutations(input.mutations, space, limits),
        ...(input.if === undefined ? {} : { condition: condition() }),
        expireIn: expireIn(),
      };
    default:
      throw fail('bad_request', `unknown operation '${op}'`);
  }
}

function keyJson(key: Key): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

function storedJson(stored: StoredObject): string {
  return `{"version":${stored.version},"attributes":${stored.attributesJson}}`;
}

/** Encode a failed result or a fault as the `error` member of a reply. */
export function errorJson(error: WireError): string {
  return stringifyJson(error);
}

/**
 * Encode a result as reply JSON. Attribute JSON from the store is spliced in as it is, so a read
 * never decodes and re-encodes the object.
 */
export function encodeResult(result: Result): string {
  if (!result.ok) {
    const { code, message, version } = result;
    return `{"ok":false,"error":${errorJson(version === undefined ? { code, message } : { code, message, version })}}`;
  }
  switch (result.kind) {
    case 'object':
      return `{"ok":true,"key":${keyJson(result.key)},"version":${result.version},"attributes":${result.attributesJson}}`;
    case 'written': {
      let out = `{"ok":true,"key":${keyJson(result.key)},"version":${result.version},"created":${result.created}`;
      if (result.attributesJson !== undefined) out += `,"attributes":${result.attributesJson}`;
      if (result.previous !== undefined) out += `,"previous":${result.previous ? storedJson(result.previous) : 'null'}`;
      return `${out}}`;
    }
    case 'deleted':
      return `{"ok":true,"key":${keyJson(result.key)},"version":${result.version}${result.previous ? `,"previous":${storedJson(result.previous)}` : ''}}`;
    case 'space':
      return `{"ok":true,"space":${stringifyJson(schemaToJson(result.schema))}}`;
    case 'spaces':
      return `{"ok":true,"spaces":${stringifyJson(result.spaces.map(schemaToJson))}}`;
    case 'space_removed':
      return `{"ok":true,"space":${JSON.stringify(result.space)},"removed":true}`;
  }
}
