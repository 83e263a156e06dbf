/**
 * Group commit without timers (docs/architecture.md §4.4, STYLE.md §4): a queue, one batch in flight, the
 * next filling meanwhile. An idle committer starts a batch at the end of the current tick (a
 * microtask, not a timer), so a frame of many writes commits together and a lone write waits for
 * nothing. Every member gets its own outcome; a full queue refuses new writes with `overloaded`.
 */
import { SpacekvError } from '@spacekv/core';
import type { BatchMember, MemberOutcome, Store } from '../store/store.js';

interface Waiting {
  readonly member: BatchMember;
  readonly resolve: (outcome: MemberOutcome) => void;
  readonly reject: (err: Error) => void;
}

export interface CommitObserver {
  /** Called after each batch is durable (or failed as a whole). */
  batchCommitted(size: number, seconds: number): void;
  /** An online index build on `space`.`attribute` has indexed `indexedObjects` objects so far. */
  indexProgress?(space: string, attribute: string, indexedObjects: number): void;
}

export class GroupCommitter {
  private queue: Waiting[] = [];
  private inFlight = false;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly batchWritesMax: number,
    private readonly queueDepthMax: number,
    private readonly observer: CommitObserver,
    private readonly afterBatch: (outcomes: readonly MemberOutcome[]) => void,
  ) {}

  /** Writes waiting for a batch (not counting the one in flight). */
  get depth(): number {
    return this.queue.length;
  }

  submit(member: BatchMember): Promise<MemberOutcome> {
    if (this.queue.length >= this.queueDepthMax) {
      return Promise.reject(new SpacekvError('overloaded', `the write queue holds ${this.queue.length} writes; retry later`, { limit: 'writeQueueDepthMax' }));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ member, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.inFlight && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.commitNext();
    });
  }

  private async commitNext(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch = this.queue.length <= this.batchWritesMax ? this.queue : this.queue.slice(0, this.batchWritesMax);
    this.queue = this.queue.length <= this.batchWritesMax ? [] : this.queue.slice(this.batchWritesMax);
    const started = performance.now();
    try {
      const outcomes = await this.store.commit(batch.map((w) => w.member));
      this.observer.batchCommitted(batch.length, (performance.now() - started) / 1000);
      this.afterBatch(outcomes);
      batch.forEach((waiting, i) => waiting.resolve(outcomes[i] as MemberOutcome));
    } catch (err) {
      const error = err instanceof SpacekvError ? err : new SpacekvError('outcome_unknown', `the commit failed: ${(err as Error).message}`);
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.inFlight = false;
      if (this.queue.length > 0) void this.commitNext();
      else this.wakeIdleWaiters();
    }
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
