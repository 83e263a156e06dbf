/**
 * Per-connection order (docs/architecture.md §4.3): operations sent on one connection take effect in the order
 * sent. Writes go to the group committer in order, and the committer keeps that order, so a write
 * may follow another write at once. A read must wait for the writes sent before it, and a write for
 * the (asynchronous) reads sent before it; everything else runs immediately.
 *
 * A front that learns of a request before it can build its operation (HTTP reads a body after the
 * request line) `reserve`s the request's place first, in arrival order, and fills it later.
 *
 * A session also bounds what one connection may have accepted but not answered, so one client
 * cannot queue without limit (`overloaded`).
 */
import { type Operation, type Result, SpacekvError, isReadOp } from '@spacekv/core';

export interface OperationRunner {
  /** Account for an accepted operation; throws (e.g. `shutting_down`) to refuse it. */
  admit(): void;
  /** An admitted operation was answered or given up. */
  done(): void;
  /** Run a read; stores that answer synchronously return the result itself. */
  read(op: Operation): Result | Promise<Result>;
  write(op: Operation): Promise<Result>;
}

/** A place in the session's order, taken before the operation is known. */
export interface Ticket {
  /**
   * Fill the place with its operation; it runs once everything before it allows. A read first in
   * line that the store answers synchronously is answered synchronously.
   */
  run(op: Operation): Result | Promise<Result>;
  /** Give the place up (the request failed before it had an operation). No-op once run. */
  cancel(): void;
  /** Whether `run` was called. */
  readonly used: boolean;
}

interface Slot {
  op?: Operation;
  isRead: boolean;
  cancelled: boolean;
  resolve: (result: Result) => void;
  reject: (err: unknown) => void;
}

const NOOP = (): void => {};

export class Session {
  private waiting: Slot[] = [];
  private waitingHead = 0;
  private readsInFlight = 0;
  private writesInFlight = 0;
  private accepted = 0;

  constructor(private readonly runner: OperationRunner, private readonly inflightMax: number) {}

  /** Requests accepted and not yet answered. */
  get inflight(): number {
    return this.accepted;
  }

  /** Run `op` in this session's order. */
  execute(op: Operation): Promise<Result> {
    try {
      return Promise.resolve(this.submit(op));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * `execute` for fronts on the hot path: a read that may run at once and that the store answers
   * synchronously is answered synchronously, without a promise or a queue slot. Throws when the
   * operation is refused (`overloaded`, `shutting_down`).
   */
  submit(op: Operation): Result | Promise<Result> {
    if (this.waitingHead === this.waiting.length) {
      const isRead = isReadOp(op);
      if (isRead && this.writesInFlight === 0) {
        this.admitOne();
        return this.readNow(op);
      }
      if (!isRead && this.readsInFlight === 0) {
        this.admitOne();
        return this.writeNow(op); // nothing waits ahead of it: no queue slot needed
      }
    }
    return this.reserve().run(op);
  }

  /**
   * Start an admitted write that may start now (the committer keeps write order). The bookkeeping
   * is the first reaction on the write's promise, so operations it lets start are answered after
   * this write, in the order sent.
   */
  private writeNow(op: Operation): Promise<Result> {
    this.writesInFlight++;
    const written = this.runner.write(op);
    const done = (): void => {
      this.writesInFlight--;
      this.release();
      this.drain();
    };
    written.then(done, done);
    return written;
  }

  /** Run an admitted read that may start now; synchronously when the store answers so. */
  private readNow(op: Operation): Result | Promise<Result> {
    let result: Result | Promise<Result>;
    try {
      result = this.runner.read(op);
    } catch (err) {
      this.release();
      throw err;
    }
    if (!(result instanceof Promise)) {
      this.release();
      return result;
    }
    this.readsInFlight++;
    return result.finally(() => {
      this.readsInFlight--;
      this.release();
      this.drain();
    });
  }

  /** Take the next place in order; throws `overloaded` past the in-flight bound. */
  reserve(): Ticket {
    this.admitOne();
    const slot: Slot = { isRead: false, cancelled: false, resolve: NOOP, reject: NOOP };
    this.waiting.push(slot);
    return {
      run: (op) => this.fill(slot, op),
      get used() {
        return slot.op !== undefined;
      },
      cancel: () => {
        if (slot.op || slot.cancelled) return;
        slot.cancelled = true;
        this.release();
        this.drain();
      },
    };
  }

  private fill(slot: Slot, op: Operation): Result | Promise<Result> {
    if (slot.op || slot.cancelled) return Promise.reject(new SpacekvError('internal', 'a session ticket was used twice'));
    if (this.waiting[this.waitingHead] === slot && this.writesInFlight === 0 && isReadOp(op)) {
      // First in line and free to run: answer without a promise when the store can.
      slot.op = op;
      this.waitingHead++;
      try {
        return this.readNow(op);
      } finally {
        this.drain();
      }
    }
    return new Promise<Result>((resolve, reject) => {
      slot.op = op;
      slot.isRead = isReadOp(op);
      slot.resolve = resolve;
      slot.reject = reject;
      this.drain();
    });
  }

  private canStart(slot: Slot): boolean {
    if (!slot.op) return false;
    return slot.isRead ? this.writesInFlight === 0 : this.readsInFlight === 0;
  }

  /**
   * Start a queued slot. Unlike readNow/writeNow it settles the slot's own promise inside the
   * bookkeeping (finish), before the operations it unblocks start: forwarding their outcome would
   * add a hop and let a later operation be answered first.
   */
  private start(slot: Slot): void {
    const op = slot.op as Operation;
    if (slot.isRead) {
      let result: Result | Promise<Result>;
      try {
        result = this.runner.read(op);
      } catch (err) {
        this.settle(slot, err, true);
        return;
      }
      if (!(result instanceof Promise)) {
        this.settle(slot, result, false);
        return;
      }
      this.readsInFlight++;
      result.then((r) => this.finish(slot, r), (err: unknown) => this.finish(slot, err, true));
      return;
    }
    this.writesInFlight++;
    this.runner.write(op).then((r) => this.finish(slot, r), (err: unknown) => this.finish(slot, err, true));
  }

  private finish(slot: Slot, outcome: unknown, failed = false): void {
    if (slot.isRead) this.readsInFlight--;
    else this.writesInFlight--;
    this.settle(slot, outcome, failed);
    this.drain();
  }

  private admitOne(): void {
    if (this.accepted >= this.inflightMax) {
      throw new SpacekvError('overloaded', `this connection has ${this.accepted} requests in flight; the limit is ${this.inflightMax}`, { limit: 'inflightRequestsMax' });
    }
    this.runner.admit();
    this.accepted++;
  }

  private release(): void {
    this.accepted--;
    this.runner.done();
  }

  private settle(slot: Slot, outcome: unknown, failed: boolean): void {
    this.release();
    if (failed) slot.reject(outcome);
    else slot.resolve(outcome as Result);
  }

  /** Start every slot at the head that may start, in order; stop at the first that may not. */
  private drain(): void {
    while (this.waitingHead < this.waiting.length) {
      const slot = this.waiting[this.waitingHead] as Slot;
      if (!slot.cancelled) {
        if (!this.canStart(slot)) break;
        this.start(slot);
      }
      this.waitingHead++;
    }
    if (this.waitingHead === this.waiting.length) {
      this.waiting = [];
      this.waitingHead = 0;
    } else if (this.waitingHead >= 1024 && this.waitingHead * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead); // keep a long-lived pipeline's queue from growing
      this.waitingHead = 0;
    }
  }
}
