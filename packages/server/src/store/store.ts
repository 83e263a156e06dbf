/**
 * The storage interface: small and batch-shaped (STYLE.md §2). The engine owns ordering, group
 * commit and backpressure; a store only reads points and commits batches. No driver type leaks
 * through this interface, so SQLite and PostgreSQL are interchangeable behind it.
 */
import type { Change, Key, Result, SearchPage, SearchPlan, SpaceSchema, StoredObject, WireError, WriteOp } from '@spacekv/core';

/** A space as the store knows it, with the seq that created this incarnation. */
export interface StoredSpace {
  readonly schema: SpaceSchema;
  readonly createdSeq: number;
}

/**
 * One write of a batch. `spaceCreatedSeq` is the incarnation the op was validated against; a `tx`
 * names several spaces, so each of its checks and operations carries its own instead. A store
 * refuses a member (`unknown_space`) whose space is no longer that incarnation.
 */
export interface BatchMember {
  readonly op: WriteOp;
  readonly spaceCreatedSeq?: number;
}

/**
 * What became of one member: a result (success or failed condition) with the changes it made, or a
 * fault that rejected it alone. A member never affects another member's outcome.
 */
export type MemberOutcome =
  | { readonly result: Result; readonly changes: readonly Change[] }
  | { readonly fault: WireError };

export type MaybePromise<T> = T | Promise<T>;

/** Told the number of objects indexed so far, after each bounded step of an online index build. */
export type IndexBuildProgress = (indexedObjects: number) => void;

export interface Store {
  /** Open (creating or migrating as needed) and return every space. */
  open(): Promise<readonly StoredSpace[]>;
  /**
   * Read one object; null when absent or expired at `nowMs`. Stores that can answer without
   * waiting on I/O (SQLite's page cache) answer synchronously, saving a promise per read.
   */
  get(space: string, key: Key, nowMs: number): MaybePromise<StoredObject | null>;
  /**
   * Commit the members in order, in one durable transaction; one outcome per member. Resolves only
   * once the batch is durable. Rejects only when the outcome of the whole batch is unknown.
   */
  commit(batch: readonly BatchMember[]): Promise<readonly MemberOutcome[]>;
  /**
   * Search (core's plan.ts; the planner and the semantics are core's, a store only runs the plan):
   * - candidates: with `plan.access.index`, the objects with an index entry of `index.attribute`
   *   whose bytes (index-key.ts) lie within `lower`/`upper` (memcmp order, e.g. SQLite BLOB or
   *   PostgreSQL bytea); else every object. Then only live objects (`expires_at > nowMs` or none)
   *   within `plan.keys` (`after`: strictly past it in the order; `start` ≤ key < `end`; `prefix`)
   *   for which core's `evaluateCondition(plan.condition, …)` holds.
   * - order `key`: keys ascending (code-point order for strings: `COLLATE "C"` in PostgreSQL),
   *   descending when `reverse`; at most `limit` objects from at most `rowsMax` rows examined, and
   *   no more objects once their attribute JSON passes the limit `searchPageBytesMax`;
   *   `resumeAfter` is the last key examined when the page stopped early, else null.
   * - order `attribute`: the first `limit` by (attribute value per compareScalars, then key), both
   *   reversed when `descending`; `resumeAfter` is null.
   * - `select`: return only those attributes.
   * Reads one snapshot that includes every commit acknowledged before the call; never blocks the
   * event loop (run it on another thread or connection). Throws `unknown_space` when the space is
   * not the plan's incarnation.
   */
  search(plan: SearchPlan): Promise<SearchPage>;
  /**
   * The number of objects `search` would find with no limit (order, limit, rowsMax, select
   * ignored). When `plan.access.exact`, count index entries alone (each object has at most one per
   * value) without reading objects.
   */
  count(plan: SearchPlan): Promise<number>;
  /**
   * Build a secondary index on `attribute` online: from the start every write maintains it, the
   * objects already there are indexed in bounded steps between commits (`progress` after each), and
   * at the end the attribute joins the schema's `indexes`, durably. Resolves with the new schema, or
   * null when the attribute was indexed already. A build that fails leaves nothing behind (writes
   * stop maintaining it, its entries go); one build per space at a time (`overloaded` otherwise).
   * Index entries are core's `indexKeysOf` bytes (index-key.ts), with the object's expiry.
   */
  addIndex(space: string, spaceCreatedSeq: number, attribute: string, progress: IndexBuildProgress): Promise<SpaceSchema | null>;
  /** Finish in-flight work and release every resource. */
  close(): Promise<void>;
}
