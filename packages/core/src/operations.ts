/**
 * The command model (docs/architecture.md §3): every front turns its input into these validated Operation
 * objects, and the engine answers each with a Result. Names follow HyperDex, in snake_case on the
 * wire and in the `op` tag; TypeScript fields are camelCase.
 *
 * A failed condition (`exists`, `not_found`, `cmp_fail`, ...) is a Result with `ok: false`, never an
 * exception; only faults throw (see errors.ts).
 */
import type { OpResultCode, TxFailure } from './errors.js';
import type { SpaceSchema } from './schema.js';
import type { Attributes, Key, Value } from './types.js';

export const PREDICATE_OPS = [
  'eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'prefix', 'regex', 'contains', 'length_eq', 'length_lte', 'length_gte',
] as const;
export type PredicateOp = (typeof PREDICATE_OPS)[number];

/** One test of one attribute (or of the key, named by the space's key name). */
export interface AttributePredicate {
  readonly kind: 'attr';
  readonly attribute: string;
  readonly op: PredicateOp;
  /** Canonical operand: the attribute's type for comparisons, a string for prefix/regex, an int for length_*. */
  readonly operand: Value;
  /** length_* on a bytes attribute counts decoded bytes, not the characters of its base64 form. */
  readonly unit?: 'bytes';
  /**
   * Set when `attribute` is a document path (`info.age`, paths.ts): the test is typed by the JSON
   * value found there, and a path that is absent or holds another type does not match.
   */
  readonly path?: true;
}

/** Any one of the branches holds. */
export interface OrPredicate {
  readonly kind: 'or';
  readonly branches: readonly Condition[];
}

/** A conjunction: every clause must hold. An empty condition always holds. */
export type Condition = readonly (AttributePredicate | OrPredicate)[];

export const NUMERIC_MUTATION_OPS = ['add', 'sub', 'mul', 'div', 'mod', 'and', 'or', 'xor', 'min', 'max'] as const;
export type NumericMutationOp = (typeof NUMERIC_MUTATION_OPS)[number];

export const MUTATION_OPS = [
  'set', 'unset',
  ...NUMERIC_MUTATION_OPS,
  'append', 'prepend', 'lpush', 'rpush',
  'set_add', 'set_remove', 'set_union', 'set_intersect',
  'map_set', 'map_remove', 'map_string_prepend', 'map_string_append',
  ...NUMERIC_MUTATION_OPS.map((op) => `map_${op}` as const),
  'document_rename', 'document_unset',
] as const;
export type MutationOp = (typeof MUTATION_OPS)[number];

/** One step of a `mutate`, already checked against the attribute's type. */
export interface Mutation {
  readonly op: MutationOp;
  /** The declared attribute (for a document path, the document's). */
  readonly attribute: string;
  /** Canonical operand; its shape depends on `op` (see mutations.ts). */
  readonly operand: Value;
  /**
   * Steps below `attribute` when the mutation names a document path (`info.counter`): it applies to
   * the JSON value found there, typed by that value (document-paths.ts).
   */
  readonly path?: readonly string[];
}

/** `expireIn`: seconds from the commit; `null` clears an expiry; absent keeps the object's own. */
export type ExpireIn = number | null | undefined;

/** The object an operation or a tx check is about. */
export interface KeyedOp {
  readonly space: string;
  readonly key: Key;
  /**
   * The incarnation of the space the operation was validated against (`Space.createdSeq`): a write
   * validated against a space that was since removed and re-created must not land in the new one.
   */
  readonly spaceCreatedSeq?: number;
}

export interface GetOp extends KeyedOp { readonly op: 'get' }
export interface GetPartialOp extends KeyedOp { readonly op: 'get_partial'; readonly select: readonly string[] }
export interface PutOp extends KeyedOp {
  readonly op: 'put' | 'put_if_not_exist' | 'get_and_put';
  /** The attributes to set, canonical; unnamed attributes keep their value (or default on create). */
  readonly attributes: Attributes;
  readonly expireIn?: ExpireIn;
}
/** `cond_put`: absent → `not_found`; `cond_put_or_create`: absent → created (HyperDex's). Both: `cmp_fail` when the condition does not hold. */
export interface CondPutOp extends KeyedOp {
  readonly op: 'cond_put' | 'cond_put_or_create';
  readonly condition: Condition;
  readonly attributes: Attributes;
  readonly expireIn?: ExpireIn;
}
export interface CompareAndSwapOp extends KeyedOp {
  readonly op: 'compare_and_swap';
  readonly version: number;
  readonly attributes: Attributes;
  readonly expireIn?: ExpireIn;
}
export interface DelOp extends KeyedOp {
  readonly op: 'del';
  /** When given, delete only if the object is at this version (else `cmp_fail`). */
  readonly version?: number;
}
export interface CondDelOp extends KeyedOp { readonly op: 'cond_del'; readonly condition: Condition }
export interface GetAndDelOp extends KeyedOp { readonly op: 'get_and_del' }
export interface MutateOp extends KeyedOp {
  readonly op: 'mutate';
  readonly mutations: readonly Mutation[];
  readonly condition?: Condition;
  readonly expireIn?: ExpireIn;
}

/** A check of a `tx` (see tx.ts): the object must exist (or not), be at a version, or satisfy a condition. */
export interface ExistsCheck extends KeyedOp { readonly check: 'exists'; readonly exists: boolean }
/** The object is at exactly `version`; 0 means absent. */
export interface VersionCheck extends KeyedOp { readonly check: 'version'; readonly version: number }
/** The object exists and satisfies `condition`, as for `cond_put`. */
export interface ConditionCheck extends KeyedOp { readonly check: 'if'; readonly condition: Condition }
export type TxCheck = ExistsCheck | VersionCheck | ConditionCheck;

/**
 * Checks and single-key operations over several keys and spaces, all or nothing, at one instant:
 * every check holds and every operation succeeds, and the writes commit together at one seq; or
 * nothing changes and the result is `tx_failed`.
 */
export interface TxOp {
  readonly op: 'tx';
  readonly checks: readonly TxCheck[];
  readonly ops: readonly ObjectOp[];
}

/**
 * The TTL sweeper's deletion of an expired object: deletes it only if it is still at `version` and
 * expired when the batch runs, so a concurrent rewrite is never deleted. Internal: no front parses
 * it, so it never arrives from the wire; its change (op `expire`) is logged like any deletion.
 */
export interface ExpireOp extends KeyedOp {
  readonly op: 'expire';
  readonly version: number;
}
/** How a search picks its candidates, as `explain` reports it. */
export type PlanSummary =
  | { readonly kind: 'scan' }
  | { readonly kind: 'index'; readonly attribute: string; readonly countedFromIndex?: boolean };

/**
 * `search`: the objects that satisfy `condition`, in key order, one page of at most `limit`; the
 * page's cursor (absent on the last page) resumes after its last key. A page may hold fewer than
 * `limit` objects and still have a cursor: a scan stops after `scanRowsMax` rows examined.
 */
export interface SearchOp {
  readonly op: 'search';
  readonly space: string;
  readonly condition: Condition;
  readonly limit: number;
  /** Resume after this key (decoded from the cursor). */
  readonly after?: Key;
  readonly select?: readonly string[];
  readonly explain?: boolean;
}
/** `sorted_search`: the first `limit` objects satisfying `condition` in the order of `sortBy` (then key). */
export interface SortedSearchOp {
  readonly op: 'sorted_search';
  readonly space: string;
  readonly condition: Condition;
  readonly sortBy: string;
  readonly descending: boolean;
  readonly limit: number;
  readonly select?: readonly string[];
  readonly explain?: boolean;
}
export interface CountOp {
  readonly op: 'count';
  readonly space: string;
  readonly condition: Condition;
  readonly explain?: boolean;
}
/** Key bounds of a `list`: `start` inclusive, `end` exclusive, `prefix` (string keys). */
export interface KeyRange {
  readonly start?: Key;
  readonly end?: Key;
  readonly prefix?: string;
}
/** `list`: objects in key order (or reverse) within a key range, one page, with a cursor. */
export interface ListOp {
  readonly op: 'list';
  readonly space: string;
  readonly range: KeyRange;
  readonly reverse: boolean;
  readonly limit: number;
  readonly after?: Key;
  readonly select?: readonly string[];
}
/**
 * `group_del` / `group_mutate`: every object satisfying `condition` is deleted / mutated, each
 * atomically and under the same condition (rechecked when it is written), as a normal write.
 */
export interface GroupDelOp { readonly op: 'group_del'; readonly space: string; readonly condition: Condition }
export interface GroupMutateOp {
  readonly op: 'group_mutate';
  readonly space: string;
  readonly condition: Condition;
  readonly mutations: readonly Mutation[];
}
/** Build a secondary index on an attribute of a space that may already hold data, online. */
export interface AddIndexOp { readonly op: 'add_index'; readonly space: string; readonly attribute: string }

export type SearchReadOp = SearchOp | SortedSearchOp | CountOp | ListOp;
export type GroupOp = GroupDelOp | GroupMutateOp;

export interface AddSpaceOp {
  readonly op: 'add_space';
  readonly schema: SpaceSchema;
  /** HyperDex clauses the schema held that spacekv accepted and ignored (`subspace`, `create N partitions`, ...), for the reply. */
  readonly warnings?: readonly string[];
}
export interface RmSpaceOp { readonly op: 'rm_space'; readonly space: string }
/**
 * Drop the secondary index on an attribute (or document path), online: one write at one seq, logged
 * (op `rm_index`, key `''`); searches plan without it from then on. An attribute without an index
 * is answered with the schema as it is, and nothing is written (like add_index of one indexed).
 */
export interface RmIndexOp { readonly op: 'rm_index'; readonly space: string; readonly attribute: string }
export interface ListSpacesOp { readonly op: 'list_spaces' }
export interface DescribeSpaceOp { readonly op: 'describe_space'; readonly space: string }

export type ReadOp = GetOp | GetPartialOp | ListSpacesOp | DescribeSpaceOp | SearchReadOp;
export type ObjectWriteOp = PutOp | CondPutOp | CompareAndSwapOp | DelOp | CondDelOp | GetAndDelOp | MutateOp;
/** An operation on one object: what a `tx` may hold. */
export type ObjectOp = GetOp | GetPartialOp | ObjectWriteOp;
export type AdminWriteOp = AddSpaceOp | RmSpaceOp | RmIndexOp;
/** Everything that goes through group commit; a `tx` does, even one that only reads. */
export type WriteOp = ObjectWriteOp | AdminWriteOp | TxOp | ExpireOp;
/** Operations that run many writes, or a long build, on behalf of one request (engine-driven, not one batch member). */
export type LongWriteOp = GroupOp | AddIndexOp;
export type Operation = ReadOp | WriteOp | LongWriteOp;
export type OpName = Operation['op'];

export const READ_OP_NAMES: ReadonlySet<OpName> = new Set([
  'get', 'get_partial', 'list_spaces', 'describe_space', 'search', 'sorted_search', 'count', 'list',
]);

/** The single-key operations: those a `tx` may hold. */
export const OBJECT_OP_NAMES: ReadonlySet<string> = new Set<ObjectOp['op']>([
  'get', 'get_partial', 'put', 'put_if_not_exist', 'get_and_put', 'cond_put', 'cond_put_or_create', 'compare_and_swap', 'del', 'cond_del', 'get_and_del', 'mutate',
]);

export function isReadOp(op: Operation): op is ReadOp {
  return READ_OP_NAMES.has(op.op);
}

/** An object as stored: attributes kept as their JSON text so reads can pass them through. */
export interface StoredObject {
  readonly version: number;
  /** Epoch milliseconds after which the object reads as absent; null when it never expires. */
  readonly expiresAt: number | null;
  readonly attributesJson: string;
}

/**
 * A write that changed the store, as the engine's commit hook and the change log see it. The
 * object's new version is `seq` (a deletion's too). Admin operations log one change with key `''`.
 */
export interface Change {
  readonly seq: number;
  readonly space: string;
  readonly key: Key;
  readonly op: OpName;
  /** The new attributes' JSON text, or null for a deletion. */
  readonly attributesJson: string | null;
  /** When the batch that committed it ran (epoch ms, the writer's clock): what retention by age goes by. */
  readonly committedAtMs: number;
  /**
   * A write's expiry afterwards (epoch ms; null: none). Logged, not sent to watchers: with the
   * attributes it is the whole object, so a point-in-time restore can replay the change.
   */
  readonly expiresAtMs?: number | null;
  /** `add_space`: the new space's schema (its stored JSON); `add_index`, `rm_index`: the schema after. Logged for the same reason. */
  readonly schemaJson?: string;
}

export interface ObjectResult {
  readonly ok: true;
  readonly kind: 'object';
  readonly key: Key;
  readonly version: number;
  readonly attributesJson: string;
}
export interface WrittenResult {
  readonly ok: true;
  readonly kind: 'written';
  readonly key: Key;
  readonly version: number;
  readonly created: boolean;
  /** mutate: the new attributes. */
  readonly attributesJson?: string;
  /** get_and_put: the object before the write (null when it was absent). */
  readonly previous?: StoredObject | null;
}
export interface DeletedResult {
  readonly ok: true;
  readonly kind: 'deleted';
  readonly key: Key;
  /** The seq of the deletion. */
  readonly version: number;
  /** get_and_del: the object that was deleted. */
  readonly previous?: StoredObject;
}
/** What one operation of a successful tx answered. */
export type ObjectOpResult = ObjectResult | WrittenResult | DeletedResult;
export interface TxResult {
  readonly ok: true;
  readonly kind: 'tx';
  /** The seq every write of the tx got (each object it wrote is at this version); null when it wrote nothing. */
  readonly seq: number | null;
  /** One result per operation, in order, each as that operation alone would answer. */
  readonly results: readonly ObjectOpResult[];
}
export interface SpaceResult {
  readonly ok: true;
  readonly kind: 'space';
  readonly schema: SpaceSchema;
  readonly createdSeq: number;
  /** add_space: what of the schema text was accepted and ignored (see AddSpaceOp). */
  readonly warnings?: readonly string[];
}
export interface SpacesResult { readonly ok: true; readonly kind: 'spaces'; readonly spaces: readonly SpaceSchema[] }
export interface SpaceRemovedResult { readonly ok: true; readonly kind: 'space_removed'; readonly space: string }
export interface FailedResult {
  readonly ok: false;
  readonly code: OpResultCode;
  readonly message: string;
  /** The object's current version (cmp_fail, exists); 0 when absent. */
  readonly version?: number;
}
/** A tx whose checks or operations did not all hold: nothing was applied. */
export interface TxFailedResult {
  readonly ok: false;
  readonly code: 'tx_failed';
  readonly message: string;
  readonly failures: readonly TxFailure[];
}

/** An object a search or list found (its attributes possibly narrowed to `select`). */
export interface FoundObject {
  readonly key: Key;
  readonly version: number;
  readonly attributesJson: string;
}
export interface PageResult {
  readonly ok: true;
  readonly kind: 'page';
  /**
   * The objects found, as the wire's JSON array (`[{"key":…,"version":…,"attributes":{…}},…]`):
   * a store that searches on another thread writes this text there, so the event loop neither
   * receives the objects one by one nor encodes them again.
   */
  readonly objectsJson: string;
  /** Opaque; pass it back to get the next page. Absent on the last page. */
  readonly cursor?: string;
  readonly plan?: PlanSummary;
}
export interface CountResult { readonly ok: true; readonly kind: 'count'; readonly count: number; readonly plan?: PlanSummary }
/** group_del / group_mutate: objects that satisfied the condition when written, and those the write changed. */
export interface GroupResult { readonly ok: true; readonly kind: 'group'; readonly matched: number; readonly changed: number }

export type Result =
  | ObjectResult | WrittenResult | DeletedResult | TxResult | SpaceResult | SpacesResult | SpaceRemovedResult | FailedResult | TxFailedResult
  | PageResult | CountResult | GroupResult;
