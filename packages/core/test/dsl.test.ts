// Proves the schema DSL parser (dsl.ts, type-grammar.ts) reads HyperDex space declarations into the
// schema they mean, accepts every attribute type with its HyperDex aliases, and refuses every
// invalid schema with the right code, the exact source position and a message naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchemaDsl, parseSchemaDslWithWarnings } from '../src/dsl.js';
import { parseSchemaJson, schemaToDsl, schemaToJson } from '../src/schema-json.js';
import { SpacekvError } from '../src/errors.js';
import { DEFAULT_LIMITS, makeLimits } from '../src/limits.js';
import type { Limits } from '../src/limits.js';
import type { SpaceSchema } from '../src/schema.js';

const parse = (text: string, limits: Limits = DEFAULT_LIMITS): SpaceSchema => parseSchemaDsl(text, limits);

function errorOf(text: string, limits: Limits = DEFAULT_LIMITS): SpacekvError {
  try {
    parse(text, limits);
  } catch (err) {
    assert.ok(err instanceof SpacekvError, `expected a SpacekvError, got ${String(err)}`);
    return err;
  }
  return assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

/** Assert an `invalid_schema` error at the given position whose message says where and `includes`. */
function assertInvalidAt(text: string, line: number, column: number, offset: number, includes: string): SpacekvError {
  const err = errorOf(text);
  assert.equal(err.code, 'invalid_schema', err.message);
  assert.deepEqual(err.details.position, { line, column, offset });
  assert.ok(err.message.startsWith(`line ${line}, column ${column}: `), err.message);
  assert.ok(err.message.includes(includes), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(includes)}`);
  // The position must point at the token the message says was found.
  const found = /, found '([^']*)'/.exec(err.message)?.[1];
  if (found !== undefined) assert.equal(text.slice(offset, offset + found.length), found);
  if (err.message.includes('found end of input')) assert.equal(text.slice(offset).trim(), '');
  return err;
}

const FRIENDLISTS: SpaceSchema = {
  name: 'friendlists',
  key: { name: 'username', type: 'string' },
  attributes: [
    { name: 'first', type: { kind: 'string' } },
    { name: 'last', type: { kind: 'string' } },
    { name: 'friends', type: { kind: 'set', of: { kind: 'string' } } },
  ],
};

test('the seed schema, as written in the HyperDex tutorial, across lines', () => {
  const seed = '\nspace friendlists\nkey username\nattributes\n   string first,\n   string last,\n   set(string) friends\n';
  assert.deepEqual(parse(seed), FRIENDLISTS);
});

test('the seed schema on one line, as in docs/architecture.md, means the same', () => {
  assert.deepEqual(parse('space friendlists key username attributes string first, string last, set(string) friends'), FRIENDLISTS);
});

test('whitespace of any kind, including none around punctuation, is free', () => {
  const text = 'space\tfriendlists\r\n\r\n  key\n username attributes string first ,string last,\n\tset ( string )friends';
  assert.deepEqual(parse(text), FRIENDLISTS);
});

test('a space may have only a key (the attributes section is optional)', () => {
  assert.deepEqual(parse('space rt key x'), { name: 'rt', key: { name: 'x', type: 'string' }, attributes: [] });
  assert.deepEqual(parse('space userlocks\nkey username\n'), { name: 'userlocks', key: { name: 'username', type: 'string' }, attributes: [] });
});

test('every attribute type, with HyperDex aliases read as their canonical type', () => {
  const text = `space all key k attributes
    string s, int i, int64 i64, float f, bool b, bytes by, document d, timestamp t,
    timestamp(second) t1, timestamp(minute) t2, timestamp(hour) t3, timestamp(day) t4, timestamp(week) t5, timestamp(month) t6,
    list(string) ls, list(int64) li, list(timestamp(day)) lt, set(float) sf, set(bool) sb, set(bytes) sby,
    map(string, int) msi, map(int64, float) mif, map(float, bytes) mfb, map(string, timestamp) mst`;
  const types = Object.fromEntries(parse(text).attributes.map((a) => [a.name, a.type]));
  const ts = { kind: 'timestamp' };
  assert.deepEqual(types, {
    s: { kind: 'string' }, i: { kind: 'int' }, i64: { kind: 'int' }, f: { kind: 'float' }, b: { kind: 'bool' },
    by: { kind: 'bytes' }, d: { kind: 'document' }, t: ts, t1: ts, t2: ts, t3: ts, t4: ts, t5: ts, t6: ts,
    ls: { kind: 'list', of: { kind: 'string' } }, li: { kind: 'list', of: { kind: 'int' } }, lt: { kind: 'list', of: ts },
    sf: { kind: 'set', of: { kind: 'float' } }, sb: { kind: 'set', of: { kind: 'bool' } }, sby: { kind: 'set', of: { kind: 'bytes' } },
    msi: { kind: 'map', key: { kind: 'string' }, value: { kind: 'int' } },
    mif: { kind: 'map', key: { kind: 'int' }, value: { kind: 'float' } },
    mfb: { kind: 'map', key: { kind: 'float' }, value: { kind: 'bytes' } },
    mst: { kind: 'map', key: { kind: 'string' }, value: ts },
  });
});

test('an attribute written without a type is a string, as in HyperDex', () => {
  const schema = parse('space phonebook key username attributes first, last, int phone');
  assert.deepEqual(schema.attributes, [
    { name: 'first', type: { kind: 'string' } },
    { name: 'last', type: { kind: 'string' } },
    { name: 'phone', type: { kind: 'int' } },
  ]);
});

test('key types: string by default, string, int and int64, float, timestamp; no other', () => {
  assert.deepEqual(parse('space s key string id').key, { name: 'id', type: 'string' });
  assert.deepEqual(parse('space s key int id').key, { name: 'id', type: 'int' });
  assert.deepEqual(parse('space s key int64 id').key, { name: 'id', type: 'int' });
  assert.deepEqual(parse('space s key float id').key, { name: 'id', type: 'float' });
  assertInvalidAt('space s key bool id', 1, 13, 12, "the key type must be string, int, float, timestamp (what HyperDex hashes and spacekv stores), found 'bool'");
  assertInvalidAt('space s key set(int) id', 1, 13, 12, "the key type must be string, int, float, timestamp (what HyperDex hashes and spacekv stores), found 'set(int)'");
});

test('nested and non-scalar element types are refused at the inner type', () => {
  assertInvalidAt('space s key k attributes list(list(int)) l', 1, 31, 30, "found 'list'; list, set and map hold scalar types only");
  assertInvalidAt('space s key k attributes set(document) d', 1, 30, 29, "expected a scalar type for the set elements");
  assertInvalidAt('space s key k attributes map(string, list(int)) m', 1, 38, 37, 'expected a scalar type for the map values');
  assertInvalidAt('space s key k attributes set(map(string, int)) m', 1, 30, 29, "found 'map'");
});

test('map keys must be string, int or float', () => {
  for (const keyType of ['bool', 'bytes', 'timestamp', 'document']) {
    const err = assertInvalidAt(`space s key k attributes map(${keyType}, int) m`, 1, 30, 29, `expected a map key type (string, int, float), found '${keyType}'`);
    assert.match(err.message, /exact text form/);
  }
  assertInvalidAt('space s key k attributes map(string int) m', 1, 37, 36, "expected ',' between the map key and value types, found 'int'");
});

test('a duplicate attribute is refused at its second declaration', () => {
  const err = assertInvalidAt('space s key k attributes string a, int b, float a', 1, 49, 48, "attribute 'a' is declared twice");
  assert.equal(err.details.attribute, 'a');
});

test('an attribute may not take the key name', () => {
  const err = assertInvalidAt('space s key username attributes string username', 1, 40, 39, "attribute 'username' has the name of the key");
  assert.equal(err.details.attribute, 'username');
});

test('reserved names cannot name an attribute or the key', () => {
  assertInvalidAt('space s key k attributes string or', 1, 33, 32, "'or' is reserved");
  assertInvalidAt('space s key or', 1, 13, 12, "'or' is reserved");
  assertInvalidAt('space s key k attributes int __proto__', 1, 30, 29, "'__proto__' cannot name an attribute");
});

test('names must be identifiers; a bad one is reported whole', () => {
  assertInvalidAt('space my-space key k', 1, 7, 6, "'my-space' is not a valid space name");
  assertInvalidAt('space s key 1abc', 1, 13, 12, "'1abc' is not a valid key name");
  assertInvalidAt('space s key k attributes string first-name', 1, 33, 32, "'first-name' is not a valid attribute name");
  assertInvalidAt('space s key k attributes string naïve', 1, 33, 32, "'naïve' is not a valid attribute name");
});

test('a missing key is named', () => {
  assertInvalidAt('space s attributes string a', 1, 9, 8, "expected 'key' and the key's name, found 'attributes'");
  assertInvalidAt('space s', 1, 8, 7, 'found end of input');
  assertInvalidAt('space s key', 1, 12, 11, 'expected the key name, found end of input');
  assertInvalidAt('', 1, 1, 0, "expected 'space', found end of input");
});

test('trailing garbage is refused with what could have come instead', () => {
  assertInvalidAt('space s key k attributes string a )', 1, 35, 34, "expected ',' and another attribute, a clause (ttl, index, subspace, create, tolerate, with authorization) or the end of the schema, found ')'");
  assertInvalidAt('space s key k extra', 1, 15, 14, "expected 'attributes', a clause (ttl, index, subspace, create, tolerate, with authorization) or the end of the schema, found 'extra'");
  assertInvalidAt('space s key k ttl 5 extra', 1, 21, 20, "expected a clause (ttl, index, subspace, create, tolerate, with authorization) or the end of the schema, found 'extra'");
  // A missing comma shows up as garbage after the first attribute.
  assertInvalidAt('space s key k attributes string a string b', 1, 35, 34, "found 'string'");
});

test('an unterminated or incomplete collection type is refused at its end', () => {
  assertInvalidAt('space s key k attributes set(', 1, 30, 29, 'expected a scalar type for the set elements (string, int, float, bool, bytes, timestamp), found end of input');
  assertInvalidAt('space s key k attributes set(string', 1, 36, 35, "expected ')' to close 'set(string', found end of input");
  assertInvalidAt('space s key k attributes set(string friends', 1, 37, 36, "expected ')' to close 'set(string', found 'friends'");
  assertInvalidAt('space s key k attributes set string', 1, 30, 29, "expected '(' after 'set', found 'string'");
  assertInvalidAt('space s key k attributes set(string)', 1, 37, 36, "expected an attribute name after the type 'set(string)', found end of input");
  assertInvalidAt('space s key k attributes', 1, 25, 24, 'expected an attribute type (');
  assertInvalidAt('space s key k attributes string a,', 1, 35, 34, 'expected an attribute type (');
  assertInvalidAt('space s key k attributes timestamp(year) t', 1, 36, 35, "expected a timestamp unit (second, minute, hour, day, week, month), found 'year'");
});

test('positions count lines and columns from 1 and offsets from 0, across LF and CRLF', () => {
  const text = 'space users\nkey id\nattributes strin first';
  const err = assertInvalidAt(text, 3, 12, 30, "found 'strin'");
  assert.equal(text.slice(30, 35), 'strin');
  assert.equal(
    err.message,
    "line 3, column 12: expected an attribute type (string, int, float, bool, bytes, document, timestamp, list(T), set(T), map(K, V)), found 'strin'",
  );
  const crlf = 'space users\r\nkey id\r\nattributes\r\n\tstring a,\r\n\tbool or';
  assertInvalidAt(crlf, 5, 7, crlf.indexOf('or'), "'or' is reserved");
});

test('keywords are case-sensitive, with a hint', () => {
  assertInvalidAt('Space s key k', 1, 1, 0, "expected 'space', found 'Space' (keywords and types are lower-case)");
  assertInvalidAt('space s key k attributes String a', 1, 26, 25, "found 'String' (keywords and types are lower-case)");
  assertInvalidAt('space s key k TTL 5', 1, 15, 14, "found 'TTL' (keywords and types are lower-case)");
});

test('limits: attribute count, name length and text length', () => {
  const limits = makeLimits({ attributesMax: 3, nameLengthMax: 8, schemaLengthMax: 60 });
  assert.equal(parse('space s key k attributes a, b, c', limits).attributes.length, 3);
  const many = errorOf('space s key k attributes a, b, c, d', limits);
  assert.equal(many.code, 'too_large');
  assert.equal(many.details.limit, 'attributesMax');
  assert.deepEqual(many.details.position, { line: 1, column: 35, offset: 34 });
  assert.match(many.message, /^line 1, column 35: a space may declare at most 3 attributes/);

  assert.equal(parse('space abcdefgh key k', limits).name, 'abcdefgh');
  const long = errorOf('space s key k attributes int abcdefghi', limits);
  assert.equal(long.code, 'too_large');
  assert.equal(long.details.limit, 'nameLengthMax');
  assert.equal(long.details.attribute, 'abcdefghi');
  assert.match(long.message, /^line 1, column 30: the attribute name 'abcdefghi' is 9 characters; the limit is 8$/);
  assert.equal(errorOf('space abcdefghi key k', limits).details.limit, 'nameLengthMax');

  const atLimit = 'space s key k' + ' '.repeat(60 - 13);
  assert.equal(parse(atLimit, limits).name, 's');
  const text = errorOf(atLimit + ' ', limits);
  assert.equal(text.code, 'too_large');
  assert.equal(text.details.limit, 'schemaLengthMax');
  assert.match(text.message, /61 characters; the limit is 60/);
});

test('the ttl clause sets ttlSeconds; create and tolerate are accepted and ignored, in any order', () => {
  const base = parse('space s key k attributes int n');
  assert.equal(base.ttlSeconds, undefined);
  assert.ok(!('ttlSeconds' in base));
  assert.deepEqual(parse('space s key k attributes int n ttl 3600'), { ...base, ttlSeconds: 3600 });
  assert.deepEqual(parse('space s key k attributes int n create 8 partitions tolerate 2 failures'), base);
  assert.deepEqual(parse('space s key k tolerate 0 failures ttl 60 create 1 partitions'), { ...parse('space s key k'), ttlSeconds: 60 });
});

test('clauses are checked: once each, whole numbers, in range', () => {
  assertInvalidAt('space s key k ttl 5 ttl 6', 1, 21, 20, "the 'ttl' clause appears twice");
  assertInvalidAt('space s key k create 1 partitions create 2 partitions', 1, 35, 34, "the 'create' clause appears twice");
  assertInvalidAt('space s key k ttl 0', 1, 19, 18, 'the ttl must be a whole number of seconds, at least 1; found 0');
  assertInvalidAt('space s key k ttl -5', 1, 19, 18, "expected the ttl in seconds (a whole number, at least 1), found '-5'");
  assertInvalidAt('space s key k ttl 1.5', 1, 19, 18, "found '1.5'");
  assertInvalidAt('space s key k ttl', 1, 18, 17, 'found end of input');
  assertInvalidAt('space s key k create 8', 1, 23, 22, "expected 'partitions', found end of input");
  assertInvalidAt('space s key k create many partitions', 1, 22, 21, "expected the number of partitions, found 'many'");
  assertInvalidAt('space s key k tolerate 2 fails', 1, 26, 25, "expected 'failures', found 'fails'");
  assertInvalidAt('space s key k create 0 partitions', 1, 22, 21, 'the number of partitions must be at least 1');
  assertInvalidAt('space s key k ttl 5 attributes int a', 1, 21, 20, "the 'attributes' section comes once, right after the key");
  const far = errorOf(`space s key k ttl ${DEFAULT_LIMITS.expireInSecondsMax + 1}`);
  assert.equal(far.code, 'too_large');
  assert.equal(far.details.limit, 'expireInSecondsMax');
  assert.equal(parse(`space s key k ttl ${DEFAULT_LIMITS.expireInSecondsMax}`).ttlSeconds, DEFAULT_LIMITS.expireInSecondsMax);
});

test("HyperDex's whole grammar loads: singular keywords, # comments, subspaces, partitions, failures, authorization, old index words", () => {
  const quickstart = 'space phonebook key username attributes first, last, int phone subspace first, last, phone create 8 partitions tolerate 2 failures';
  const { schema, warnings } = parseSchemaDslWithWarnings(quickstart, DEFAULT_LIMITS);
  assert.deepEqual(schema, parse('space phonebook key username attributes first, last, int phone'));
  assert.equal(warnings.length, 3);
  assert.ok(warnings.every((w) => / ignored: spacekv /.test(w)), warnings.join(' | '));
  const singular = parseSchemaDslWithWarnings('space kv key k attribute v # the value\ncreate 1 partition tolerate 1 failure with authorization', DEFAULT_LIMITS);
  assert.deepEqual(singular.schema, parse('space kv key k attributes v'));
  assert.deepEqual(singular.warnings.map((w) => w.split(' ignored')[0]), ["'create N partitions'", "'tolerate N failures'", "'with authorization'"]);
  const old = parseSchemaDsl('space s key k attributes a, int b, int c primary_index a subspace b secondary_index c', DEFAULT_LIMITS);
  assert.deepEqual(old.indexes, ['a', 'c']);
  assert.deepEqual(parseSchemaDslWithWarnings('space s key k attributes a', DEFAULT_LIMITS).warnings, []);
  assertInvalidAt('space s key k attributes a subspace z', 1, 37, 36, "the subspace names 'z', which is not a declared attribute");
  assertInvalidAt('space s key k attributes a secondary_index a', 1, 28, 27, "'secondary_index' follows a 'subspace' clause");
  assertInvalidAt('space s key k with authorisation', 1, 20, 19, "expected 'authorization', found 'authorisation'");
});

test('a key may be a timestamp (with or without a unit), as in HyperDex', () => {
  assert.deepEqual(parse('space events key timestamp(second) at attributes string what').key, { name: 'at', type: 'timestamp' });
  assert.deepEqual(parse('space events key timestamp at').key, { name: 'at', type: 'timestamp' });
});

test('index clauses take document paths; a path into a non-document or past the limits is refused', () => {
  assert.deepEqual(parse('space s key k attributes document info index info.name, info.a.b').indexes, ['info.name', 'info.a.b']);
  assertInvalidAt('space s key k attributes int n index n.x', 1, 38, 37, "cannot index 'n.x': 'n' is a int, not a document");
  assertInvalidAt('space s key k attributes document d index d..x', 1, 43, 42, 'the path has an empty step');
  assertInvalidAt('space s key k attributes document d index e.x', 1, 43, 42, "no attribute 'e' is declared");
  const deep = errorOf(`space s key k attributes document d index d${'.x'.repeat(DEFAULT_LIMITS.documentPathDepthMax + 1)}`);
  assert.equal(deep.code, 'too_large');
  assert.equal(deep.details.limit, 'documentPathDepthMax');
});

test('index clauses declare secondary indexes, repeatable, on declared non-document attributes', () => {
  const schema = parseSchemaDsl('space s key k attributes string a, int b, set(string) c index a, c index b', DEFAULT_LIMITS);
  assert.deepEqual(schema.indexes, ['a', 'c', 'b']);
  assert.equal(parseSchemaDsl(schemaToDsl(schema), DEFAULT_LIMITS).indexes?.join(), 'a,c,b');
  assert.deepEqual(parseSchemaJson(schemaToJson(schema), DEFAULT_LIMITS), schema);
  assertInvalidAt('space s key k attributes a index z', 1, 34, 33, "cannot index 'z': no attribute of that name is declared");
  assertInvalidAt('space s key k attributes a index k', 1, 34, 33, "'k' is the key, which is always indexed");
  assertInvalidAt('space s key k attributes document d index d', 1, 43, 42, "a whole document has no order to index (index a path into it, such as 'd.field')");
  assertInvalidAt('space s key k attributes a index a, a', 1, 37, 36, "attribute 'a' is indexed twice");
  assertInvalidAt('space s key k attributes a index', 1, 33, 32, 'expected the name of an attribute to index');
});

test('a keyword or type word names something only in backquotes', () => {
  const schema = parse('space `key` key string `attributes` attributes string `ttl`, int `string`, bool `create`, `index` index `string` ttl 5');
  assert.deepEqual(schema, {
    name: 'key',
    key: { name: 'attributes', type: 'string' },
    attributes: [
      { name: 'ttl', type: { kind: 'string' } },
      { name: 'string', type: { kind: 'int' } },
      { name: 'create', type: { kind: 'bool' } },
      { name: 'index', type: { kind: 'string' } },
    ],
    ttlSeconds: 5,
    indexes: ['string'],
  });
  // Quoting a plain name changes nothing; a quoted keyword is never read as the keyword.
  assert.deepEqual(parse('space `friendlists` key `username` attributes string `first`, string last, set(string) friends'), FRIENDLISTS);
  assertInvalidAt('space s key k `attributes` string a', 1, 15, 14, "expected 'attributes', a clause");
});

test('a keyword where a name is expected is refused, saying how to quote it', () => {
  const err = assertInvalidAt('space broken key attributes', 1, 18, 17, "expected the key name, found the keyword 'attributes'; a keyword names something only when quoted: `attributes`");
  assert.equal(err.code, 'invalid_schema');
  assertInvalidAt('space key key k', 1, 7, 6, "expected the space name, found the keyword 'key'; a keyword names something only when quoted: `key`");
  assertInvalidAt('space s key k attributes int ttl', 1, 30, 29, "found the keyword 'ttl'; a keyword names something only when quoted: `ttl`");
  assertInvalidAt('space s key k attributes int string', 1, 30, 29, "found the type word 'string'; a type word names something only when quoted: `string`");
  assertInvalidAt('space s key k attributes int a index space', 1, 38, 37, "expected the name of an attribute to index, found the keyword 'space'");
  assertInvalidAt('space s key `k attributes a', 1, 13, 12, "found '`' with no closing '`' on its line");
  assertInvalidAt('space s key `k\n` attributes a', 1, 13, 12, "found '`' with no closing '`' on its line");
  assertInvalidAt('space s key `` attributes a', 1, 13, 12, "'' is not a valid key name");
});

test('a forgotten name is reported, not filled in with the next keyword', () => {
  assertInvalidAt('space key k', 1, 7, 6, "expected the space name, found the keyword 'key'");
  assertInvalidAt('space s key string attributes string a', 1, 20, 19, "expected the key name after the type 'string', found the keyword 'attributes'");
  assertInvalidAt('space s key k attributes string ttl 5', 1, 33, 32, "expected an attribute name after the type 'string', found the keyword 'ttl'");
  assertInvalidAt('space s key k attributes string, int b', 1, 32, 31, "expected an attribute name after the type 'string', found ','");
});

test('// starts a comment to the end of the line', () => {
  const text = '// the tutorial space\nspace friendlists // one per user\nkey username\nattributes string first, // given name\nstring last, set(string) friends';
  assert.deepEqual(parse(text), FRIENDLISTS);
  assertInvalidAt('space s // key k', 1, 17, 16, 'found end of input');
});
