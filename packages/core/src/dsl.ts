/**
 * The HyperDex space DSL (docs/architecture.md §2), and the schema rules that it shares with the JSON form.
 *
 *     schema    := 'space' name 'key' [keytype] name [('attributes'|'attribute') attribute (',' attribute)*] clause*
 *     attribute := type name | name                 (an untyped attribute is a string, as in HyperDex)
 *     name      := word | '`' word '`'              (a keyword or type word names something only in backquotes)
 *     clause    := 'ttl' seconds | index name (',' name)*
 *                | 'subspace' name (',' name)* | 'create' N ('partitions'|'partition')
 *                | 'tolerate' N ('failures'|'failure') | 'with' 'authorization'
 *     index     := 'index' | 'primary_index' | 'secondary_index'
 *
 * This is HyperDex's whole grammar (every version's keywords, singular and plural), so a HyperDex
 * schema file loads unchanged; a key may be any type HyperDex can hash that spacekv stores (string,
 * int, timestamp). Types are read by `type-grammar.ts`. Index clauses may appear several times
 * (`index last index age` equals `index last, age`); each names attributes or document paths
 * (`info.name`) that get a secondary index of their own. `subspace`, `create`, `tolerate` and `with
 * authorization` shape HyperDex's partitioning, replication and macaroons: spacekv has none of
 * those, so they are accepted, checked, and ignored with a warning that the add_space reply carries.
 * `ttl` and `create`/`tolerate` may appear once each, in any order. `//` and `#` start a comment.
 * Keywords are case-sensitive. A word of the grammar (a keyword such as `key` or `attributes`, or a
 * type word such as `string`) is never read as a name, so that a forgotten name is reported rather
 * than filled in with the next keyword: to name something with one, quote it in backquotes
 * (`` space s key `key` attributes int `string` ``), as `schemaToDsl` prints it.
 */
import { isSystemSpace } from './access.js';
import { fail } from './errors.js';
import type { Limits } from './limits.js';
import type { AttributeSchema, SpaceSchema } from './schema.js';
import { NAME_PATTERN, RESERVED_ATTRIBUTE_NAMES } from './schema.js';
import type { AttributeType, KeyTypeName } from './types.js';
import { KEY_TYPE_NAMES, typeToString } from './types.js';
import { isPath, splitPath } from './paths.js';
import type { Token } from './type-grammar.js';
import { ATTRIBUTE_TYPE_EXPECTED, NAME_QUOTE, TYPE_WORDS, TokenStream, caseHint, parseType, quote, tokenize } from './type-grammar.js';

/** The type grammar alone, for the JSON form and for clients that check a type string. */
export { parseTypeText } from './type-grammar.js';

// ---------------------------------------------------------------------------------------------
// Schema rules: one place for names, uniqueness and counts, used by the DSL and the JSON form.

/** A broken schema rule, without a location: each form says where (a position or an attribute). */
export interface SchemaProblem {
  readonly code: 'invalid_schema' | 'too_large';
  readonly message: string;
  readonly attribute?: string;
  readonly limit?: keyof Limits;
}

type NameRole = 'space' | 'key' | 'attribute';
const ROLE_NOUNS = { space: 'a space', key: 'the key', attribute: 'an attribute' } as const satisfies Record<NameRole, string>;

const NAME_RULE = "a name starts with a letter or '_' and holds only letters, digits and '_'";

/** `__proto__` fits NAME_PATTERN, but as a property of a plain object it would replace the prototype. */
const UNSAFE_NAMES: ReadonlySet<string> = new Set(['__proto__']);

function invalid(message: string, attribute?: string): SchemaProblem {
  return attribute === undefined ? { code: 'invalid_schema', message } : { code: 'invalid_schema', message, attribute };
}

function nameProblem(role: NameRole, name: string, limits: Limits): SchemaProblem | undefined {
  const attribute = role === 'attribute' ? name : undefined;
  if (!NAME_PATTERN.test(name)) return invalid(`${quote(name)} is not a valid ${role} name: ${NAME_RULE}`, attribute);
  if (name.length > limits.nameLengthMax) {
    const message = `the ${role} name ${quote(name)} is ${name.length} characters; the limit is ${limits.nameLengthMax}`;
    return { code: 'too_large', message, limit: 'nameLengthMax', ...(attribute === undefined ? {} : { attribute }) };
  }
  if (role === 'space' && isSystemSpace(name)) return invalid(`${quote(name)} cannot name a space: names starting '_spacekv' are the server's own`);
  if (UNSAFE_NAMES.has(name)) return invalid(`${quote(name)} cannot name ${ROLE_NOUNS[role]}: JavaScript objects give it a meaning`, attribute);
  // The key is addressed like an attribute by predicates, so the wire words are barred for it too.
  if (role !== 'space' && RESERVED_ATTRIBUTE_NAMES.has(name)) {
    return invalid(`${quote(name)} is reserved by the wire forms and cannot name ${ROLE_NOUNS[role]}`, attribute);
  }
  return undefined;
}

function isKeyTypeName(kind: string): kind is KeyTypeName {
  return (KEY_TYPE_NAMES as readonly string[]).includes(kind);
}

/** The key's type must be one a key can hold. Shared with `schema-json.ts`, not meant for other callers. */
export function keyTypeProblem(type: AttributeType): SchemaProblem | undefined {
  if (isKeyTypeName(type.kind)) return undefined;
  return invalid(`the key type must be ${KEY_TYPE_NAMES.join(', ')} (what HyperDex hashes and spacekv stores), found '${typeToString(type)}'`);
}

/**
 * Whether `name` may get a secondary index: any declared attribute but a whole document (which has
 * no order and no elements to index), or a path into a document (`info.name`, indexed by the JSON
 * scalar found there). The key needs none: it is the primary key. `find` looks a declared attribute up.
 */
export function indexProblem(
  name: string, keyName: string, find: (attribute: string) => AttributeSchema | undefined, limits: Limits,
): SchemaProblem | undefined {
  if (name === keyName) return invalid(`${quote(name)} is the key, which is always indexed`, name);
  if (isPath(name)) return pathIndexProblem(name, find, limits);
  const attribute = find(name);
  if (attribute === undefined) return invalid(`cannot index ${quote(name)}: no attribute of that name is declared`, name);
  if (attribute.type.kind === 'document') {
    return invalid(`cannot index ${quote(name)}: a whole document has no order to index (index a path into it, such as '${name}.field')`, name);
  }
  return undefined;
}

function pathIndexProblem(name: string, find: (attribute: string) => AttributeSchema | undefined, limits: Limits): SchemaProblem | undefined {
  const { attribute, path } = splitPath(name);
  const document = find(attribute);
  if (document === undefined) return invalid(`cannot index ${quote(name)}: no attribute ${quote(attribute)} is declared`, name);
  if (document.type.kind !== 'document') return invalid(`cannot index ${quote(name)}: ${quote(attribute)} is a ${typeToString(document.type)}, not a document`, name);
  if (path.some((step) => step.length === 0)) return invalid(`cannot index ${quote(name)}: the path has an empty step`, name);
  if (path.length > limits.documentPathDepthMax || name.length > limits.documentPathLengthMax) {
    const limit = path.length > limits.documentPathDepthMax ? 'documentPathDepthMax' : 'documentPathLengthMax';
    return { code: 'too_large', message: `cannot index ${quote(name)}: the path is past ${limit} (${limits[limit]})`, attribute: name, limit };
  }
  return undefined;
}

function describeTtl(seconds: unknown): string {
  return typeof seconds === 'number' || typeof seconds === 'bigint' ? String(seconds) : typeof seconds;
}

/**
 * A schema under construction. Each part is checked as it arrives and a problem is returned (not
 * thrown) so that the caller can say where it is: the DSL by position, the JSON form by attribute.
 * Parts must come in order: name, key, attributes; the ttl at any time. Used by the two schema
 * parsers only; other code receives finished `SpaceSchema`s.
 */
export class SchemaDraft {
  private readonly limits: Limits;
  private name = '';
  private key: { readonly name: string; readonly type: KeyTypeName } = { name: '', type: 'string' };
  private readonly attributes: AttributeSchema[] = [];
  private readonly attributeNames = new Set<string>();
  private ttlSeconds: number | undefined;
  private readonly indexes: string[] = [];

  constructor(limits: Limits) {
    this.limits = limits;
  }

  setName(name: string): SchemaProblem | undefined {
    this.name = name;
    return nameProblem('space', name, this.limits);
  }

  setKey(name: string, type: AttributeType): SchemaProblem | undefined {
    const problem = nameProblem('key', name, this.limits) ?? keyTypeProblem(type);
    if (problem === undefined && isKeyTypeName(type.kind)) this.key = { name, type: type.kind };
    return problem;
  }

  addAttribute(name: string, type: AttributeType): SchemaProblem | undefined {
    const problem = nameProblem('attribute', name, this.limits) ?? this.placeProblem(name);
    if (problem === undefined) {
      this.attributes.push({ name, type });
      this.attributeNames.add(name);
    }
    return problem;
  }

  private placeProblem(name: string): SchemaProblem | undefined {
    if (name === this.key.name) return invalid(`attribute ${quote(name)} has the name of the key`, name);
    if (this.attributeNames.has(name)) return invalid(`attribute ${quote(name)} is declared twice`, name);
    if (this.attributes.length >= this.limits.attributesMax) {
      const message = `a space may declare at most ${this.limits.attributesMax} attributes; ${quote(name)} is one too many`;
      return { code: 'too_large', message, attribute: name, limit: 'attributesMax' };
    }
    return undefined;
  }

  /** `seconds` is untrusted (JSON may hold anything); a valid ttl is a whole number in range. */
  setTtl(seconds: unknown): SchemaProblem | undefined {
    const n = typeof seconds === 'bigint' ? Number(seconds) : seconds;
    const max = this.limits.expireInSecondsMax;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      return invalid(`the ttl must be a whole number of seconds, at least 1; found ${describeTtl(seconds)}`);
    }
    if (n > max) return { code: 'too_large', message: `the ttl ${describeTtl(seconds)} is past the longest expiry, ${max} seconds`, limit: 'expireInSecondsMax' };
    this.ttlSeconds = n;
    return undefined;
  }

  /** Declare a secondary index on an attribute declared before. */
  addIndex(name: string): SchemaProblem | undefined {
    const problem = indexProblem(name, this.key.name, (n) => this.attributes.find((a) => a.name === n), this.limits);
    if (problem !== undefined) return problem;
    if (this.indexes.includes(name)) return invalid(`attribute ${quote(name)} is indexed twice`, name);
    this.indexes.push(name);
    return undefined;
  }

  /** Whether an attribute of that name was declared. */
  declares(name: string): boolean {
    return this.attributeNames.has(name);
  }

  build(): SpaceSchema {
    const schema: SpaceSchema = { name: this.name, key: this.key, attributes: [...this.attributes] };
    const withTtl = this.ttlSeconds === undefined ? schema : { ...schema, ttlSeconds: this.ttlSeconds };
    return this.indexes.length === 0 ? withTtl : { ...withTtl, indexes: [...this.indexes] };
  }
}

// ---------------------------------------------------------------------------------------------
// The DSL parser.

const INDEX_WORDS: ReadonlySet<string> = new Set(['index', 'primary_index', 'secondary_index']);
const CLAUSE_WORDS: ReadonlySet<string> = new Set(['ttl', ...INDEX_WORDS, 'subspace', 'create', 'tolerate', 'with']);
/** Clauses that may appear more than once. */
const REPEATABLE_CLAUSES: ReadonlySet<string> = new Set([...INDEX_WORDS, 'subspace']);
const ATTRIBUTES_WORDS: ReadonlySet<string> = new Set(['attributes', 'attribute']);

/** Words that may follow a key or an attribute. */
const SECTION_WORDS: ReadonlySet<string> = new Set([...ATTRIBUTES_WORDS, ...CLAUSE_WORDS]);
const KEYWORDS: ReadonlySet<string> = new Set(['space', 'key', 'partitions', 'partition', 'failures', 'failure', 'authorization', ...SECTION_WORDS]);
/** The words of the grammar: each names something only when quoted. */
const RESERVED_WORDS: ReadonlySet<string> = new Set([...KEYWORDS, ...TYPE_WORDS]);

/**
 * A name as the DSL writes it: quoted in backquotes when it is a word of the grammar.
 *
 * @example
 * dslName('first'); // 'first'
 * dslName('key');   // '`key`'
 */
export function dslName(name: string): string {
  return RESERVED_WORDS.has(name) ? `${NAME_QUOTE}${name}${NAME_QUOTE}` : name;
}
const CLAUSES_EXPECTED = 'a clause (ttl, index, subspace, create, tolerate, with authorization) or the end of the schema';

/** What spacekv does instead of each HyperDex clause it ignores, for the add_space reply. */
const IGNORED = {
  subspace: "'subspace' ignored: spacekv does not partition (search on any attribute; 'index' makes it fast)",
  create: "'create N partitions' ignored: spacekv does not partition",
  tolerate: "'tolerate N failures' ignored: spacekv does not replicate (durability comes from the store: SQLite's WAL or PostgreSQL)",
  with: "'with authorization' ignored: spacekv has no macaroons (the server's own tokens and scopes guard access)",
} as const;

function positionOf(token: Token): { line: number; column: number; offset: number } {
  return { line: token.line, column: token.column, offset: token.offset };
}

function blameAt(token: Token, message: string): never {
  throw fail('invalid_schema', `line ${token.line}, column ${token.column}: ${message}`, { position: positionOf(token) });
}

class DslParser {
  private readonly s: TokenStream;
  private readonly draft: SchemaDraft;
  private readonly clausesSeen = new Set<string>();
  readonly warnings: string[] = [];
  /** What the last section was, to say what may come next in an error. */
  private last: 'key' | 'attributes' | 'clause' = 'key';

  constructor(text: string, limits: Limits) {
    this.s = new TokenStream(tokenize(text), blameAt);
    this.draft = new SchemaDraft(limits);
  }

  parse(): SpaceSchema {
    this.keyword('space');
    const name = this.name('the space name');
    this.check(name, this.draft.setName(name.text));
    this.keyword('key', " and the key's name");
    this.parseKey();
    if (this.s.peek().kind === 'word' && ATTRIBUTES_WORDS.has(this.s.peek().text)) this.parseAttributes();
    this.parseClauses();
    return this.draft.build();
  }

  private check(token: Token, problem: SchemaProblem | undefined): void {
    if (problem === undefined) return;
    const { code, message, ...details } = problem;
    throw fail(code, `line ${token.line}, column ${token.column}: ${message}`, { ...details, position: positionOf(token) });
  }

  /** The keyword `word` (or one of its spellings) next. */
  private keyword(word: string | readonly string[], more = ''): Token {
    const words = typeof word === 'string' ? [word] : word;
    if (!words.some((w) => this.s.isWord(w))) this.s.expected(`'${words[0]}'${more}`, caseHint(this.s.peek(), KEYWORDS));
    return this.s.next();
  }

  /** A name: a quoted one, or a word that is not a word of the grammar (which is told how to quote it). */
  private name(what: string): Token {
    const token = this.s.peek();
    if (token.kind === 'name') return this.s.next();
    if (token.kind !== 'word') this.s.expected(what);
    if (RESERVED_WORDS.has(token.text)) {
      const role = KEYWORDS.has(token.text) ? 'keyword' : 'type word';
      blameAt(token, `expected ${what}, found the ${role} '${token.text}'; a ${role} names something only when quoted: ${dslName(token.text)}`);
    }
    return this.s.next();
  }

  /** `[type] name`: an unquoted type word always starts a type. */
  private typedName(what: string): { type: AttributeType; typeToken: Token; name: Token } {
    const typeToken = this.s.peek();
    if (typeToken.kind === 'word' && TYPE_WORDS.has(typeToken.text)) {
      const type = parseType(this.s);
      return { type, typeToken, name: this.name(`${what} after the type '${typeToString(type)}'`) };
    }
    return { type: { kind: 'string' }, typeToken, name: this.name(what) };
  }

  private parseKey(): void {
    const { type, typeToken, name } = this.typedName('the key name');
    this.check(typeToken, keyTypeProblem(type));
    this.check(name, this.draft.setKey(name.text, type));
  }

  private parseAttributes(): void {
    this.s.next();
    this.last = 'attributes';
    this.parseAttribute();
    while (this.s.isPunct(',')) {
      this.s.next();
      this.parseAttribute();
    }
  }

  private parseAttribute(): void {
    const first = this.s.peek();
    const second = this.s.peek(1);
    // `strin first`: two words where a name should end mean the first was meant as a type.
    const startsName = second.kind === 'name' || (second.kind === 'word' && !SECTION_WORDS.has(second.text));
    const mistypedType = first.kind === 'word' && !TYPE_WORDS.has(first.text) && startsName;
    if ((first.kind !== 'word' && first.kind !== 'name') || mistypedType) this.s.expected(ATTRIBUTE_TYPE_EXPECTED, caseHint(first, TYPE_WORDS));
    const { type, name } = this.typedName('an attribute name');
    this.check(name, this.draft.addAttribute(name.text, type));
  }

  private parseClauses(): void {
    for (let token = this.s.peek(); token.kind !== 'end'; token = this.s.peek()) {
      if (token.kind === 'word' && CLAUSE_WORDS.has(token.text)) this.parseClause(token);
      else if (token.kind === 'word' && ATTRIBUTES_WORDS.has(token.text)) blameAt(token, "the 'attributes' section comes once, right after the key");
      else this.s.expected(this.whatMayFollow(), caseHint(token, KEYWORDS));
    }
  }

  private whatMayFollow(): string {
    if (this.last === 'key') return `'attributes', ${CLAUSES_EXPECTED}`;
    if (this.last === 'attributes') return `',' and another attribute, ${CLAUSES_EXPECTED}`;
    return CLAUSES_EXPECTED;
  }

  private parseClause(token: Token): void {
    if (this.clausesSeen.has(token.text) && !REPEATABLE_CLAUSES.has(token.text)) blameAt(token, `the '${token.text}' clause appears twice`);
    if (token.text === 'secondary_index' && !this.clausesSeen.has('subspace')) blameAt(token, "'secondary_index' follows a 'subspace' clause (or write 'index')");
    this.clausesSeen.add(token.text);
    this.last = 'clause';
    this.s.next();
    if (INDEX_WORDS.has(token.text)) {
      this.nameList(() => this.parseIndexName());
    } else if (token.text === 'ttl') {
      const seconds = this.wholeNumber('the ttl in seconds (a whole number, at least 1)');
      this.check(seconds, this.draft.setTtl(Number(seconds.text)));
    } else if (token.text === 'subspace') {
      this.nameList(() => this.parseSubspaceName());
      this.warn(IGNORED.subspace);
    } else if (token.text === 'create') {
      const n = this.wholeNumber('the number of partitions');
      if (Number(n.text) < 1) blameAt(n, 'the number of partitions must be at least 1');
      this.keyword(['partitions', 'partition']);
      this.warn(IGNORED.create);
    } else if (token.text === 'tolerate') {
      this.wholeNumber('the number of failures to tolerate');
      this.keyword(['failures', 'failure']);
      this.warn(IGNORED.tolerate);
    } else {
      this.keyword(['authorization']);
      this.warn(IGNORED.with);
    }
  }

  private warn(warning: string): void {
    if (!this.warnings.includes(warning)) this.warnings.push(warning);
  }

  /** `name (',' name)*`, each read by `one`. */
  private nameList(one: () => void): void {
    one();
    while (this.s.isPunct(',')) {
      this.s.next();
      one();
    }
  }

  /** A subspace names declared attributes, as HyperDex checks; spacekv keeps nothing of it. */
  private parseSubspaceName(): void {
    const name = this.name('the name of an attribute of the subspace');
    if (!this.draft.declares(name.text)) blameAt(name, `the subspace names ${quote(name.text)}, which is not a declared attribute`);
  }

  private parseIndexName(): void {
    const name = this.name('the name of an attribute to index');
    this.check(name, this.draft.addIndex(name.text));
  }

  private wholeNumber(what: string): Token {
    const token = this.s.peek();
    if (token.kind !== 'word' || !/^\d+$/.test(token.text)) this.s.expected(what);
    return this.s.next();
  }
}

/**
 * Parse a space schema written in the HyperDex DSL. Throws `invalid_schema` with the position of
 * the first problem (message `line L, column C: ...`), or `too_large` past a bound of `limits`.
 *
 * @example
 * parseSchemaDsl('space friendlists key username attributes string first, set(string) friends', DEFAULT_LIMITS);
 * // { name: 'friendlists', key: { name: 'username', type: 'string' },
 * //   attributes: [{ name: 'first', type: { kind: 'string' } }, { name: 'friends', type: { kind: 'set', of: { kind: 'string' } } }] }
 */
export function parseSchemaDsl(text: string, limits: Limits): SpaceSchema {
  return parseSchemaDslWithWarnings(text, limits).schema;
}

/** {@link parseSchemaDsl}, with the warnings of the HyperDex clauses it accepted and ignored. */
export function parseSchemaDslWithWarnings(text: string, limits: Limits): { readonly schema: SpaceSchema; readonly warnings: readonly string[] } {
  if (text.length > limits.schemaLengthMax) {
    throw fail('too_large', `the schema text is ${text.length} characters; the limit is ${limits.schemaLengthMax}`, {
      limit: 'schemaLengthMax',
    });
  }
  const parser = new DslParser(text, limits);
  const schema = parser.parse();
  return { schema, warnings: parser.warnings };
}
