/**
 * One watcher's position in the change log and the loop that feeds it (docs/architecture.md §4.6): ordered,
 * no gaps, resumable. The position is a seq; every change after it reaches the sink in log order,
 * from the feed's memory while the watcher keeps up, from the log (in slices that yield the event
 * loop) when it has fallen behind. A
 * sink that is full pauses the loop (nothing more is taken for it) until it calls `resume()`, so a
 * slow watcher costs its own send buffer and one page, never unbounded memory.
 */
import { type Change, type Limits, StepBudget, type WatchSpec, type WireError, SpacekvError, encodeChangeEvent, watchMatches } from '@spacekv/core';

/** Where a subscription's events go (an SSE response, a WebSocket connection). */
export interface WatchSink {
  /**
   * A page of matching events (encoded JSON), whole seqs, in order, with each event's seq.
   * Returns false when the sink is full: the subscription pauses until the sink calls `resume()`.
   */
  deliver(events: readonly string[], seqs: readonly number[]): boolean;
  /**
   * Whether the sink takes a page now; asked before each page is read. False pauses the
   * subscription (nothing is read for it) until the sink calls `resume()`. Absent: always ready.
   */
  ready?(): boolean;
  /** The subscription ended (shutdown, `compacted`, a failing store); nothing follows. */
  end(error: WireError): void;
}

/** What a subscription needs of the feed. */
export interface ChangeSource {
  /** The seq through which the log has been read. */
  readonly tailSeq: number;
  /** Changes after `seq` from memory (whole seqs, about `max`), or undefined when memory does not reach back that far. */
  recentAfter(seq: number, max: number): readonly Change[] | undefined;
  /** Changes after `seq` from the log (rejects `compacted`). */
  readLog(seq: number, max: number): Promise<readonly Change[]>;
  release(subscription: Subscription): void;
}

export class Subscription {
  private pumping = false;
  private wanted = false;
  private paused = false;
  private closed = false;

  constructor(
    private readonly source: ChangeSource,
    readonly spec: WatchSpec,
    private readonly sink: WatchSink,
    private position: number,
    private readonly limits: Limits,
  ) {}

  /** The seq of the last change this watcher has been given or passed over. */
  get seq(): number {
    return this.position;
  }

  /**
   * The feed moved past changes none of which this watcher wants, without reading them (its own
   * commits to other spaces): the position moves with it, so the next page comes from memory.
   */
  passOver(seq: number): void {
    if (seq > this.position) this.position = seq;
  }

  /** The sink drained: carry on from the position. */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Stop, without telling the sink (it asked). */
  cancel(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.release(this);
  }

  /** Stop and tell the sink why. */
  end(error: WireError): void {
    if (this.closed) return;
    this.cancel();
    this.sink.end(error);
  }

  /** New changes may be there: feed them, unless a feeding loop already runs (it will see them). */
  pump(): void {
    this.wanted = true;
    if (this.pumping) return;
    this.pumping = true;
    this.feed().then(
      () => {
        this.pumping = false;
        // A resume that came while this loop was ending (a sink's write callback can run before
        // the loop's promise settles) found it still pumping: carry on for it now.
        if (this.wanted && !this.paused && !this.closed) this.pump();
      },
      (err: unknown) => {
        this.pumping = false;
        const error = err instanceof SpacekvError ? err.toWire() : { code: 'unavailable', message: `the change log cannot be read: ${(err as Error).message}` } as const;
        this.end(error);
      },
    );
  }

  /**
   * A replay from an old seq reads the log page after page; each read holds the event loop for about
   * a millisecond, so after `logPagesPerTurnMax` of them the loop takes its other work (requests,
   * other watchers, a `close` that cancels this one) before the next: millions of logged changes
   * never make the server unresponsive, and a watcher that went away reads no further.
   */
  private async feed(): Promise<void> {
    let logPages = 0;
    while (this.wanted && !this.paused && !this.closed) {
      this.wanted = false;
      while (!this.paused && !this.closed && this.position < this.source.tailSeq) {
        if (this.sink.ready?.() === false) {
          this.paused = true;
          break;
        }
        let page = this.source.recentAfter(this.position, this.limits.watchPageChangesMax);
        if (page === undefined) {
          if (++logPages > this.limits.watchLogPagesPerTurnMax) {
            logPages = 1;
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (this.paused || this.closed) break;
          }
          page = await this.source.readLog(this.position, this.limits.watchPageChangesMax);
        }
        if (page.length === 0 || this.closed) break;
        this.position = (page[page.length - 1] as Change).seq;
        this.send(page);
      }
    }
  }

  private send(page: readonly Change[]): void {
    const events: string[] = [];
    const seqs: number[] = [];
    const budget = StepBudget.forCondition(this.limits); // the filter runs on the event loop: one budget a page
    for (const change of page) {
      if (!watchMatches(this.spec, change, budget)) continue;
      events.push(encodeChangeEvent(change));
      seqs.push(change.seq);
    }
    if (events.length > 0 && !this.sink.deliver(events, seqs)) this.paused = true;
  }
}
