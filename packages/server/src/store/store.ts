/**
 * The storage interface: small and batch-shaped (STYLE.md §2). The engine owns ordering, group
 * commit and backpressure; a store only reads points and commits batches. No driver type leaks
 * through this interface, so SQLite and PostgreSQL are interchangeable behind it.
 */
import type { Change, EncodedSearchPage, Key, Result, SearchPage, SearchPlan, SpaceSchema, StoredObject, WireError, WriteOp } from '@spacekv/core';

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

/** The spaces as committed, and the seq of the last space change they include. */
export interface SpacesSnapshot {
  readonly spaces: readonly StoredSpace[];
  readonly asOfSeq: number;
}

/**
 * The catalog of a store that several server processes share (PostgreSQL): another process may add
 * or remove a space at any time, so the engine's copy must be refreshed. The store's incarnation
 * check on every write stays the final guard; this only keeps validation current.
 */
export interface SharedCatalog {
  /** The spaces as committed now, read from the database. */
  spaces(): Promise<SpacesSnapshot>;
  /** `listener` runs when another process may have added or removed a space (or after a reconnect, when that may have been missed). */
  onChange(listener: () => void): void;
}

export interface StoreHealth {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * One page of the change log (docs/architecture.md §4.6), as {@link ChangeLog.readChanges} returns it.
 */
export interface ChangePage {
  /**
   * Changes with seq > afterSeq, in log order (seq ascending; the changes of one seq in the order
   * the tx wrote them). Whole seqs only: a tx's changes share one seq and are never split.
   */
  readonly changes: readonly Change[];
  /**
   * The store's last committed seq when the page was read (its head). A reader is caught up when
   * the page's last change is at `headSeq` (or the page is empty); it never has to ask again to
   * learn that. (Named head rather than "last" so it cannot be mistaken for the page's last seq.)
   */
  readonly headSeq: number;
}

/** What log retention may remove (see {@link ChangeLog.pruneChanges}); a change goes when either rule allows it. */
export interface RetentionRule {
  /** Changes committed before this instant (epoch ms) may go. */
  readonly committedBeforeMs?: number;
  /** Changes of every seq but the newest `keepSeqs` may go. */
  readonly keepSeqs?: number;
  /** Never remove a change past this seq, whatever the rules say: the slowest durable cursor. */
  readonly throughSeqMax: number;
}

/** An expired object the TTL sweeper may delete, at the version it was read at. */
export interface ExpiredObject {
  readonly space: string;
  readonly key: Key;
  readonly version: number;
}

/** Held by one server at a time (the AMQP relay's leadership); see {@link ChangeLog.acquireLease}. */
export interface Lease {
  /** Aborted when the lease is lost (PostgreSQL: not renewed in time, or taken over): the holder must stop at once. */
  readonly signal: AbortSignal;
  /**
   * Resolves while the lease is still held: its epoch still current in the store and its expiry not
   * passed on this process's clock; otherwise the lease is lost (`signal` aborts) and this rejects.
   * The holder calls it right before an act only the holder may do and then acts at once, with no
   * await between: a holder paused past its expiry with work already read (SIGSTOP, a long GC)
   * stops here when it resumes, instead of acting on it before its renewal timer notices.
   */
  confirm(): Promise<void>;
  release(): Promise<void>;
}

/**
 * The change log (docs/architecture.md §4.6): every committed change, written by `commit` in the same
 * transaction as the data, one row per changed object (admin operations log one change with key
 * `''`). Watchers and the AMQP relay read it; retention trims its old end.
 *
 * Contract every store keeps:
 * - Append-only in seq order: once a change at seq s is visible to `readChanges`, every change at a
 *   seq below s is visible too (PostgreSQL must allocate the seq and commit under one lock, or a
 *   reader could pass a seq that commits later). Seqs are increasing; a reader must not assume
 *   they are contiguous.
 * - Readers never block writers, and every method here answers off the event loop or within ~1 ms.
 */
export interface ChangeLog {
  /**
   * At most `limit` changes with seq > afterSeq, except that a page holds whole seqs and at least
   * one seq when there is one (a tx larger than `limit` comes whole). Rejects with `compacted`
   * when retention removed changes after `afterSeq`, so the reader cannot have them all.
   */
  readChanges(afterSeq: number, limit: number): Promise<ChangePage>;
  /**
   * Remove the oldest changes the rule allows, at most about `limit` (whole seqs), in one short
   * transaction; call again until it removes nothing. Resolves with how many changes went and the
   * log's floor: the highest seq removed so far (0 when none), below which `readChanges` fails.
   */
  pruneChanges(rule: RetentionRule, limit: number): Promise<{ readonly removed: number; readonly floorSeq: number }>;
  /** The seq a durable named cursor (e.g. the AMQP relay's position) was saved at; 0 when never saved. */
  readCursor(name: string): Promise<number>;
  /** Durably save a cursor; resolves once it is on disk. Callers only ever move a cursor forward. */
  saveCursor(name: string, seq: number): Promise<void>;
  /**
   * Try to become the one holder of `name` among every server sharing the store; null when another
   * holds it. SQLite: always granted (one process per data directory, enforced by a lock file).
   * PostgreSQL: a lease row with an expiry its holder renews and a fencing epoch (postgres/lease.ts);
   * its loss (expiry passed unrenewed, or another holder's epoch) aborts `signal`.
   */
  acquireLease(name: string): Promise<Lease | null>;
  /**
   * Up to `limit` objects whose expiry passed at `nowMs`, oldest expiry first, for the TTL sweeper,
   * which deletes each with an `expire` write at the version read here (so a concurrent rewrite,
   * which changes the version, is never deleted).
   */
  expiredObjects(nowMs: number, limit: number): Promise<readonly ExpiredObject[]>;
}

/** A consistent copy of a store's data at one seq (an online backup), in a file of its own until released. */
export interface StoreSnapshot {
  /** Every commit up to this seq is in the copy, and none after it. */
  readonly seq: number;
  /** The copy: for the embedded store, a SQLite database file that a data directory can be rebuilt from. */
  readonly path: string;
  /** The kind of store the copy restores into (`sqlite`). */
  readonly store: 'sqlite';
  /** Remove the copy. */
  release(): void;
}

/** What one step of purging a removed space's or index's rows did (see {@link Store.purgeRemoved}). */
export interface PurgeOutcome {
  /** Rows this step deleted. */
  readonly removed: number;
  /** Whether rows are left to purge: call again. */
  readonly more: boolean;
}

/** The attribute a large value was uploaded for. */
export interface LargeValueOwner {
  readonly space: string;
  readonly key: Key;
  readonly attribute: string;
}

/** A large value the sweeper should look at (see {@link LargeValues.sweepCandidates}). */
export interface LargeValueCandidate {
  readonly id: string;
  readonly owner: LargeValueOwner;
  /**
   * `staged`: never committed and idle past the cut-off: an abandoned upload, to remove.
   * `adopted`: committed by an object; the sweeper checks whether the object still refers to it.
   * `droppable`: no longer referred to, since a seq that log retention has passed, so no
   * point-in-time restore can need it again: to remove.
   */
  readonly state: 'staged' | 'adopted' | 'droppable';
}

/**
 * Chunks of large values (core's large-values.ts), staged beside the objects until a write commits
 * a reference to them. A store marks a value adopted in the transaction of the write whose object
 * first refers to it (its `SpaceRows.write`), so staging and commit are atomic together.
 */
export interface LargeValues {
  /** Record a new upload for `owner`; its chunks follow. */
  begin(id: string, owner: LargeValueOwner, nowMs: number): Promise<void>;
  /** Store chunk `index` (LARGE_CHUNK_BYTES, the last one shorter); durable with the commit that adopts the value. */
  append(id: string, index: number, data: Uint8Array, nowMs: number): Promise<void>;
  /** Chunk `index` of a value; null when the value or the chunk is gone. */
  readChunk(id: string, index: number): Promise<Uint8Array | null>;
  /** Up to `limit` values to look at: staged ones idle since before `idleBeforeMs`, then adopted ones with ids after `afterId`. */
  sweepCandidates(idleBeforeMs: number, afterId: string, limit: number): Promise<readonly LargeValueCandidate[]>;
  /**
   * If the owner's object (live at `nowMs`) no longer refers to an adopted value, note the store's
   * seq now as the one from which nothing does (checked against the committed object, never a stale
   * read: a value is dropped only once log retention passes that seq).
   */
  orphanIfUnreferenced(id: string, owner: LargeValueOwner, nowMs: number): Promise<void>;
  /** Remove a value's chunks, a bounded number per call, and its record with the last; true once it is gone. */
  drop(id: string): Promise<boolean>;
}

/** Told the number of objects indexed so far, after each bounded step of an online index build. */
export type IndexBuildProgress = (indexedObjects: number) => void;

export interface Store extends ChangeLog {
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
   * - order `key`: keys ascending (code-point order for strings: UTF-8 `bytea` in PostgreSQL),
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
   * `search`, its objects written as a reply carries them (core's `encodeSearchPage`). A store
   * that searches on another thread writes the text there: the event loop then takes one string
   * instead of cloning each object across and encoding it again (under YCSB E, 7 % of the server's
   * CPU per scan at one in flight, 15 % at 1,024).
   */
  searchEncoded(plan: SearchPlan): Promise<EncodedSearchPage>;
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
  /**
   * Copy the data at one seq while writes go on, never holding the writer (an online backup); at
   * most `snapshotsInflightMax` at once (`overloaded` past it). Absent on stores backed up by their
   * own tools (PostgreSQL: pg_dump; or `spacekv export`, which reads any store).
   */
  backupSnapshot?(): Promise<StoreSnapshot>;
  /**
   * Delete, in one bounded transaction between commits (`purgeBatchRowsMax` rows), rows that a
   * removed space or index left behind; its removal was a catalog change, immediate whatever it
   * held, and nothing reads those rows any more. Pending purges survive a restart. Absent on stores
   * that purge on their own (PostgreSQL's purges its removed rows from its poll).
   */
  purgeRemoved?(): Promise<PurgeOutcome>;
  /** Large values staged and stored beside the objects; absent on stores without them (test doubles). */
  readonly largeValues?: LargeValues;
  /** Finish in-flight work and release every resource. */
  close(): Promise<void>;
  /** Present when other server processes share the store. */
  readonly sharedCatalog?: SharedCatalog;
  /** Whether the store can be reached now (a store that cannot lose its connection leaves it out). */
  health?(): Promise<StoreHealth>;
  /**
   * Present when other server processes share the store: `listener` runs when one of them committed
   * changes, so this process's change feed reads them from the log (its own commits come through
   * the engine's commit hook).
   */
  onForeignCommit?(listener: () => void): () => void;
  /** Batches run again because the database gave them up to stay serializable (SQLSTATE 40001/40P01), since open. */
  readonly serializationRetries?: number;
  /**
   * Where server processes share the store through one lock that orders their commits (PostgreSQL's
   * meta row): the batches committed since open and how long, in total, they held that lock.
   */
  readonly lockHold?: { readonly batches: number; readonly heldMs: number };
  /**
   * The store's own threads, by name, and how long each kind has been busy since open, in ms
   * (SQLite: `writer`, and `search` summed over its search threads); a store whose work runs in
   * another process (PostgreSQL) leaves it out.
   */
  threadsBusyMs?(): Readonly<Record<string, number>>;
}
