/**
 * The lexer and the attribute-type grammar shared by the schema DSL (`dsl.ts`) and the JSON form
 * (`schema-json.ts`), so that `set(string)` is read by one piece of code whichever form holds it.
 *
 * Grammar (HyperDex spelling; `int64` is an alias of `int`, a timestamp unit is accepted and dropped):
 *
 *     type    := scalar | 'document' | 'list' '(' scalar ')' | 'set' '(' scalar ')'
 *              | 'map' '(' mapkey ',' scalar ')'
 *     scalar  := 'string' | 'int' | 'int64' | 'float' | 'bool' | 'bytes' | timestamp
 *     timestamp := 'timestamp' [ '(' ('second'|'minute'|'hour'|'day'|'week'|'month') ')' ]
 *     mapkey  := 'string' | 'int' | 'int64' | 'float'
 */
import { fail } from './errors.js';
import type { AttributeType, MapKeyTypeName, ScalarType } from './types.js';
import { MAP_KEY_TYPE_NAMES, SCALAR_TYPE_NAMES, isScalarTypeName, typeToString } from './types.js';

export interface Token {
  /** `name` is a name in backquotes (`` `key` ``): never a keyword or a type, and `text` is what is inside. */
  readonly kind: 'word' | 'name' | 'punct' | 'end';
  readonly text: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units like `offset`. */
  readonly column: number;
  /** 0-based index into the source text. */
  readonly offset: number;
}

/** Reports a problem at a token; never returns. Each form decides how a position is shown. */
export type Blame = (token: Token, message: string) => never;

const PUNCTUATION = '(),';
/** Quotes a name, so that a word of the grammar (`key`, `attributes`, `string`) can name something. */
export const NAME_QUOTE = '`';

/** Every word that starts a type; the DSL uses it to tell `[type] name` apart from `name`. */
export const TYPE_WORDS: ReadonlySet<string> = new Set([...SCALAR_TYPE_NAMES, 'int64', 'document', 'list', 'set', 'map']);

const TIMESTAMP_UNITS: ReadonlySet<string> = new Set(['second', 'minute', 'hour', 'day', 'week', 'month']);
const QUOTE_LENGTH_MAX = 40;

export const ATTRIBUTE_TYPE_EXPECTED =
  'an attribute type (string, int, float, bool, bytes, document, timestamp, list(T), set(T), map(K, V))';
const SCALAR_TYPE_LIST = 'string, int, float, bool, bytes, timestamp';

/** `'text'` for messages, cut short so that a huge bad token cannot make a huge error. */
export function quote(text: string): string {
  return text.length > QUOTE_LENGTH_MAX ? `'${text.slice(0, QUOTE_LENGTH_MAX)}…'` : `'${text}'`;
}

export function describeToken(token: Token): string {
  if (token.kind === 'end') return 'end of input';
  if (token.kind === 'name') return `the quoted name ${NAME_QUOTE}${token.text.slice(0, QUOTE_LENGTH_MAX)}${NAME_QUOTE}`;
  if (token.text === NAME_QUOTE) return `'${NAME_QUOTE}' with no closing '${NAME_QUOTE}' on its line`;
  return quote(token.text);
}

/** A hint for `Space` or `STRING`: keywords and type names are case-sensitive. */
export function caseHint(token: Token, words: ReadonlySet<string>): string {
  const lower = token.text.toLowerCase();
  return token.kind === 'word' && lower !== token.text && words.has(lower) ? ' (keywords and types are lower-case)' : '';
}

/** `//` (spacekv's) and `#` (HyperDex's) start a comment to the end of the line. */
function startsComment(text: string, i: number): boolean {
  return text.startsWith('//', i) || text.charAt(i) === '#';
}

function isWordChar(text: string, i: number): boolean {
  const c = text.charAt(i);
  return !/\s/.test(c) && !PUNCTUATION.includes(c) && c !== NAME_QUOTE && !startsComment(text, i);
}

/** Where the quoted name opened at `start` closes, or -1 if its line holds no closing quote. */
function closingQuote(text: string, start: number): number {
  const close = text.indexOf(NAME_QUOTE, start + 1);
  const lineEnd = text.indexOf('\n', start);
  return close === -1 || (lineEnd !== -1 && lineEnd < close) ? -1 : close;
}

/**
 * Split text into words, quoted names, punctuation and a final `end` token; `//` starts a comment
 * to the end of the line, and so does `#` (HyperDex's comments). A word is any run of characters
 * other than whitespace and punctuation (not only an identifier), so that `first-name` is reported
 * whole as a bad name rather than as a stray '-'. A backquote with no closing one on its line is
 * left as a punctuation token, which no grammar expects, so the parser reports it where it stands.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const token = (kind: Token['kind'], start: number): Token => ({
    kind,
    text: text.slice(start, i),
    line,
    column: start - lineStart + 1,
    offset: start,
  });
  while (i < text.length) {
    const c = text.charAt(i);
    const start = i;
    if (c === '\n') {
      i += 1;
      line += 1;
      lineStart = i;
    } else if (/\s/.test(c)) i += 1;
    else if (startsComment(text, i)) i = text.includes('\n', i) ? text.indexOf('\n', i) : text.length;
    else if (PUNCTUATION.includes(c)) {
      i += 1;
      tokens.push(token('punct', start));
    } else if (c === NAME_QUOTE) {
      const close = closingQuote(text, start);
      i = close === -1 ? start + 1 : close + 1;
      tokens.push(close === -1 ? token('punct', start) : { ...token('name', start), text: text.slice(start + 1, close) });
    } else {
      while (i < text.length && isWordChar(text, i)) i += 1;
      tokens.push(token('word', start));
    }
  }
  tokens.push(token('end', i));
  return tokens;
}

/** A cursor over tokens with the expectation helpers both grammars use. */
export class TokenStream {
  private index = 0;
  private readonly tokens: readonly Token[];
  readonly blame: Blame;

  constructor(tokens: readonly Token[], blame: Blame) {
    if (tokens.at(-1)?.kind !== 'end') throw new Error('internal: a token list must close with an end token');
    this.tokens = tokens;
    this.blame = blame;
  }

  peek(ahead = 0): Token {
    const last = this.tokens.length - 1;
    return this.tokens[Math.min(this.index + ahead, last)] as Token;
  }

  next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index += 1;
    return token;
  }

  isWord(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'word' && token.text === text;
  }

  isPunct(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'punct' && token.text === text;
  }

  /** Throw "expected <what>, found <next token><note>" at the next token. */
  expected(what: string, note = ''): never {
    const token = this.peek();
    return this.blame(token, `expected ${what}, found ${describeToken(token)}${note}`);
  }

  expectPunct(text: string, what: string): Token {
    if (!this.isPunct(text)) this.expected(what);
    return this.next();
  }
}

/** `int64` is HyperDex's spelling of our `int`. */
function canonicalTypeWord(word: string): string {
  return word === 'int64' ? 'int' : word;
}

/** A scalar type if one comes next (consumed), else undefined (nothing consumed). */
function parseScalar(s: TokenStream): ScalarType | undefined {
  const token = s.peek();
  const word = canonicalTypeWord(token.text);
  if (token.kind !== 'word' || !isScalarTypeName(word)) return undefined;
  s.next();
  if (word === 'timestamp' && s.isPunct('(')) parseTimestampUnit(s);
  return { kind: word };
}

/** HyperDex's `timestamp(day)` only chose a partitioning granularity; one node has no use for it. */
function parseTimestampUnit(s: TokenStream): void {
  s.next();
  const unit = s.peek();
  if (unit.kind !== 'word' || !TIMESTAMP_UNITS.has(unit.text)) s.expected('a timestamp unit (second, minute, hour, day, week, month)');
  s.next();
  s.expectPunct(')', "')' after the timestamp unit");
}

function expectScalar(s: TokenStream, role: string): ScalarType {
  const scalar = parseScalar(s);
  if (scalar !== undefined) return scalar;
  const token = s.peek();
  const nesting = token.kind === 'word' && TYPE_WORDS.has(token.text) ? '; list, set and map hold scalar types only' : '';
  return s.expected(`a scalar type for ${role} (${SCALAR_TYPE_LIST})`, nesting || caseHint(token, TYPE_WORDS));
}

function parseCollection(s: TokenStream, kind: 'list' | 'set'): AttributeType {
  s.next();
  s.expectPunct('(', `'(' after '${kind}'`);
  const of = expectScalar(s, `the ${kind} elements`);
  s.expectPunct(')', `')' to close '${kind}(${of.kind}'`);
  return { kind, of };
}

function isMapKeyTypeName(word: string): word is MapKeyTypeName {
  return (MAP_KEY_TYPE_NAMES as readonly string[]).includes(word);
}

function parseMap(s: TokenStream): AttributeType {
  s.next();
  s.expectPunct('(', "'(' after 'map'");
  const keyToken = s.peek();
  const keyWord = canonicalTypeWord(keyToken.text);
  if (keyToken.kind !== 'word' || !isMapKeyTypeName(keyWord)) {
    const why = TYPE_WORDS.has(keyToken.text) ? '; a map key needs an exact text form' : caseHint(keyToken, TYPE_WORDS);
    s.expected('a map key type (string, int, float)', why);
  }
  s.next();
  const key = { kind: keyWord as MapKeyTypeName };
  s.expectPunct(',', `',' between the map key and value types`);
  const value = expectScalar(s, 'the map values');
  s.expectPunct(')', `')' to close 'map(${key.kind}, ${value.kind}'`);
  return { kind: 'map', key, value };
}

/** Parse one attribute type at the cursor. */
export function parseType(s: TokenStream): AttributeType {
  const token = s.peek();
  if (token.kind === 'word') {
    if (token.text === 'document') {
      s.next();
      return { kind: 'document' };
    }
    if (token.text === 'list' || token.text === 'set') return parseCollection(s, token.text);
    if (token.text === 'map') return parseMap(s);
    const scalar = parseScalar(s);
    if (scalar !== undefined) return scalar;
  }
  return s.expected(ATTRIBUTE_TYPE_EXPECTED, caseHint(token, TYPE_WORDS));
}

/** Parse a whole text as one type; `onError` gets each problem's message and must throw. */
export function readType(text: string, onError: (message: string) => never): AttributeType {
  const s = new TokenStream(tokenize(text), (_token, message) => onError(message));
  const type = parseType(s);
  if (s.peek().kind !== 'end') s.expected(`the end of the type after '${typeToString(type)}'`);
  return type;
}

/**
 * Parse a type written on its own, as in the JSON form. Aliases come back canonical.
 * Throws `invalid_schema` naming the attribute (when given) and the problem.
 *
 * @example
 * parseTypeText('map(string, int64)'); // { kind: 'map', key: { kind: 'string' }, value: { kind: 'int' } }
 */
export function parseTypeText(text: string, attribute?: string): AttributeType {
  const subject = attribute === undefined ? `type ${quote(text)}` : `attribute ${quote(attribute)} has type ${quote(text)}`;
  return readType(text, (message) => {
    throw fail('invalid_schema', `${subject}: ${message}`, attribute === undefined ? {} : { attribute });
  });
}
