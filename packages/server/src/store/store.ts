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
}
