/**
 * Search, count, sorted search, list and the group operations: their wire forms parsed and
 * validated against a space (docs/architecture.md §3), and the opaque cursors of paged results.
 *
 * Wire forms (the condition is named `where`; see predicates.ts for its form):
 *   {"op": "search", "space", "where"?, "select"?, "limit"?, "cursor"?, "explain"?}
 *   {"op": "sorted_search", "space", "where"?, "sort_by", "order"?: "asc"|"desc", "limit"?, "select"?, "explain"?}
 *   {"op": "count", "space", "where"?, "explain"?}
 *   {"op": "list", "space", "start"?, "end"?, "prefix"?, "reverse"?, "limit"?, "cursor"?, "select"?}
 *   {"op": "group_del", "space", "where"?}    {"op": "group_mutate", "space", "where"?, "mutations"}
 *   {"op": "add_index", "space", "attribute"}    {"op": "rm_index", "space", "attribute"}
 *
 * Order: search and list return objects in key order (string keys by Unicode code point, which is
 * UTF-8 byte order; int keys by value), so a cursor is just the last key returned, and paging under
 * concurrent writes never returns a key twice and never skips an object that existed (and matched)
 * for the whole paging. A `limit` is a whole number from 1 to `searchPageObjectsMax` (default 100).
 */
import { fail } from './errors.js';
import type { Fields, SpaceLookup } from './fields.js';
import { parseSelect, parseSpaceName, requireSpace } from './fields.js';
import { indexProblem } from './dsl.js';
import type { Limits } from './limits.js';
import { parseMutations } from './mutations.js';
import type {
  AddIndexOp, CountOp, GroupOp, KeyRange, ListOp, RmIndexOp, SearchOp, SortedSearchOp,
} from './operations.js';
import { parseCondition } from './predicates.js';
import type { Space } from './schema.js';
import type { Key } from './types.js';
import { coerceKey } from './values.js';
import { resolveName } from './paths.js';

/** The page size of a search or list that names no limit. */
export const DEFAULT_SEARCH_LIMIT = 100;

const SORTABLE_KINDS: ReadonlySet<string> = new Set(['string', 'int', 'float', 'bool', 'timestamp', 'bytes']);

/** Order of keys in search and list results: code points for strings (UTF-8 byte order), value for ints. */
export function compareKeys(a: Key, b: Key): number {
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  const x = a as number | bigint;
  const y = b as number | bigint;
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xd800-0xdfff) encodes a code point above every BMP character.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------
// Cursors: base64url of `{"o": <op>, "s": <space>, "i": <incarnation>, "k": <key>}`; an int key
// travels as a string. The incarnation (the seq that created the space, DESIGN §2) ties a cursor to
// the space it paged: a new space of the same name refuses it.

interface CursorBody {
  readonly o: string;
  readonly s: string;
  readonly i: number;
  readonly k: string;
}

/** The space a cursor pages: its name and incarnation. */
export interface CursorSpace {
  readonly name: string;
  readonly createdSeq: number;
}

function toBase64Url(text: string): string {
  const ascii = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return btoa(ascii).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The cursor that resumes `op` on `space` (this incarnation of it) after `key`. */
export function encodeCursor(op: 'search' | 'list', space: CursorSpace, key: Key): string {
  return toBase64Url(JSON.stringify({ o: op, s: space.name, i: space.createdSeq, k: String(key) } satisfies CursorBody));
}

function badCursor(why: string): never {
  throw fail('invalid_cursor', `the cursor is not valid here: ${why}`);
}

/** The key a cursor resumes after; throws `invalid_cursor` unless `encodeCursor(op, space, key)` made it. */
export function decodeCursor(input: unknown, op: 'search' | 'list', space: Space, limits: Limits): Key {
  if (typeof input !== 'string' || !/^[A-Za-z0-9_-]+$/.test(input) || input.length > 4 * limits.keyBytesMax + 256) {
    return badCursor('a cursor is a non-empty base64url string handed out with a page');
  }
  let body: unknown;
  try {
    body = JSON.parse(atob(input.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return badCursor('it does not decode');
  }
  const { o, s, i, k } = (body ?? {}) as Partial<CursorBody>;
  if (typeof o !== 'string' || typeof s !== 'string' || typeof i !== 'number' || typeof k !== 'string') return badCursor('it does not decode');
  if (o !== op || s !== space.name) return badCursor(`it was handed out by ${o} on space '${s}'`);
  if (i !== space.createdSeq) return badCursor(`it was handed out by an earlier space named '${s}', since removed`);
  try {
    return coerceKey(space.schema.key.type, k, limits);
  } catch {
    return badCursor('its key does not fit the space');
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** A limit from the wire: absent → the default page; else a whole number in [1, searchPageObjectsMax]. */
export function parseLimit(input: unknown, limits: Limits): number {
  if (input === undefined) return Math.min(DEFAULT_SEARCH_LIMIT, limits.searchPageObjectsMax);
  const n = typeof input === 'string' && /^\d+$/.test(input) ? Number(input) : input;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > limits.searchPageObjectsMax) {
    throw fail('invalid_limit', `limit must be a whole number from 1 to ${limits.searchPageObjectsMax}, got ${JSON.stringify(String(input))}`, {
      limit: 'searchPageObjectsMax',
    });
  }
  return n;
}

function parseFlag(name: string, input: unknown): boolean {
  if (input === undefined) return false;
  if (typeof input !== 'boolean') throw fail('bad_request', `'${name}' must be true or false`);
  return input;
}

function optionalSelect(input: unknown, space: Space, limits: Limits): { readonly select?: readonly string[] } {
  return input === undefined ? {} : { select: parseSelect(input, space, limits) };
}

function explainField(input: unknown): { readonly explain?: boolean } {
  return parseFlag('explain', input) ? { explain: true } : {};
}

/** An attribute with an order, or a document path (whose values order by compareSortValues). */
function parseSortBy(input: unknown, space: Space, limits: Limits): string {
  if (typeof input !== 'string') throw fail('bad_request', "sorted_search needs 'sort_by': the name of an attribute");
  const { attribute, path } = resolveName(input, space, limits);
  if (path.length === 0 && !SORTABLE_KINDS.has(attribute.type.kind)) {
    throw fail('invalid_predicate', `cannot sort by '${input}': its type has no order (sort by a string, int, float, bool, timestamp or bytes)`, { attribute: input });
  }
  return input;
}

function parseOrder(input: unknown): boolean {
  if (input === undefined || input === 'asc') return false;
  if (input === 'desc') return true;
  throw fail('bad_request', "'order' must be \"asc\" or \"desc\"");
}

function parseKeyRange(input: Fields, space: Space, limits: Limits): KeyRange {
  const keyType = space.schema.key.type;
  const bound = (name: 'start' | 'end') => (input[name] === undefined ? {} : { [name]: coerceKey(keyType, input[name], limits) });
  if (input.prefix !== undefined) {
    if (keyType !== 'string') throw fail('bad_request', `'prefix' lists string keys; space '${space.name}' has ${keyType} keys (use start and end)`);
    if (typeof input.prefix !== 'string') throw fail('bad_request', "'prefix' must be a string");
  }
  return { ...bound('start'), ...bound('end'), ...(input.prefix === undefined ? {} : { prefix: input.prefix as string }) };
}

type SearchFamilyOp = SearchOp | SortedSearchOp | CountOp | ListOp | GroupOp | AddIndexOp | RmIndexOp;

/** Parse one of the operations of this module (by `op`), validated against its space. */
export function parseSearchOperation(op: string, input: Fields, lookup: SpaceLookup, limits: Limits): SearchFamilyOp {
  const space = requireSpace(lookup, parseSpaceName(input.space));
  const name = space.name;
  const condition = () => parseCondition(input.where ?? {}, space, limits);
  switch (op) {
    case 'search':
      return {
        op, space: name, condition: condition(), limit: parseLimit(input.limit, limits),
        ...(input.cursor === undefined ? {} : { after: decodeCursor(input.cursor, 'search', space, limits) }),
        ...optionalSelect(input.select, space, limits), ...explainField(input.explain),
      };
    case 'sorted_search':
      return {
        op, space: name, condition: condition(), sortBy: parseSortBy(input.sort_by, space, limits), descending: parseOrder(input.order),
        limit: parseLimit(input.limit, limits), ...optionalSelect(input.select, space, limits), ...explainField(input.explain),
      };
    case 'count':
      return { op, space: name, condition: condition(), ...explainField(input.explain) };
    case 'list':
      return {
        op, space: name, range: parseKeyRange(input, space, limits), reverse: parseFlag('reverse', input.reverse), limit: parseLimit(input.limit, limits),
        ...(input.cursor === undefined ? {} : { after: decodeCursor(input.cursor, 'list', space, limits) }),
        ...optionalSelect(input.select, space, limits),
      };
    case 'group_del':
      return { op, space: name, condition: condition() };
    case 'group_mutate':
      return { op, space: name, condition: condition(), mutations: parseMutations(input.mutations, space, limits) };
    case 'add_index':
      return { op, space: name, attribute: parseIndexAttribute(input.attribute, space, limits) };
    case 'rm_index':
      if (typeof input.attribute !== 'string') throw fail('bad_request', "rm_index needs 'attribute': the indexed attribute (or document path)");
      return { op, space: name, attribute: input.attribute };
    default:
      throw fail('bad_request', `unknown operation '${op}'`);
  }
}

function parseIndexAttribute(input: unknown, space: Space, limits: Limits): string {
  if (typeof input !== 'string') throw fail('bad_request', "add_index needs 'attribute': the name of the attribute (or document path) to index");
  // An undeclared attribute, or a path that cannot be, fails as it would anywhere else.
  if (input !== space.schema.key.name) resolveName(input, space, limits);
  const problem = indexProblem(input, space.schema.key.name, (name) => space.attribute(name), limits);
  if (problem) throw fail(problem.code, problem.message, { attribute: input });
  return input;
}
