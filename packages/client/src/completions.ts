/**
 * HyperDex's `loop()`: wait for the next operation to complete, whichever it is. Each operation
 * the client issues is recorded here when it settles; `next()` hands each out exactly once, in
 * completion order. Code that never calls `loop()` must not leak, so the backlog of completions
 * not yet looped is bounded: past `backlogMax`, the oldest are forgotten.
 */
import { type SpacekvError, errorOf } from './errors.js';
import type { OperationHandle } from './handle.js';

/** What `loop()` resolves with: the operation's promise (as returned when it was issued) and its outcome. */
export type Completion<T = unknown> =
  | { readonly handle: OperationHandle<T>; readonly ok: true; readonly value: T }
  | { readonly handle: OperationHandle<T>; readonly ok: false; readonly error: SpacekvError };

function nothingOutstanding(): SpacekvError {
  return errorOf('bad_request', 'loop() called with no operation outstanding');
}

export class Completions {
  private backlog: Completion[] = [];
  private head = 0;
  /** Whether operations are still outstanding; set by the latest next(). */
  private more: () => boolean = () => true;
  private readonly waiters: { resolve: (completion: Completion) => void; reject: (error: SpacekvError) => void }[] = [];

  constructor(private readonly backlogMax: number) {}

  record(completion: Completion): void {
    if (completion.handle.consumed) return this.wakeIfNothingLeft();
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve(completion);
    this.backlog.push(completion);
    if (this.backlog.length - this.head > this.backlogMax) this.head++;
    if (this.head > 1024 && this.head * 2 > this.backlog.length) {
      this.backlog = this.backlog.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The next completion not consumed by its caller. `more()` says whether operations are still
   * outstanding; when none are and none is left here, there is nothing to wait for.
   */
  next(more: () => boolean): Promise<Completion> {
    this.more = more;
    while (this.head < this.backlog.length) {
      const completion = this.backlog[this.head] as Completion;
      this.backlog[this.head++] = undefined as unknown as Completion;
      if (!completion.handle.consumed) return Promise.resolve(completion);
    }
    if (!more()) return Promise.reject(nothingOutstanding());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** A consumed operation settled: loop() callers waiting for it must not wait forever. */
  private wakeIfNothingLeft(): void {
    if (this.waiters.length === 0 || this.more()) return;
    for (const waiter of this.waiters.splice(0)) waiter.reject(nothingOutstanding());
  }
}
