/**
 * The planner: how a store finds the candidates of a search. Pure, so every store plans alike and
 * `explain` says the same on each.
 *
 * A plan names at most one index range (byte bounds over index-key.ts encodings of one indexed
 * attribute) and always carries the whole condition: the store selects candidates from the range
 * (or from every object, in key order) and then keeps only the objects for which core's
 * `evaluateCondition` holds. So an index can make a search faster but never change its answer.
 *
 * Choice: an `eq` or a collection `contains` on an indexed attribute first (one index value), then
 * a range or `prefix` on an indexed ordered attribute; else a scan. `exact` says that the index
 * range alone decides the condition, so a count can be answered from the index without reading
 * objects.
 */
import type { IndexKey } from './index-key.js';
import {
  PATH_TAG, compareIndexKeys, elementIndexKey, pathIndexKey, pathPrefixIndexKey, prefixIndexKey, prefixSuccessor, scalarIndexKey,
} from './index-key.js';
import type { AttributePredicate, Condition, KeyRange, PlanSummary } from './operations.js';
import type { Space } from './schema.js';
import type { AttributeType, Key, ScalarType, Value } from './types.js';

export interface IndexBound {
  readonly key: IndexKey;
  readonly inclusive: boolean;
}

/** Index entries of `attribute` between `lower` and `upper` (either may be open). */
export interface IndexRange {
  readonly attribute: string;
  readonly lower?: IndexBound;
  readonly upper?: IndexBound;
}

/** The candidate selection of a search. */
export interface Access {
  readonly index?: IndexRange;
  /** True when the index range alone decides the whole condition. */
  readonly exact: boolean;
}

/**
 * What a store runs for one page of a search, a sorted search, a count or a list. Store-neutral:
 * plain data, no driver types (see store.ts).
 */
export interface SearchPlan {
  readonly space: string;
  /** The incarnation the request was validated against; a store refuses a plan for another (`unknown_space`). */
  readonly spaceCreatedSeq: number;
  readonly access: Access;
  /** Evaluated by the store on every candidate (core's evaluateCondition). */
  readonly condition: Condition;
  /** Key bounds and the resume point; all optional. */
  readonly keys: KeyRange & { readonly after?: Key };
  /** Key order (optionally reversed) or the order of an attribute, then key, both reversed when descending. */
  readonly order: { readonly by: 'key'; readonly reverse: boolean } | { readonly by: 'attribute'; readonly attribute: string; readonly descending: boolean };
  /** Objects to return at most. */
  readonly limit: number;
  /**
   * Rows to examine at most before answering a partial page (key order only): rows the store tests
   * against the condition itself; rows its query language rules out first (an SQL prefilter) do not
   * count.
   */
  readonly rowsMax: number;
  readonly select?: readonly string[];
  /** The clock against which objects expire. */
  readonly nowMs: number;
}

/** One page of a plan's results, from a store. */
export interface SearchPage {
  readonly objects: readonly { readonly key: Key; readonly version: number; readonly attributesJson: string }[];
  /** More may follow after this key (key order only); null when the plan's range is exhausted. */
  readonly resumeAfter: Key | null;
}

/** A page as a reply carries it: its objects already written as the wire's JSON array (wire.ts `encodeSearchPage`). */
export interface EncodedSearchPage {
  readonly objectsJson: string;
  readonly resumeAfter: Key | null;
}

const RANGE_OPS: ReadonlySet<string> = new Set(['lt', 'lte', 'gt', 'gte', 'prefix']);

function indexedType(space: Space, predicate: AttributePredicate): AttributeType | undefined {
  if (!space.isIndexed(predicate.attribute) || predicate.path) return undefined;
  return space.attribute(predicate.attribute)?.type;
}

/** An indexed document path: entries are tagged JSON scalars (index-key.ts), so only scalar operands can use them. */
function isIndexedPath(space: Space, predicate: AttributePredicate): boolean {
  return predicate.path === true && space.isIndexed(predicate.attribute);
}

function pointAccess(space: Space, predicate: AttributePredicate): IndexRange | undefined {
  if (isIndexedPath(space, predicate)) {
    const key = predicate.op === 'eq' ? pathIndexKey(predicate.operand) : undefined;
    return key && { attribute: predicate.attribute, lower: { key, inclusive: true }, upper: { key, inclusive: true } };
  }
  const type = indexedType(space, predicate);
  if (!type) return undefined;
  let key: IndexKey | undefined;
  if (predicate.op === 'eq' && type.kind !== 'list' && type.kind !== 'set' && type.kind !== 'map' && type.kind !== 'document') {
    key = scalarIndexKey(type as ScalarType, predicate.operand);
  } else if (predicate.op === 'contains' && (type.kind === 'list' || type.kind === 'set' || type.kind === 'map')) {
    key = elementIndexKey(type, predicate.operand);
  }
  return key && { attribute: predicate.attribute, lower: { key, inclusive: true }, upper: { key, inclusive: true } };
}

function tighter(a: IndexBound | undefined, b: IndexBound, lower: boolean): IndexBound {
  if (!a) return b;
  const order = compareIndexKeys(a.key, b.key);
  if (order === 0) return a.inclusive ? b : a;
  return (order > 0) === lower ? a : b;
}

/** The bytes of a range operand: by the attribute's type, or tagged by its JSON kind on a document path. */
function operandKey(type: ScalarType | undefined, operand: Value): IndexKey {
  return type ? scalarIndexKey(type, operand) : (pathIndexKey(operand) as IndexKey);
}

/** On a path, a range stays within the entries of its operand's kind (numbers or strings). */
function kindBounds(operand: Value): { lower: IndexBound; upper: IndexBound } {
  const tag = typeof operand === 'string' ? PATH_TAG.string : PATH_TAG.number;
  return { lower: { key: Uint8Array.of(tag), inclusive: true }, upper: { key: Uint8Array.of(tag + 1), inclusive: false } };
}

/** Every range/prefix predicate on `attribute` (or a document path), folded into one byte range. */
function rangeAccess(space: Space, attribute: string, predicates: readonly AttributePredicate[]): IndexRange {
  const type = space.attribute(attribute)?.type as ScalarType | undefined;
  let lower: IndexBound | undefined;
  let upper: IndexBound | undefined;
  for (const p of predicates) {
    if (!type) {
      const bounds = kindBounds(p.op === 'prefix' ? '' : p.operand);
      lower = tighter(lower, bounds.lower, true);
      upper = tighter(upper, bounds.upper, false);
    }
    if (p.op === 'prefix') {
      const key = type ? prefixIndexKey(p.operand as string) : pathPrefixIndexKey(p.operand as string);
      lower = tighter(lower, { key, inclusive: true }, true);
      const next = prefixSuccessor(key);
      if (next) upper = tighter(upper, { key: next, inclusive: false }, false);
      continue;
    }
    const key = operandKey(type, p.operand);
    // A path's ints past 2^53 share float bytes with their neighbours: its bounds stay inclusive.
    if (p.op === 'gt' || p.op === 'gte') lower = tighter(lower, { key, inclusive: p.op === 'gte' || !type }, true);
    else upper = tighter(upper, { key, inclusive: p.op === 'lte' || !type }, false);
  }
  return { attribute, ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) };
}

/** Choose the candidate selection for `condition` on `space` (its complete indexes only). */
export function chooseAccess(space: Space, condition: Condition): Access {
  const predicates = condition.filter((c): c is AttributePredicate => c.kind === 'attr');
  const exactFor = (n: number) => n === condition.length;
  for (const p of predicates) {
    const index = pointAccess(space, p);
    if (index) return { index, exact: !p.path && exactFor(1) };
  }
  for (const p of predicates) {
    if (!RANGE_OPS.has(p.op) || (!indexedType(space, p) && !isIndexedPath(space, p))) continue;
    const same = predicates.filter((q) => q.attribute === p.attribute && RANGE_OPS.has(q.op));
    // A path's entries hold floats (an int past 2^53 shares its bytes with a neighbour): never exact.
    return { index: rangeAccess(space, p.attribute, same), exact: !p.path && exactFor(same.length) };
  }
  return { exact: false };
}

/** What `explain` says about an access. */
export function summarize(access: Access, counted = false): PlanSummary {
  if (!access.index) return { kind: 'scan' };
  return counted ? { kind: 'index', attribute: access.index.attribute, countedFromIndex: true } : { kind: 'index', attribute: access.index.attribute };
}
