// Proves the JSON form of a schema (schema-json.ts) accepts exactly what the DSL accepts, under the
// same rules and limits, reporting problems by attribute; and that schemaToDsl and schemaToJson write
// canonical forms that parse back to an equal schema, names that look like keywords included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchemaDsl, parseTypeText } from '../src/dsl.js';
import { SpacekvError } from '../src/errors.js';
import { DEFAULT_LIMITS, makeLimits } from '../src/limits.js';
import type { Limits } from '../src/limits.js';
import type { SpaceSchema } from '../src/schema.js';
import { parseSchemaJson, schemaToDsl, schemaToJson } from '../src/schema-json.js';
import type { AttributeType } from '../src/types.js';

const parse = (input: unknown, limits: Limits = DEFAULT_LIMITS): SpaceSchema => parseSchemaJson(input, limits);
const dsl = (text: string): SpaceSchema => parseSchemaDsl(text, DEFAULT_LIMITS);

function errorOf(run: () => unknown): SpacekvError {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof SpacekvError, `expected a SpacekvError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected the schema to be refused');
}

/** Assert an `invalid_schema` error without a position, naming `attribute` when given. */
function assertInvalid(input: unknown, includes: string, attribute?: string): SpacekvError {
  const err = errorOf(() => parse(input));
  assert.equal(err.code, 'invalid_schema', err.message);
  assert.ok(err.message.includes(includes), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(includes)}`);
  assert.equal(err.details.position, undefined);
  assert.equal(err.details.attribute, attribute);
  return err;
}

const SEED_DSL = 'space friendlists key username attributes string first, string last, set(string) friends';

test('the seed schema in the object form equals the DSL', () => {
  const json = { name: 'friendlists', key: 'username', attributes: { first: 'string', last: 'string', friends: 'set(string)' } };
  assert.deepEqual(parse(json), dsl(SEED_DSL));
});

test('the list form, a typed key object and ttl_seconds', () => {
  const json = {
    name: 'events',
    key: { name: 'id', type: 'int' },
    attributes: [{ name: 'at', type: 'timestamp' }, { name: 'tags', type: 'map(string, int64)' }],
    ttl_seconds: 86400,
  };
  assert.deepEqual(parse(json), dsl('space events key int id attributes timestamp at, map(string, int) tags ttl 86400'));
});

test('the key: a bare name is a string key; an object defaults its type to string; int64 is int; a float key is taken', () => {
  assert.deepEqual(parse({ name: 's', key: 'k' }).key, { name: 'k', type: 'string' });
  assert.deepEqual(parse({ name: 's', key: { name: 'k' } }).key, { name: 'k', type: 'string' });
  assert.deepEqual(parse({ name: 's', key: { name: 'k', type: 'int64' } }).key, { name: 'k', type: 'int' });
  assert.deepEqual(parse({ name: 's', key: { name: 'k', type: 'float' } }).key, { name: 'k', type: 'float' });
  assertInvalid({ name: 's', key: { name: 'k', type: 'bool' } }, "the key type must be string, int, float, timestamp (what HyperDex hashes and spacekv stores), found 'bool'");
  assertInvalid({ name: 's', key: { name: 'k', type: 'strin' } }, "the key type 'strin': expected an attribute type");
  assertInvalid({ name: 's', key: { name: 'k', kind: 'int' } }, "unknown field 'kind' in the key");
  assertInvalid({ name: 's', key: 7 }, "the schema needs 'key' to be a name or");
  assertInvalid({ name: 's' }, "the schema needs a 'key'");
});

test('every type string reads as the DSL reads it, aliases made canonical', () => {
  const cases: [string, AttributeType][] = [
    ['string', { kind: 'string' }], ['int', { kind: 'int' }], ['int64', { kind: 'int' }], ['float', { kind: 'float' }],
    ['bool', { kind: 'bool' }], ['bytes', { kind: 'bytes' }], ['document', { kind: 'document' }], ['timestamp', { kind: 'timestamp' }],
    ['timestamp(week)', { kind: 'timestamp' }], ['list(bytes)', { kind: 'list', of: { kind: 'bytes' } }],
    [' set( timestamp(day) ) ', { kind: 'set', of: { kind: 'timestamp' } }],
    ['map(float,bool)', { kind: 'map', key: { kind: 'float' }, value: { kind: 'bool' } }],
  ];
  for (const [text, type] of cases) {
    assert.deepEqual(parseTypeText(text), type, text);
    assert.deepEqual(parse({ name: 's', key: 'k', attributes: { a: text } }).attributes, [{ name: 'a', type }], text);
    assert.deepEqual(dsl(`space s key k attributes ${text} a`).attributes, [{ name: 'a', type }], text);
  }
});

test('bad type strings are refused naming the attribute and the problem', () => {
  const attrs = (type: unknown): unknown => ({ name: 's', key: 'k', attributes: [{ name: 'friends', type }] });
  assertInvalid(attrs('set(strin)'), "attribute 'friends' has type 'set(strin)': expected a scalar type for the set elements", 'friends');
  assertInvalid(attrs('list(list(int))'), "found 'list'; list, set and map hold scalar types only", 'friends');
  assertInvalid(attrs('set(document)'), "found 'document'", 'friends');
  assertInvalid(attrs('map(bool, int)'), "expected a map key type (string, int, float), found 'bool'", 'friends');
  assertInvalid(attrs('set('), 'found end of input', 'friends');
  assertInvalid(attrs('string extra'), "expected the end of the type after 'string', found 'extra'", 'friends');
  assertInvalid(attrs(''), 'expected an attribute type', 'friends');
  assertInvalid(attrs(5), "attribute 'friends' needs a type string", 'friends');
  assertInvalid(attrs(undefined), "attribute 'friends' needs a type string", 'friends');
});

test('the DSL rules hold in the JSON form, with the same messages', () => {
  const cases: [string, unknown, string | undefined][] = [
    ['space s key k attributes int a, bool a', { name: 's', key: 'k', attributes: [{ name: 'a', type: 'int' }, { name: 'a', type: 'bool' }] }, 'a'],
    ['space s key k attributes int k', { name: 's', key: 'k', attributes: { k: 'int' } }, 'k'],
    ['space s key k attributes int or', { name: 's', key: 'k', attributes: { or: 'int' } }, 'or'],
    ['space s key k attributes int first-name', { name: 's', key: 'k', attributes: { 'first-name': 'int' } }, 'first-name'],
    ['space s key or', { name: 's', key: 'or' }, undefined],
    ['space my-space key k', { name: 'my-space', key: 'k' }, undefined],
  ];
  for (const [text, json, attribute] of cases) {
    const fromDsl = errorOf(() => dsl(text));
    const fromJson = assertInvalid(json, '', attribute);
    assert.ok(fromDsl.message.endsWith(`: ${fromJson.message}`), `${fromDsl.message} / ${fromJson.message}`);
  }
});

test("'__proto__' is refused even though JSON.parse makes it an own property", () => {
  const json: unknown = JSON.parse('{"name": "s", "key": "k", "attributes": {"__proto__": "int"}}');
  assertInvalid(json, "'__proto__' cannot name an attribute", '__proto__');
});

test('limits: attribute count, name length, ttl', () => {
  const limits = makeLimits({ attributesMax: 2, nameLengthMax: 5 });
  assert.equal(parse({ name: 's', key: 'k', attributes: { a: 'int', b: 'int' } }, limits).attributes.length, 2);
  const many = errorOf(() => parse({ name: 's', key: 'k', attributes: { a: 'int', b: 'int', c: 'int' } }, limits));
  assert.deepEqual([many.code, many.details.limit, many.details.attribute], ['too_large', 'attributesMax', 'c']);
  const long = errorOf(() => parse({ name: 's', key: 'k', attributes: { abcdef: 'int' } }, limits));
  assert.deepEqual([long.code, long.details.limit, long.details.attribute], ['too_large', 'nameLengthMax', 'abcdef']);
  const space = errorOf(() => parse({ name: 'abcdef', key: 'k' }, limits));
  assert.deepEqual([space.code, space.details.limit], ['too_large', 'nameLengthMax']);
  const ttl = errorOf(() => parse({ name: 's', key: 'k', ttl_seconds: 2n ** 70n }));
  assert.deepEqual([ttl.code, ttl.details.limit], ['too_large', 'expireInSecondsMax']);
});

test('the shape is checked: an object, known fields, strings where names go, a whole ttl', () => {
  assertInvalid(null, 'a schema must be a JSON object, found null');
  assertInvalid([], 'a schema must be a JSON object, found a list');
  assertInvalid('space s key k', "a schema must be a JSON object, found the string 'space s key k'");
  assertInvalid({ name: 's', key: 'k', ttl: 60 }, "unknown field 'ttl' in the schema; the fields are name, key, attributes, ttl_seconds");
  assertInvalid({ key: 'k' }, "the schema needs 'name' to be a string, found nothing");
  assertInvalid({ name: 5, key: 'k' }, "the schema needs 'name' to be a string, found the number 5");
  assertInvalid({ name: 's', key: 'k', attributes: 'string a' }, "the schema needs 'attributes' to be a list");
  assertInvalid({ name: 's', key: 'k', attributes: ['a'] }, 'attribute 1 of the list must be {"name", "type"}');
  assertInvalid({ name: 's', key: 'k', attributes: [{ name: 'a', type: 'int', index: true }] }, "unknown field 'index' in attribute 'a'", 'a');
  assertInvalid({ name: 's', key: 'k', ttl_seconds: 0 }, 'the ttl must be a whole number of seconds, at least 1; found 0');
  assertInvalid({ name: 's', key: 'k', ttl_seconds: 1.5 }, 'found 1.5');
  assertInvalid({ name: 's', key: 'k', ttl_seconds: '60' }, 'found string');
});

test('null optional fields count as absent', () => {
  assert.deepEqual(parse({ name: 's', key: 'k', attributes: null, ttl_seconds: null }), dsl('space s key k'));
});

const RICH_DSL = `space events key int64 id attributes
  string title, int64 count, float score, bool done, bytes blob, document meta, timestamp(day) at,
  list(int) ns, set(string) tags, map(int, timestamp) seen, map(float, bytes) m
  create 4 partitions ttl 600 tolerate 1 failures`;

test('schemaToDsl writes the canonical text, which parses back to an equal schema', () => {
  assert.equal(schemaToDsl(dsl(SEED_DSL)), 'space friendlists key string username attributes string first, string last, set(string) friends');
  const rich = dsl(RICH_DSL);
  assert.equal(
    schemaToDsl(rich),
    'space events key int id attributes string title, int count, float score, bool done, bytes blob, document meta, timestamp at, ' +
      'list(int) ns, set(string) tags, map(int, timestamp) seen, map(float, bytes) m ttl 600',
  );
  assert.deepEqual(dsl(schemaToDsl(rich)), rich);
  assert.equal(schemaToDsl(dsl('space rt key x')), 'space rt key string x');
});

test('schemaToJson writes the canonical JSON form, which parses back to an equal schema', () => {
  assert.deepEqual(schemaToJson(dsl(`${SEED_DSL} ttl 30`)), {
    name: 'friendlists',
    key: { name: 'username', type: 'string' },
    attributes: [
      { name: 'first', type: 'string' },
      { name: 'last', type: 'string' },
      { name: 'friends', type: 'set(string)' },
    ],
    ttl_seconds: 30,
  });
  const rich = dsl(RICH_DSL);
  assert.deepEqual(parse(schemaToJson(rich)), rich);
  assert.deepEqual(parse(JSON.parse(JSON.stringify(schemaToJson(rich)))), rich);
  assert.ok(!('ttl_seconds' in schemaToJson(dsl(SEED_DSL))));
});

// Names drawn from words the DSL gives a meaning to, to show the canonical text is never ambiguous.
const NAMES = ['space', 'key', 'attributes', 'attribute', 'ttl', 'create', 'tolerate', 'partitions', 'partition', 'failures', 'failure',
  'subspace', 'index', 'primary_index', 'secondary_index', 'with', 'authorization',
  'string', 'int', 'int64', 'float', 'bool', 'bytes', 'timestamp', 'list', 'set', 'map', 'document', 'a', '_b9'];
const TYPES = ['string', 'int', 'float', 'bool', 'bytes', 'document', 'timestamp', 'list(float)', 'set(bytes)', 'map(int, string)'];

/** A small seeded generator (mulberry32) so that a failure can be replayed from its seed. */
function random(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

function randomSchema(pick: (n: number) => number): SpaceSchema {
  const names = [...NAMES];
  for (let i = names.length - 1; i > 0; i -= 1) {
    const j = pick(i + 1);
    [names[i], names[j]] = [names[j] as string, names[i] as string];
  }
  const [name = 's', keyName = 'k', ...rest] = names;
  const attributes = rest.slice(0, pick(rest.length + 1)).map((n) => ({ name: n, type: parseTypeText(TYPES[pick(TYPES.length)] ?? 'string') }));
  const indexes = attributes.filter((a) => a.type.kind !== 'document' && pick(2) === 0).map((a) => a.name);
  const keyed: SpaceSchema = { name, key: { name: keyName, type: pick(2) === 0 ? 'string' : 'int' }, attributes };
  const schema = indexes.length === 0 ? keyed : { ...keyed, indexes };
  return pick(2) === 0 ? schema : { ...schema, ttlSeconds: 1 + pick(100_000) };
}

test('random schemas with keyword names (quoted in the DSL) and indexes on them round-trip through both canonical forms', () => {
  const seed = Number(process.env['SCHEMA_SEED'] ?? Date.now() % 1_000_000);
  const pick = random(seed);
  for (let i = 0; i < 300; i += 1) {
    const schema = randomSchema(pick);
    const text = schemaToDsl(schema);
    assert.deepEqual(dsl(text), schema, `seed ${seed}, case ${i}: ${text}`);
    assert.deepEqual(parse(schemaToJson(schema)), schema, `seed ${seed}, case ${i}: JSON form`);
  }
});
