/**
 * The server's one reader of the change log's new end (docs/architecture.md §4.6). The engine's commit hook
 * wakes it; it reads what was appended from the log itself (so watchers see exactly what the log
 * holds, in its order, whoever wrote it), keeps the most recent changes in a bounded memory, and
 * wakes the subscriptions. A subscription that keeps up is fed from that memory; one that falls
 * behind it reads the log at its own pace. While nobody watches, this process's own commits cost no
 * read: the feed moves its tail to their seq and starts its memory afresh there (a read after every
 * commit took a fifth of the event loop in YCSB's update-heavy workload), nor while every watcher
 * watches another space (see nobodyWants). Nor do other servers' commits while nobody watches: the
 * feed only notes that its tail is behind, and moves it to the log's head when a watcher comes
 * (with two servers on PostgreSQL, reading every batch of the other's took a third of each
 * server's CPU per put, and PostgreSQL's work for it grew with the square of the servers).
 */
import { type Change, type Limits, SpacekvError, type WatchSpec, type WireError } from '@spacekv/core';
import type { ChangeLog, ChangePage } from '../store/store.js';
import { cutPage } from '../store/change-pages.js';
import type { CommitSignal } from './commit-signal.js';
import { type ChangeSource, Subscription, type WatchSink } from './subscription.js';

export interface FeedLogger {
  warn(fields: object, message: string): void;
}

/** How long a failed read of the log waits before the next try. */
const RETRY_MS = 200;

/**
 * The spaces a commit touched: the one space as itself when there is only one (nearly every batch,
 * and every commit at one write in flight), so the check that runs after each commit while the
 * token registry watches allocates nothing; a set when there are several.
 */
function spacesTouched(changes: readonly Change[]): string | ReadonlySet<string> {
  const first = (changes[0] as Change).space;
  for (const change of changes) {
    if (change.space !== first) return new Set(changes.map((c) => c.space));
  }
  return first;
}

export class ChangeFeed implements ChangeSource {
  private recent: Change[] = [];
  /** Attribute text held in `recent`, in UTF-16 units (a bound, not an exact byte count). */
  private recentChars = 0;
  /** Every change after this seq, up to tailSeq, is in `recent`. */
  private memoryFloorSeq = 0;
  private tail = 0;
  private reading = false;
  private again = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;
  private logPages = 0;
  /** Log pages read in this turn of the loop so far, and the most of any turn before. */
  private turnPages = 0;
  private turnPagesMost = 0;
  private readonly endTurn = (): void => {
    this.turnPagesMost = Math.max(this.turnPagesMost, this.turnPages);
    this.turnPages = 0;
  };
  /** Another server committed after the tail while nobody watched: the tail moves to the head before a watcher comes. */
  private behind = false;

  constructor(private readonly log: ChangeLog, private readonly limits: Limits, private readonly logger: FeedLogger) {}

  /** Start at the log's head; `onCommit` subscribes `wake` to the engine's commit hook. */
  async start(onCommit: CommitSignal): Promise<void> {
    this.tail = (await this.log.readChanges(Number.MAX_SAFE_INTEGER, 1)).headSeq;
    this.memoryFloorSeq = this.tail;
    onCommit((changes) => {
      if (changes === undefined && this.subscriptions.size === 0) this.behind = true; // another server's commit (or a poll), unwatched
      else if (changes !== undefined && !this.reading && this.nobodyWants(changes)) this.skipPast(changes);
      else this.wake();
    });
  }

  /**
   * Whether this process's own commit concerns no watcher: nobody watches, or every watcher has
   * seen everything up to the tail and watches one space the commit does not touch (the server's
   * token registry watches only its own space, so with tokens on, user writes cost no read either).
   * With watchers, the commit must also follow the tail directly: seqs follow commit order with no
   * gap, so nothing another server committed lies unread between them.
   */
  private nobodyWants(changes: readonly Change[]): boolean {
    if (this.subscriptions.size === 0) return true;
    if (changes[0]?.seq !== this.tail + 1) return false;
    const touched = spacesTouched(changes);
    for (const subscription of this.subscriptions) {
      const space = subscription.spec.space;
      if (subscription.seq !== this.tail || space === undefined || (typeof touched === 'string' ? touched === space : touched.has(space))) return false;
    }
    return true;
  }

  /**
   * Move the tail past this process's own commit without reading it (see nobodyWants). The memory
   * starts afresh there, so a later watcher "from now" starts after it, and one from an older seq
   * reads the log; the watchers, all caught up, pass over it. (Another server's commits still come
   * by reading: their seqs are not known here.)
   */
  private skipPast(changes: readonly Change[]): void {
    const seq = changes[changes.length - 1]?.seq;
    if (seq === undefined || seq <= this.tail) return;
    this.restartMemoryAt(seq);
    for (const subscription of this.subscriptions) subscription.passOver(seq);
  }

  /** Forget the memory and stand at `seq`: whatever came before it is only in the log now. */
  private restartMemoryAt(seq: number): void {
    if (this.recent.length > 0) this.recent = []; // after each own commit nobody wants: most often empty already
    this.recentChars = 0;
    this.tail = seq;
    this.memoryFloorSeq = seq;
  }

  get tailSeq(): number {
    return this.tail;
  }

  get watchers(): number {
    return this.subscriptions.size;
  }

  /** Pages watchers read from the log because they had fallen behind the memory (for /healthz). */
  get fallbackPages(): number {
    return this.logPages;
  }

  /**
   * The most log pages read in one turn of the event loop since the server started (for /healthz):
   * how long replays held the loop at worst, counted by the server itself, so it does not depend on
   * when anyone asked. With `watchLogPagesPerTurnMax`, about that many per replaying watcher.
   */
  get mostLogPagesInOneTurn(): number {
    return Math.max(this.turnPagesMost, this.turnPages);
  }

  /**
   * A new watcher from `spec.since` (or from now); it starts feeding its sink when the caller,
   * having set the sink up (an SSE response's headers, a WebSocket reply), calls `pump()`. Refuses
   * a seq the store never reached (a resume against another store would silently miss changes) and
   * more than `watchersMax` watchers.
   */
  async subscribe(spec: WatchSpec, sink: WatchSink): Promise<Subscription> {
    this.admit();
    // The feed's tail may trail the store's head (another server's commits, not yet polled, or
    // passed over while nobody watched).
    if (this.behind || (spec.since !== undefined && spec.since > this.tail)) {
      const catchingUp = this.behind;
      this.behind = false;
      let headSeq: number;
      try {
        ({ headSeq } = await this.log.readChanges(Number.MAX_SAFE_INTEGER, 1));
      } catch (err) {
        this.behind ||= catchingUp;
        throw err;
      }
      if (catchingUp && headSeq > this.tail && !this.reading) this.restartMemoryAt(headSeq);
      if (spec.since !== undefined && spec.since > headSeq) throw new SpacekvError('bad_request', `'since' ${spec.since} is past this store's last seq ${headSeq}`);
      this.admit();
    }
    const subscription = new Subscription(this, spec, sink, spec.since ?? this.tail, this.limits);
    this.subscriptions.add(subscription);
    // A commit noted while the head was read, before this watcher counted: read it now.
    if (this.behind) {
      this.behind = false;
      this.wake();
    }
    return subscription;
  }

  private admit(): void {
    if (this.closed) throw new SpacekvError('shutting_down', 'the server is shutting down');
    if (this.subscriptions.size >= this.limits.watchersMax) {
      throw new SpacekvError('overloaded', `the server has ${this.subscriptions.size} watchers; retry later`, { limit: 'watchersMax' });
    }
  }

  release(subscription: Subscription): void {
    this.subscriptions.delete(subscription);
  }

  recentAfter(seq: number, max: number): readonly Change[] | undefined {
    if (seq < this.memoryFloorSeq) return undefined;
    const recent = this.recent;
    let lo = 0;
    let hi = recent.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((recent[mid] as Change).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    // Pages from memory are cut as pages from the log are: whole seqs, bounded in count and bytes
    // (so a burst of large objects reaches a watcher a page at a time, never all at once).
    const page = cutPage(recent.slice(lo, lo + max + 1), max);
    if (!('wholeSeq' in page)) return page.changes;
    let end = lo;
    while (end < recent.length && (recent[end] as Change).seq === page.wholeSeq) end++;
    return recent.slice(lo, end);
  }

  async readLog(seq: number, max: number): Promise<readonly Change[]> {
    this.logPages++;
    // The first page of a turn queues the count's end behind the replays' own yields (setImmediate
    // too): it runs when the loop comes round again.
    if (this.turnPages++ === 0) setImmediate(this.endTurn);
    return (await this.log.readChanges(seq, max)).changes;
  }

  /** End every watcher with `error` (shutdown) and stop reading. */
  close(error: WireError): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    for (const subscription of [...this.subscriptions]) subscription.end(error);
  }

  private wake(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    this.readNewEnd().then(
      () => {
        this.reading = false;
      },
      (err: unknown) => {
        this.reading = false;
        this.logger.warn({ err }, 'the change feed could not read the log; retrying');
        this.retry = setTimeout(() => this.wake(), RETRY_MS);
      },
    );
  }

  /** Read the log from the tail until caught up, waking the watchers after each page. */
  private async readNewEnd(): Promise<void> {
    do {
      this.again = false;
      for (;;) {
        const { changes, headSeq } = await this.readFromTail();
        if (changes.length === 0 || this.closed) break;
        this.remember(changes);
        for (const subscription of this.subscriptions) subscription.pump();
        if (this.tail >= headSeq) break;
      }
    } while (this.again && !this.closed);
  }

  /**
   * The next page after the tail. Should retention ever pass the tail (a feed stalled longer than
   * the log keeps changes), the feed starts again at the head with an empty memory: watchers behind
   * it then read the log themselves and end with `compacted`, rather than miss changes silently.
   */
  private async readFromTail(): Promise<ChangePage> {
    try {
      return await this.log.readChanges(this.tail, this.limits.watchPageChangesMax);
    } catch (err) {
      if (!(err instanceof SpacekvError && err.code === 'compacted')) throw err;
      const { headSeq } = await this.log.readChanges(Number.MAX_SAFE_INTEGER, 1);
      this.restartMemoryAt(headSeq);
      for (const subscription of this.subscriptions) subscription.pump();
      return { changes: [], headSeq };
    }
  }

  /**
   * Keep the newest changes: between recentChangesMax and twice that many (trimmed in one go, at a
   * seq boundary: amortized O(1) per change), and never more than recentChangeBytesMax of text.
   */
  private remember(changes: readonly Change[]): void {
    for (const change of changes) {
      this.recent.push(change);
      this.recentChars += change.attributesJson?.length ?? 0;
    }
    this.tail = (changes[changes.length - 1] as Change).seq;
    const { recentChangesMax: max, recentChangeBytesMax: bytesMax } = this.limits;
    if (this.recent.length <= max * 2 && this.recentChars <= bytesMax) return;
    let cut = Math.max(0, this.recent.length - max);
    let chars = this.recentChars;
    for (let i = 0; i < cut; i++) chars -= this.recent[i]?.attributesJson?.length ?? 0;
    while (cut < this.recent.length && chars > bytesMax / 2) chars -= this.recent[cut++]?.attributesJson?.length ?? 0;
    if (cut === 0) return;
    const seqAtCut = (this.recent[cut - 1] as Change).seq;
    while (cut < this.recent.length && (this.recent[cut] as Change).seq === seqAtCut) chars -= this.recent[cut++]?.attributesJson?.length ?? 0;
    this.memoryFloorSeq = seqAtCut;
    this.recent = this.recent.slice(cut);
    this.recentChars = chars;
  }
}
