/**
 * Recently read and written objects, kept on the engine's thread in front of the SQLite reader.
 *
 * Why: SQLite throws away a connection's whole page cache when a read transaction starts after
 * another connection committed (WAL mode has no finer invalidation). The reader restarts its
 * snapshot after every group commit, so under a mixed workload every point read after a commit
 * fetched its B-tree pages again through the OS (tens of µs per read; the YCSB profile put it at a
 * third of the event loop). Here a hot object costs one Map lookup instead.
 *
 * Why it stays exact: this process's writer thread is the only writer of the file (the data
 * directory lock), and every change it commits reaches the engine's thread in its batch's outcomes
 * (each change is logged once, with the whole object after it). The store applies those changes
 * here in the same step that ends the read snapshot, before any outcome is delivered, so:
 * - an entry written from a change is the object as committed at its seq;
 * - an entry filled from a read comes from a snapshot that already includes every change applied
 *   here (older snapshots were ended when those changes arrived), and a fill never replaces an
 *   entry, so it cannot bring back an older object;
 * - a writer that dies mid-batch leaves its outcome unknown, so everything is dropped.
 * Absent objects are cached too (null), and expiry is checked on every hit, as the reader does.
 *
 * Bounded by `readCacheBytesMax` (attribute text and key, plus a fixed overhead per entry); the
 * least recently used entries go first.
 */
import type { Change, Key, StoredObject } from '@spacekv/core';
import type { MemberOutcome } from '../store.js';

interface Entry {
  readonly space: string;
  readonly object: StoredObject | null;
  readonly bytes: number;
  /** The cache's clock when the entry last moved to the recent end. */
  stamp: number;
}

/** Bytes charged per entry beyond its text: the Map slot, the entry and the object (an estimate). */
const ENTRY_OVERHEAD_BYTES = 160;

export class ObjectCache {
  /** Keyed by space and key text (a space's keys are all of one type, so the text names the object); iteration order is recency. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Counts moves to the recent end; an entry's distance from it tells how far it is from eviction. */
  private clock = 0;
  /** Where eviction stands in `entries`: kept from one eviction to the next (see evict). */
  private oldest: IterableIterator<[string, Entry]> | undefined;

  constructor(private readonly bytesMax: number) {}

  /** Bytes held now (at most `bytesMax`). */
  get size(): number {
    return this.bytes;
  }

  /** The cached object (null: known absent), or undefined when the cache does not know. */
  get(space: string, key: Key): StoredObject | null | undefined {
    const id = entryId(space, key);
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    // The most recently used goes last, but only once it has drifted into the older half: a hot
    // object read over and over then costs one lookup, not a Map delete and insert each time.
    if (this.clock - entry.stamp > this.entries.size / 2) {
      this.entries.delete(id);
      this.entries.set(id, entry);
      entry.stamp = ++this.clock;
    }
    return entry.object;
  }

  /** Remember what a read found, unless the cache already knows the object (see the header). */
  fill(space: string, key: Key, object: StoredObject | null): void {
    const id = entryId(space, key);
    if (!this.entries.has(id)) this.put(id, space, object);
  }

  /** Apply the changes a committed batch made (the store calls this before any outcome is delivered). */
  applyOutcomes(outcomes: readonly MemberOutcome[]): void {
    for (const outcome of outcomes) {
      if ('changes' in outcome) for (const change of outcome.changes) this.apply(change);
    }
  }

  /** Forget everything: the writer died and its last batch may or may not have committed. */
  clear(): void {
    this.entries.clear();
    this.oldest = undefined;
    this.bytes = 0;
  }

  private apply(change: Change): void {
    if (change.op === 'add_space' || change.op === 'rm_space') return this.dropSpace(change.space);
    if (change.op === 'rm_index') return;
    const id = entryId(change.space, change.key);
    if (change.attributesJson === null) return this.put(id, change.space, null);
    // A write's change carries its expiry; one that does not is not cached rather than guessed.
    if (change.expiresAtMs === undefined) return this.remove(id);
    this.put(id, change.space, { version: change.seq, expiresAt: change.expiresAtMs, attributesJson: change.attributesJson });
  }

  private put(id: string, space: string, object: StoredObject | null): void {
    this.remove(id);
    const bytes = ENTRY_OVERHEAD_BYTES + id.length + (object ? object.attributesJson.length : 0);
    if (bytes > this.bytesMax) return;
    this.entries.set(id, { space, object, bytes, stamp: ++this.clock });
    this.bytes += bytes;
    if (this.bytes > this.bytesMax) this.evict(); // walked only when over: every write of a batch comes here
  }

  /**
   * Drop the least recently used entries until the cache is within its bound.
   *
   * One iterator serves every eviction. A Map keeps a deleted entry's slot until it grows, and a new
   * iterator steps over every such slot from the start: a full cache taking one write after another
   * (each write evicts one entry) then walked more of them each time, and the cost of a write grew
   * past 50 µs after 100,000 writes. A Map iterator visits entries in insertion order, skips the ones
   * deleted and reaches those added since, so where it stands is always the oldest entry left: every
   * entry before it was evicted, or was used again and moved to the end, ahead of it.
   */
  private evict(): void {
    while (this.bytes > this.bytesMax) {
      this.oldest ??= this.entries.entries();
      const next = this.oldest.next();
      if (next.done) {
        this.oldest = undefined; // at the end: start again from the (new) oldest
        if (this.entries.size === 0) return;
        continue;
      }
      const [id, entry] = next.value;
      this.entries.delete(id);
      this.bytes -= entry.bytes;
    }
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
  }

  /** A space added or removed: none of its objects may outlive it (rare, so a walk over every entry). */
  private dropSpace(space: string): void {
    for (const [id, entry] of this.entries) if (entry.space === space) this.remove(id);
  }
}

function entryId(space: string, key: Key): string {
  return `${space}\u0000${String(key)}`;
}
