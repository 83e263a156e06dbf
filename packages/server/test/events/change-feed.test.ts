// Proves the change feed's memory stays bounded and honest: it keeps whole seqs only, by count and
// by bytes of attribute text, and answers "not in memory" (so the watcher reads the log) for any
// position older than what it kept, never a page with a gap; and that a subscription fed by it gets
// every change after its position in order, across memory and log, pausing while its sink is full;
// and that when retention passes a stalled feed, watchers behind it end with compacted, never
// skipping changes silently; and that while nobody watches, this process's own commits cost no read
// of the log, yet a later watcher still gets every change after its position; and likewise while
// every watcher watches another space (the token registry, with tokens on), without ever passing
// over a change of that space, another server's included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Change, SpacekvError, type WireError, makeLimits } from '@spacekv/core';
import { ChangeFeed } from '../../src/events/change-feed.js';
import type { ChangeLog, ChangePage } from '../../src/store/store.js';

/** A change log in memory: just enough of the interface for the feed. */
class MemoryLog {
  changes: Change[] = [];
  logReads = 0;
  /** Retention removed every change up to here. */
  floorSeq = 0;

  prune(throughSeq: number): void {
    this.changes = this.changes.filter((c) => c.seq > throughSeq);
    this.floorSeq = throughSeq;
  }

  append(seq: number, keys: readonly string[], bytes = 10, space = 's'): void {
    for (const key of keys) this.changes.push({ seq, space, key, op: 'put', attributesJson: `"${'x'.repeat(bytes - 2)}"`, committedAtMs: 0 });
  }

  async readChanges(afterSeq: number, limit: number): Promise<ChangePage> {
    this.logReads++;
    if (afterSeq < this.floorSeq) throw new SpacekvError('compacted', `changes after ${afterSeq} were removed`);
    const after = this.changes.filter((c) => c.seq > afterSeq);
    let end = Math.min(after.length, limit);
    while (end < after.length && after[end]?.seq === after[end - 1]?.seq) end++;
    return { changes: after.slice(0, end), headSeq: this.changes[this.changes.length - 1]?.seq ?? 0 };
  }
}

const quiet = { warn: () => {} };

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A started feed over `log` with small bounds, and `own`, which appends changes of seq `seq` to
 * `space` and tells the feed of them as the engine's hook does for this process's own commit.
 */
async function ownCommitsFeed(log: MemoryLog): Promise<{
  feed: ChangeFeed;
  own: (seq: number, space?: string, keys?: readonly string[]) => void;
  /** One commit of this process holding the changes of several seqs already appended (a batch). */
  ownBatch: (seqs: readonly number[]) => void;
}> {
  const feed = new ChangeFeed(log as unknown as ChangeLog, makeLimits({ recentChangesMax: 4, watchPageChangesMax: 3 }), quiet);
  let commit = (_changes?: readonly Change[]): void => {};
  await feed.start((listener) => {
    commit = listener;
    return () => {};
  });
  const own = (seq: number, space = 's', keys: readonly string[] = ['a']): void => {
    log.append(seq, keys, 10, space);
    commit(log.changes.filter((c) => c.seq === seq));
  };
  const ownBatch = (seqs: readonly number[]): void => commit(log.changes.filter((c) => seqs.includes(c.seq)));
  return { feed, own, ownBatch };
}

describe('ChangeFeed', () => {
  it('keeps whole seqs within its bounds and sends older positions to the log', async () => {
    const log = new MemoryLog();
    const feed = new ChangeFeed(log as unknown as ChangeLog, makeLimits({ recentChangesMax: 4, recentChangeBytesMax: 3000, watchPageChangesMax: 100 }), quiet);
    let wake = (): void => {};
    await feed.start((listener) => {
      wake = listener;
      return () => {};
    });
    await feed.subscribe({}, { deliver: () => true, end: () => assert.fail('not ended') }); // a watcher: the feed reads what others commit
    for (let seq = 1; seq <= 20; seq++) log.append(seq, seq % 5 === 0 ? ['a', 'b', 'c'] : ['a']); // every 5th seq is a tx of 3
    wake();
    await settle();
    assert.equal(feed.tailSeq, 20);
    const kept = feed.recentAfter(feed.tailSeq - 1, 100);
    assert.deepEqual(kept?.map((c) => c.seq), [20, 20, 20], 'a seq comes whole');
    assert.equal(feed.recentAfter(0, 100), undefined, 'positions older than the memory read the log');
    // Whatever it kept starts at a seq boundary and runs to the tail without a gap.
    let oldest = feed.tailSeq;
    while (oldest > 0 && feed.recentAfter(oldest - 1, 100) !== undefined) oldest--;
    const memory = feed.recentAfter(oldest, 100) ?? [];
    assert.ok(memory.length <= 8 + 2, `at most twice the bound, plus a seq: ${memory.length}`);
    assert.deepEqual([...new Set(memory.map((c) => c.seq))], Array.from({ length: 20 - oldest }, (_, i) => oldest + 1 + i));
    // A byte bound shortens it further: three 1 KiB objects pass 3000 bytes, and it keeps half.
    for (const seq of [21, 22, 23]) log.append(seq, ['big'], 1024);
    wake();
    await settle();
    assert.deepEqual(feed.recentAfter(22, 100)?.map((c) => c.seq), [23]);
    assert.equal(feed.recentAfter(21, 100), undefined);
  });

  it('a subscription gets every change after its position, in order, across memory and log, pausing while its sink is full', async () => {
    const log = new MemoryLog();
    const feed = new ChangeFeed(log as unknown as ChangeLog, makeLimits({ recentChangesMax: 2, watchPageChangesMax: 3 }), quiet);
    let wake = (): void => {};
    await feed.start((listener) => {
      wake = listener;
      return () => {};
    });
    const received: number[] = [];
    let room = 2; // pages the sink takes before it is full
    const subscription = await feed.subscribe({ since: 0 }, {
      deliver: (_events, seqs) => {
        received.push(...seqs);
        return --room > 0;
      },
      end: () => assert.fail('not ended'),
    });
    subscription.pump();
    for (let seq = 1; seq <= 30; seq++) log.append(seq, seq % 7 === 0 ? ['a', 'b'] : ['a']);
    wake();
    await settle();
    assert.ok(received.length > 0 && received.length < 34, `paused after two pages: ${received.length}`);
    const readsBefore = log.logReads;
    while (subscription.seq < 30) {
      room = 2;
      subscription.resume();
      await settle();
    }
    assert.ok(log.logReads > readsBefore, 'it fell behind the memory and read the log');
    const expected = log.changes.map((c) => c.seq);
    assert.deepEqual(received, expected);
  });

  it('when retention passed its tail, the feed restarts at the head and watchers behind end with compacted', async () => {
    const log = new MemoryLog();
    const feed = new ChangeFeed(log as unknown as ChangeLog, makeLimits({ recentChangesMax: 2, watchPageChangesMax: 2 }), quiet);
    let wake = (): void => {};
    await feed.start((listener) => {
      wake = listener;
      return () => {};
    });
    const ended: WireError[] = [];
    const received: number[] = [];
    (await feed.subscribe({ since: 0 }, { deliver: (_e, seqs) => (received.push(...seqs), false), end: (error) => ended.push(error) })).pump();
    for (let seq = 1; seq <= 12; seq++) log.append(seq, ['a']);
    log.prune(10); // before the feed (and the paused watcher) read them
    wake();
    await settle();
    assert.equal(feed.tailSeq, 12);
    assert.deepEqual(received, []);
    assert.deepEqual(ended.map((e) => e.code), ['compacted']);
    const fresh: number[] = [];
    (await feed.subscribe({ since: 10 }, { deliver: (_e, seqs) => (fresh.push(...seqs), true), end: () => assert.fail('not ended') })).pump();
    await settle();
    assert.deepEqual(fresh, [11, 12], 'a watcher after the floor reads the log');
  });

  it('reads nothing for its own commits while nobody watches; a later watcher starts after them, or reads the log from its since', async () => {
    const log = new MemoryLog();
    const { feed, own } = await ownCommitsFeed(log);
    const readsAtStart = log.logReads;
    for (let seq = 1; seq <= 10; seq++) own(seq);
    await settle();
    assert.equal(log.logReads, readsAtStart, 'no watcher, no read');
    assert.equal(feed.tailSeq, 10);
    const fromNow: number[] = [];
    (await feed.subscribe({}, { deliver: (_e, seqs) => (fromNow.push(...seqs), true), end: () => assert.fail('not ended') })).pump();
    const fromStart: number[] = [];
    (await feed.subscribe({ since: 0 }, { deliver: (_e, seqs) => (fromStart.push(...seqs), true), end: () => assert.fail('not ended') })).pump();
    own(11, 's', ['a', 'b']);
    await settle();
    assert.deepEqual(fromNow, [11, 11], 'from now: only what came after it subscribed');
    assert.deepEqual(fromStart, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11], 'from seq 0: everything, in order');
  });

  it("reads nothing for other servers' commits while nobody watches; a later watcher from now starts at the head, one from its since reads the log", async () => {
    const log = new MemoryLog();
    const { feed, own } = await ownCommitsFeed(log);
    let signal = (_changes?: readonly Change[]): void => {};
    // The store's signal of another server's commit carries no changes (ownCommitsFeed's hook is the same listener).
    await feed.start((listener) => {
      signal = listener;
      return () => {};
    });
    const readsAtStart = log.logReads;
    own(1);
    for (let seq = 2; seq <= 9; seq++) {
      log.append(seq, ['b']);
      signal();
    }
    await settle();
    assert.equal(log.logReads, readsAtStart, 'no watcher, no read of the other server\'s commits');
    const fromNow: number[] = [];
    (await feed.subscribe({}, { deliver: (_e, seqs) => (fromNow.push(...seqs), true), end: () => assert.fail('not ended') })).pump();
    assert.equal(feed.tailSeq, 9, 'a watcher from now starts at the head');
    const fromStart: number[] = [];
    (await feed.subscribe({ since: 0 }, { deliver: (_e, seqs) => (fromStart.push(...seqs), true), end: () => assert.fail('not ended') })).pump();
    log.append(10, ['c']);
    signal();
    await settle();
    assert.deepEqual(fromNow, [10], 'from now: only what came after it subscribed');
    assert.deepEqual(fromStart, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'from seq 0: everything, in order, another server\'s included');
  });

  it("reads nothing for its own commits to a space nobody watches, yet a watcher of one space misses none of that space's changes, another server's included", async () => {
    const log = new MemoryLog();
    const { feed, own } = await ownCommitsFeed(log);
    const seen: number[] = [];
    (await feed.subscribe({ space: 't' }, { deliver: (_e, seqs) => (seen.push(...seqs), true), end: () => assert.fail('not ended') })).pump();
    const readsAtStart = log.logReads;
    for (let seq = 1; seq <= 5; seq++) own(seq, 's');
    await settle();
    assert.equal(log.logReads, readsAtStart, "commits to another space than the watcher's: no read");
    assert.equal(feed.tailSeq, 5);
    own(6, 't');
    await settle();
    assert.deepEqual(seen, [6], "a commit to the watcher's space reaches it");
    // Another server commits (no hook here) to both spaces; this process's next commit, to the
    // unwatched space, does not follow the tail: the feed must read, or the watcher misses seq 8.
    log.append(7, ['b'], 10, 's');
    log.append(8, ['b'], 10, 't');
    own(9, 's');
    await settle();
    assert.deepEqual(seen, [6, 8], "another server's change of the watched space, though this process's commit came first");
    const readsBefore = log.logReads;
    own(10, 's');
    own(11, 't');
    await settle();
    assert.deepEqual(seen, [6, 8, 11]);
    assert.equal(log.logReads, readsBefore + 1, 'only the commit the watcher wants is read');
  });

  it("reads its own commit when any change of it, not only the first, is of a watched space", async () => {
    const log = new MemoryLog();
    const { feed, own, ownBatch } = await ownCommitsFeed(log);
    const seen: number[] = [];
    (await feed.subscribe({ space: 't' }, { deliver: (_e, seqs) => (seen.push(...seqs), true), end: () => assert.fail('not ended') })).pump();
    own(1, 's');
    await settle();
    const readsBefore = log.logReads;
    log.append(2, ['a'], 10, 's');
    log.append(3, ['a'], 10, 's');
    log.append(4, ['b'], 10, 't');
    ownBatch([2, 3, 4]);
    await settle();
    assert.deepEqual(seen, [4], 'the watched space\'s change, last in the batch, reaches the watcher');
    assert.equal(log.logReads, readsBefore + 1);
    log.append(5, ['a'], 10, 's');
    log.append(6, ['b'], 10, 's');
    ownBatch([5, 6]);
    await settle();
    assert.equal(log.logReads, readsBefore + 1, 'a batch of only the unwatched space: no read');
    assert.equal(feed.tailSeq, 6);
  });

  it('never passes a watcher over changes it has not been given yet (its sink was full)', async () => {
    const log = new MemoryLog();
    const { feed, own } = await ownCommitsFeed(log);
    const seen: number[] = [];
    let full = true;
    const watcher = await feed.subscribe({ space: 't' }, { deliver: (_e, seqs) => (seen.push(...seqs), !full), end: () => assert.fail('not ended') });
    watcher.pump();
    own(1, 't'); // delivered; the sink is full now
    await settle();
    own(2, 't'); // waits for the sink
    await settle();
    own(3, 's'); // of another space, but the watcher has not caught up: 2 must not be passed over
    await settle();
    full = false;
    watcher.resume();
    await settle();
    assert.deepEqual(seen, [1, 2]);
  });
});
