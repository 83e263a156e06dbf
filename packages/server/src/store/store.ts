/**
 * The storage interface: small and batch-shaped (STYLE.md §2). The engine owns ordering, group
 * commit and backpressure; a store only reads points and commits batches. No driver type leaks
 * through this interface, so SQLite and PostgreSQL are interchangeable behind it.
 */
import type { Change, Key, Result, SpaceSchema, StoredObject, WireError, WriteOp } from '@spacekv/core';

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
  /** Finish in-flight work and release every resource. */
  close(): Promise<void>;
  /** Present when other server processes share the store. */
  readonly sharedCatalog?: SharedCatalog;
  /** Whether the store can be reached now (a store that cannot lose its connection leaves it out). */
  health?(): Promise<StoreHealth>;
}
