/**
 * Per-connection order (DESIGN.md §4.3): operations sent on one connection take effect in the order
 * sent. Writes go to the group committer in order, and the committer keeps that order, so a write
 * may follow another write at once. A read must wait for the writes sent before it, and a write for
 * the (asynchronous) reads sent before it; everything else runs immediately.
 *
 * A session also bounds what one connection may have accepted but not answered, so one client
 * cannot queue without limit (`overloaded`).
 */
import { type Operation, type Result, SpacekvError, isReadOp } from '@spacekv/core';

export interface OperationRunner {
  /** Run a read; stores that answer synchronously return the result itself. */
  read(op: Operation): Result | Promise<Result>;
  write(op: Operation): Promise<Result>;
}

interface Job {
  readonly op: Operation;
  readonly isRead: boolean;
  readonly resolve: (result: Result) => void;
  readonly reject: (err: unknown) => void;
}

export class Session {
  private readonly waiting: Job[] = [];
  private waitingHead = 0;
  private readsInFlight = 0;
  private writesInFlight = 0;
  private accepted = 0;

  constructor(private readonly runner: OperationRunner, private readonly inflightMax: number) {}

  /** Requests accepted and not yet answered. */
  get inflight(): number {
    return this.accepted;
  }

  execute(op: Operation): Promise<Result> {
    if (this.accepted >= this.inflightMax) {
      return Promise.reject(new SpacekvError('overloaded', `this connection has ${this.accepted} requests in flight; the limit is ${this.inflightMax}`, { limit: 'inflightRequestsMax' }));
    }
    this.accepted++;
    return new Promise<Result>((resolve, reject) => {
      const job: Job = { op, isRead: isReadOp(op), resolve, reject };
      if (this.waitingHead === this.waiting.length && this.canStart(job)) this.start(job);
      else this.waiting.push(job);
    });
  }

  private canStart(job: Job): boolean {
    return job.isRead ? this.writesInFlight === 0 : this.readsInFlight === 0;
  }

  private start(job: Job): void {
    if (job.isRead) {
      let result: Result | Promise<Result>;
      try {
        result = this.runner.read(job.op);
      } catch (err) {
        this.settle(job, err, true);
        this.drain();
        return;
      }
      if (!(result instanceof Promise)) {
        this.accepted--;
        job.resolve(result);
        return;
      }
      this.readsInFlight++;
      result.then((r) => this.finish(job, r), (err: unknown) => this.finish(job, err, true));
      return;
    }
    this.writesInFlight++;
    this.runner.write(job.op).then((r) => this.finish(job, r), (err: unknown) => this.finish(job, err, true));
  }

  private finish(job: Job, outcome: unknown, failed = false): void {
    if (job.isRead) this.readsInFlight--;
    else this.writesInFlight--;
    this.settle(job, outcome, failed);
    this.drain();
  }

  private settle(job: Job, outcome: unknown, failed: boolean): void {
    this.accepted--;
    if (failed) job.reject(outcome);
    else job.resolve(outcome as Result);
  }

  private drain(): void {
    while (this.waitingHead < this.waiting.length) {
      const job = this.waiting[this.waitingHead] as Job;
      if (!this.canStart(job)) return;
      this.waitingHead++;
      this.start(job);
      if (this.waitingHead >= 1024 && this.waitingHead * 2 >= this.waiting.length) {
        this.waiting.splice(0, this.waitingHead); // keep a long-lived pipeline's queue from growing
        this.waitingHead = 0;
      }
    }
    this.waiting.length = 0;
    this.waitingHead = 0;
  }
}
