/**
 * The JSON form of a space schema, and the canonical writers of both forms.
 *
 * Read:  {"name": "friendlists",
 *         "key": "username" | {"name": "username", "type"?: "string" | "int"},
 *         "attributes"?: {"first": "string", "friends": "set(string)"} | [{"name": "first", "type": "string"}],
 *         "ttl_seconds"?: 3600, "indexes"?: ["last", "age"]}
 * Written: {"name", "key": {"name", "type"}, "attributes": [{"name", "type"}], "ttl_seconds"?, "indexes"?}
 *
 * Type strings go through the DSL's type grammar and every rule through `SchemaDraft`, so both forms
 * accept exactly the same schemas. Unknown fields are refused: a misspelt `ttl` must not vanish.
 */
import type { SchemaProblem } from './dsl.js';
import { SchemaDraft, dslName } from './dsl.js';
import { fail } from './errors.js';
import type { Limits } from './limits.js';
import type { SpaceSchema } from './schema.js';
import type { AttributeType, KeyTypeName } from './types.js';
import { typeToString } from './types.js';
import { parseTypeText, quote, readType } from './type-grammar.js';

/** The JSON form as written by {@link schemaToJson}; {@link parseSchemaJson} also takes shorthands. */
export interface SchemaJson {
  readonly name: string;
  readonly key: { readonly name: string; readonly type: KeyTypeName };
  readonly attributes: readonly { readonly name: string; readonly type: string }[];
  readonly ttl_seconds?: number;
  readonly indexes?: readonly string[];
}

type JsonObject = { readonly [field: string]: unknown };

const SCHEMA_FIELDS = ['name', 'key', 'attributes', 'ttl_seconds', 'indexes'] as const;
const KEY_FIELDS = ['name', 'type'] as const;
const ATTRIBUTE_FIELDS = ['name', 'type'] as const;

function invalid(message: string, attribute?: string): never {
  throw fail('invalid_schema', message, attribute === undefined ? {} : { attribute });
}

function check(problem: SchemaProblem | undefined): void {
  if (problem === undefined) return;
  const { code, message, ...details } = problem;
  throw fail(code, message, details);
}

function isObject(input: unknown): input is JsonObject {
  return input !== null && typeof input === 'object' && !Array.isArray(input);
}

function describe(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'string') return `the string ${quote(input)}`;
  return typeof input === 'object' ? 'an object' : `the ${typeof input} ${String(input)}`;
}

/** An own field (never one inherited from Object.prototype); null counts as absent. */
function field(object: JsonObject, name: string): unknown {
  return Object.hasOwn(object, name) ? (object[name] ?? undefined) : undefined;
}

function checkFields(object: JsonObject, allowed: readonly string[], where: string, attribute?: string): void {
  for (const name of Object.keys(object)) {
    if (!allowed.includes(name)) invalid(`unknown field ${quote(name)} in ${where}; the fields are ${allowed.join(', ')}`, attribute);
  }
}

function stringField(object: JsonObject, name: string, where: string, attribute?: string): string {
  const value = field(object, name);
  if (typeof value !== 'string') invalid(`${where} needs '${name}' to be a string, found ${describe(value)}`, attribute);
  return value;
}

function keyType(text: string): AttributeType {
  return readType(text, (message) => invalid(`the key type ${quote(text)}: ${message}`));
}

function readKey(input: unknown, draft: SchemaDraft): void {
  if (typeof input === 'string') return check(draft.setKey(input, { kind: 'string' }));
  if (!isObject(input)) return invalid(`the schema needs 'key' to be a name or {"name", "type"}, found ${describe(input)}`);
  checkFields(input, KEY_FIELDS, 'the key');
  const name = stringField(input, 'name', 'the key');
  const type = field(input, 'type') === undefined ? { kind: 'string' as const } : keyType(stringField(input, 'type', 'the key'));
  check(draft.setKey(name, type));
}

/** `[{"name", "type"}]` or `{"name": "type"}`, as `[name, type text]` pairs in declared order. */
function attributeEntries(input: unknown): (readonly [string, unknown])[] {
  if (input === undefined) return [];
  if (isObject(input)) return Object.entries(input);
  if (!Array.isArray(input)) {
    return invalid(`the schema needs 'attributes' to be a list of {"name", "type"} or an object of name: type, found ${describe(input)}`);
  }
  return input.map((item: unknown, i) => {
    const where = `attribute ${i + 1} of the list`;
    if (!isObject(item)) return invalid(`${where} must be {"name", "type"}, found ${describe(item)}`);
    const name = stringField(item, 'name', where);
    checkFields(item, ATTRIBUTE_FIELDS, `attribute ${quote(name)}`, name);
    return [name, field(item, 'type')] as const;
  });
}

function readAttributes(input: unknown, draft: SchemaDraft): void {
  for (const [name, type] of attributeEntries(input)) {
    if (typeof type !== 'string') invalid(`attribute ${quote(name)} needs a type string such as "set(string)", found ${describe(type)}`, name);
    check(draft.addAttribute(name, parseTypeText(type, name)));
  }
}

function readIndexes(input: unknown, draft: SchemaDraft): void {
  if (input === undefined) return;
  if (!Array.isArray(input)) invalid(`the schema needs 'indexes' to be a list of attribute names, found ${describe(input)}`);
  for (const name of input as unknown[]) {
    if (typeof name !== 'string') invalid(`'indexes' holds attribute names, found ${describe(name)}`);
    check(draft.addIndex(name));
  }
}

/**
 * Parse the JSON form of a space schema (already parsed from JSON text). Applies the same rules as
 * the DSL; throws `invalid_schema` (with `attribute` when one is at fault) or `too_large`.
 *
 * @example
 * parseSchemaJson({ name: 'friendlists', key: 'username', attributes: { first: 'string', friends: 'set(string)' } }, DEFAULT_LIMITS);
 * // equals parseSchemaDsl('space friendlists key username attributes string first, set(string) friends', DEFAULT_LIMITS)
 */
export function parseSchemaJson(input: unknown, limits: Limits): SpaceSchema {
  if (!isObject(input)) return invalid(`a schema must be a JSON object, found ${describe(input)}`);
  checkFields(input, SCHEMA_FIELDS, 'the schema');
  const draft = new SchemaDraft(limits);
  check(draft.setName(stringField(input, 'name', 'the schema')));
  if (field(input, 'key') === undefined) invalid("the schema needs a 'key': its name, or {\"name\", \"type\"}");
  readKey(field(input, 'key'), draft);
  readAttributes(field(input, 'attributes'), draft);
  const ttl = field(input, 'ttl_seconds');
  if (ttl !== undefined) check(draft.setTtl(ttl));
  readIndexes(field(input, 'indexes'), draft);
  return draft.build();
}

/**
 * The canonical DSL text of a schema: one line, every type written out, aliases resolved, and a
 * name that is a word of the grammar quoted (`` `key` ``). `parseSchemaDsl` reads it back to an equal schema.
 *
 * @example
 * schemaToDsl(schema); // 'space friendlists key string username attributes string first, set(string) friends ttl 60'
 */
export function schemaToDsl(schema: SpaceSchema): string {
  const parts = [`space ${dslName(schema.name)}`, `key ${schema.key.type} ${dslName(schema.key.name)}`];
  if (schema.attributes.length > 0) {
    parts.push(`attributes ${schema.attributes.map((a) => `${typeToString(a.type)} ${dslName(a.name)}`).join(', ')}`);
  }
  if (schema.ttlSeconds !== undefined) parts.push(`ttl ${schema.ttlSeconds}`);
  if (schema.indexes !== undefined && schema.indexes.length > 0) parts.push(`index ${schema.indexes.map(dslName).join(', ')}`);
  return parts.join(' ');
}

/**
 * The canonical JSON form of a schema, as the server returns it. `parseSchemaJson` reads it back.
 *
 * @example
 * schemaToJson(schema);
 * // { name: 'friendlists', key: { name: 'username', type: 'string' }, attributes: [{ name: 'friends', type: 'set(string)' }] }
 */
export function schemaToJson(schema: SpaceSchema): SchemaJson {
  const json: SchemaJson = {
    name: schema.name,
    key: { name: schema.key.name, type: schema.key.type },
    attributes: schema.attributes.map((a) => ({ name: a.name, type: typeToString(a.type) })),
  };
  const withTtl = schema.ttlSeconds === undefined ? json : { ...json, ttl_seconds: schema.ttlSeconds };
  return schema.indexes === undefined || schema.indexes.length === 0 ? withTtl : { ...withTtl, indexes: [...schema.indexes] };
}
