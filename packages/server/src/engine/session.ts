/**
 * Per-key order (docs/architecture.md §4.3), as HyperDex: on one connection, operations naming the same key of
 * the same space take effect in the order sent; operations on different keys do not wait for one
 * another; a multi-key operation (tx, search, count, list, group and admin operations) takes effect
 * after every write sent before it to what it reads or writes. A client that needs B after A on
 * different keys waits for A's reply before it sends B. The order table (order-table.ts) decides
 * what waits for what; a write that follows another write of its key goes to the group committer
 * at once, which keeps their order, so a pipeline of writes still fills one batch.
 *
 * A front that learns of a request before it can build its operation (HTTP reads a body after the
 * request line) `reserve`s the request's place first, in arrival order, and fills it later. Until
 * it is filled, the requests after it wait at the gate (not for its commit: only for its body).
 *
 * A session also bounds what one connection may have accepted but not answered, so one client
 * cannot queue without limit (`overloaded`).
 */
import { type Operation, type Result, SpacekvError, isReadOp } from '@spacekv/core';
import { footprintOf } from './footprint.js';
import { type Claim, type Claimant, OrderTable } from './order-table.js';

export interface OperationRunner {
  /** Account for an accepted operation; throws (e.g. `shutting_down`) to refuse it. */
  admit(): void;
  /** An admitted operation was answered or given up. */
  done(): void;
  /** Run a read; stores that answer synchronously return the result itself. */
  read(op: Operation): Result | Promise<Result>;
  /** Run a read of one object as a member of the next group-commit batch, behind the writes before it. */
  readInBatch(op: Operation): Promise<Result>;
  write(op: Operation): Promise<Result>;
}

/** A place in the session's order, taken before the operation is known. */
export interface Ticket {
  /**
   * Fill the place with its operation; it runs once everything it depends on allows. A read that
   * may run at once and that the store answers synchronously is answered synchronously.
   */
  run(op: Operation): Result | Promise<Result>;
  /** Give the place up (the request failed before it had an operation). No-op once run. */
  cancel(): void;
  /** Whether `run` was called. */
  readonly used: boolean;
}

/** An admitted operation in the order table. */
class Pending implements Claimant {
  waits = 0;
  batched = false;
  claims: readonly Claim[] = [];
  resolve: (result: Result) => void = NOOP;
  reject: (err: unknown) => void = NOOP;

  constructor(readonly op: Operation) {}
}

/** A reserved place at the gate: its operation, once known. One object per request, its own ticket. */
class Slot implements Ticket {
  op: Operation | undefined = undefined;
  cancelled = false;
  resolve: (result: Result) => void = NOOP;
  reject: (err: unknown) => void = NOOP;

  constructor(private readonly session: Session) {}

  get used(): boolean {
    return this.op !== undefined;
  }

  run(op: Operation): Result | Promise<Result> {
    return this.session.fill(this, op);
  }

  cancel(): void {
    this.session.abandon(this);
  }
}

const NOOP = (): void => {};

export class Session {
  private readonly table = new OrderTable((claimant) => this.ready.push(claimant as Pending));
  /** Operations whose claims were all granted, to start in that order (see startReady). */
  private ready: Pending[] = [];
  private starting = false;
  /** Reserved places, in arrival order, up to the last one not yet filled. */
  private gate: Slot[] = [];
  private gateHead = 0;
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
   * synchronously is answered synchronously, without a promise. Throws when the operation is
   * refused (`overloaded`, `shutting_down`) or fails at once.
   */
  submit(op: Operation): Result | Promise<Result> {
    if (this.gateHead < this.gate.length) return this.reserve().run(op);
    this.admitOne();
    return this.enter(op);
  }

  /** Take the next place in order; throws `overloaded` past the in-flight bound. */
  reserve(): Ticket {
    this.admitOne();
    const slot = new Slot(this);
    this.gate.push(slot);
    return slot;
  }

  /** @internal Slot.cancel */
  abandon(slot: Slot): void {
    if (slot.op || slot.cancelled) return;
    slot.cancelled = true;
    this.release();
    this.openGate();
  }

  /** @internal Slot.run */
  fill(slot: Slot, op: Operation): Result | Promise<Result> {
    if (slot.op || slot.cancelled) return Promise.reject(new SpacekvError('internal', 'a session ticket was used twice'));
    slot.op = op;
    if (this.gate[this.gateHead] === slot) {
      this.gateHead++;
      try {
        return this.enter(op);
      } finally {
        this.openGate();
      }
    }
    return new Promise<Result>((resolve, reject) => {
      slot.resolve = resolve;
      slot.reject = reject;
    });
  }

  /** Let through the gate every place at its head that is filled (or given up), in order. */
  private openGate(): void {
    while (this.gateHead < this.gate.length) {
      const slot = this.gate[this.gateHead] as Slot;
      if (!slot.op && !slot.cancelled) break;
      this.gateHead++;
      if (!slot.op) continue;
      try {
        const outcome = this.enter(slot.op);
        if (outcome instanceof Promise) outcome.then(slot.resolve, slot.reject);
        else slot.resolve(outcome);
      } catch (err) {
        slot.reject(err);
      }
    }
    if (this.gateHead === this.gate.length) {
      this.gate.length = 0; // emptied in place: a request that fills its place at once would otherwise allocate a new array
      this.gateHead = 0;
    }
  }

  /**
   * Put an admitted operation in the order table, and run it now if nothing it depends on is in
   * flight. A synchronous read holds no claim: it is over before anything else can arrive.
   */
  private enter(op: Operation): Result | Promise<Result> {
    if ((op.op === 'get' || op.op === 'get_partial') && this.table.readsNow(op.space, op.key)) return this.readAtOnce(op);
    const pending = new Pending(op);
    pending.claims = this.table.acquire(pending, footprintOf(op));
    if (pending.waits > 0) {
      return new Promise<Result>((resolve, reject) => {
        pending.resolve = resolve;
        pending.reject = reject;
      });
    }
    return this.runNow(pending);
  }

  /**
   * Run a point read that nothing holds up. A store that answers it synchronously is done before
   * anything else can arrive, so the read never enters the table; an asynchronous one's read enters
   * it while it runs (granted at once: nothing holds its key), so that later writes of its key wait.
   */
  private readAtOnce(op: Operation): Result | Promise<Result> {
    const pending = new Pending(op);
    const outcome = this.runNow(pending);
    if (outcome instanceof Promise) {
      pending.claims = this.table.acquire(pending, footprintOf(op));
      this.table.started(pending.claims);
    }
    return outcome;
  }

  /** Run an operation whose claims are all granted, for a caller that awaits what this returns. */
  private runNow(pending: Pending): Result | Promise<Result> {
    let outcome: Result | Promise<Result>;
    try {
      outcome = this.run(pending);
    } catch (err) {
      this.finish(pending);
      throw err;
    }
    if (!(outcome instanceof Promise)) {
      this.finish(pending);
      return outcome;
    }
    return new Promise<Result>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
      this.settleWhen(pending, outcome);
    });
  }

  /** Start an operation that waited, once its claims are granted; its caller holds its promise. */
  private start(pending: Pending): void {
    let outcome: Result | Promise<Result>;
    try {
      outcome = this.run(pending);
    } catch (err) {
      pending.reject(err);
      this.finish(pending);
      return;
    }
    if (outcome instanceof Promise) this.settleWhen(pending, outcome);
    else {
      pending.resolve(outcome);
      this.finish(pending);
    }
  }

  private run(pending: Pending): Result | Promise<Result> {
    this.table.started(pending.claims);
    if (pending.batched) return this.runner.readInBatch(pending.op);
    return isReadOp(pending.op) ? this.runner.read(pending.op) : this.runner.write(pending.op);
  }

  /**
   * Settle the operation's own promise before releasing its claims, so the operations it lets
   * start are answered after it, in the order sent.
   */
  private settleWhen(pending: Pending, outcome: Promise<Result>): void {
    outcome.then((result) => {
      pending.resolve(result);
      this.finish(pending);
    }, (err: unknown) => {
      pending.reject(err);
      this.finish(pending);
    });
  }

  private finish(pending: Pending): void {
    this.release();
    this.table.release(pending.claims);
    this.startReady();
  }

  /** Start the operations the table made ready, one after another (never from inside the table). */
  private startReady(): void {
    if (this.starting) return;
    this.starting = true;
    try {
      for (let i = 0; i < this.ready.length; i++) this.start(this.ready[i] as Pending);
    } finally {
      this.ready = [];
      this.starting = false;
    }
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
}
