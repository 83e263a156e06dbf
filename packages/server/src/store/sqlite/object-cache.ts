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
 *
 * Entries are found by space, then by key, never by a text joining the two: a put's key was
 * already hashed by the engine's order table, so its lookup here is nearly free, while a joined
 * text had to be built, flattened and hashed for every change of every batch (about 1 µs each,
 * the largest cost of the engine's thread at 1024 puts in flight). Recency is a list threaded
 * through the entries, so moving or evicting one costs a few pointer writes.
 */
import type { Change, Key, StoredObject } from '@spacekv/core';
import type { MemberOutcome } from '../store.js';

/** A cached object, linked into the recency list (older towards `older`, newer towards `newer`). */
class Entry {
  older: Entry | undefined = undefined;
  newer: Entry | undefined = undefined;

  constructor(
    readonly space: string,
    readonly key: Key,
    readonly object: StoredObject | null,
    readonly bytes: number,
    /** The cache's clock when the entry last moved to the recent end. */
    public stamp: number,
  ) {}
}

/** Bytes charged per entry beyond its text: the Map slot, the entry and the object (an estimate). */
const ENTRY_OVERHEAD_BYTES = 160;

export class ObjectCache {
  /** Each space's entries by key (a space's keys are all of one type, so the key names the object). */
  private readonly spaces = new Map<string, Map<Key, Entry>>();
  private count = 0;
  private bytes = 0;
  /** Counts moves to the recent end; an entry's distance from it tells how far it is from eviction. */
  private clock = 0;
  /** The ends of the recency list: eviction takes from `oldest`, a use moves an entry to `newest`. */
  private oldest: Entry | undefined;
  private newest: Entry | undefined;

  constructor(private readonly bytesMax: number) {}

  /** Bytes held now (at most `bytesMax`). */
  get size(): number {
    return this.bytes;
  }

  /** The cached object (null: known absent), or undefined when the cache does not know. */
  get(space: string, key: Key): StoredObject | null | undefined {
    const entry = this.spaces.get(space)?.get(key);
    if (entry === undefined) return undefined;
    // The most recently used goes last, but only once it has drifted into the older half: a hot
    // object read over and over then costs one lookup, not a move each time.
    if (this.clock - entry.stamp > this.count / 2) {
      this.unlink(entry);
      this.link(entry);
      entry.stamp = ++this.clock;
    }
    return entry.object;
  }

  /** Remember what a read found, unless the cache already knows the object (see the header). */
  fill(space: string, key: Key, object: StoredObject | null): void {
    if (this.spaces.get(space)?.has(key) !== true) this.put(space, key, object);
  }

  /** Apply the changes a committed batch made (the store calls this before any outcome is delivered). */
  applyOutcomes(outcomes: readonly MemberOutcome[]): void {
    for (const outcome of outcomes) {
      if ('changes' in outcome) for (const change of outcome.changes) this.apply(change);
    }
  }

  /** Forget everything: the writer died and its last batch may or may not have committed. */
  clear(): void {
    this.spaces.clear();
    this.oldest = undefined;
    this.newest = undefined;
    this.count = 0;
    this.bytes = 0;
  }

  private apply(change: Change): void {
    if (change.op === 'add_space' || change.op === 'rm_space') return this.dropSpace(change.space);
    if (change.op === 'rm_index') return;
    if (change.attributesJson === null) return this.put(change.space, change.key, null);
    // A write's change carries its expiry; one that does not is not cached rather than guessed.
    if (change.expiresAtMs === undefined) return this.remove(change.space, change.key);
    this.put(change.space, change.key, { version: change.seq, expiresAt: change.expiresAtMs, attributesJson: change.attributesJson });
  }

  private put(space: string, key: Key, object: StoredObject | null): void {
    let objects = this.spaces.get(space);
    const old = objects?.get(key);
    if (old !== undefined) this.forget(old);
    const bytes = ENTRY_OVERHEAD_BYTES + space.length + 1 + String(key).length + (object ? object.attributesJson.length : 0);
    if (bytes > this.bytesMax) {
      if (old !== undefined) objects?.delete(key);
      return;
    }
    if (objects === undefined) {
      objects = new Map();
      this.spaces.set(space, objects);
    }
    const entry = new Entry(space, key, object, bytes, ++this.clock);
    objects.set(key, entry);
    this.link(entry);
    this.count++;
    this.bytes += bytes;
    if (this.bytes > this.bytesMax) this.evict(); // walked only when over: every write of a batch comes here
  }

  /** Drop the least recently used entries until the cache is within its bound. */
  private evict(): void {
    while (this.bytes > this.bytesMax && this.oldest !== undefined) {
      const entry = this.oldest;
      this.forget(entry);
      this.spaces.get(entry.space)?.delete(entry.key);
    }
  }

  private remove(space: string, key: Key): void {
    const objects = this.spaces.get(space);
    const entry = objects?.get(key);
    if (entry === undefined) return;
    this.forget(entry);
    objects?.delete(key);
  }

  /** Take an entry out of the recency list and the counts (its map slot is the caller's to clear or reuse). */
  private forget(entry: Entry): void {
    this.unlink(entry);
    this.count--;
    this.bytes -= entry.bytes;
  }

  private link(entry: Entry): void {
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.newer = entry;
    this.newest = entry;
  }

  private unlink(entry: Entry): void {
    if (entry.older === undefined) this.oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }

  /** A space added or removed: none of its objects may outlive it. */
  private dropSpace(space: string): void {
    const objects = this.spaces.get(space);
    if (objects === undefined) return;
    for (const entry of objects.values()) this.forget(entry);
    this.spaces.delete(space);
  }
}
