/**
 * How long a store's worker thread has been busy (running a message, not waiting for one), summed
 * over every thread that has done that job: a thread that dies is replaced, and Node counts a
 * worker's busy time only while it lives (after its exit the count reads zero). So the last reading
 * taken of a thread is kept when it goes; what it did after that reading is not counted. For the
 * SQLite writer, busy includes its batches' fsyncs: a writer busy nearly all the time is what
 * bounds write throughput.
 */
import type { Worker } from 'node:worker_threads';

export class ThreadClock {
  private worker: Worker | undefined;
  /** Busy time of the threads that are gone. */
  private retiredMs = 0;
  /** The current thread's busy time when last read. */
  private lastMs = 0;

  /** Count `worker` from now on, in place of the thread before it. */
  track(worker: Worker): void {
    if (this.worker) this.retire(this.worker);
    this.worker = worker;
  }

  /** `worker` is gone: keep what was last read of it (a thread already replaced was retired then). */
  retire(worker: Worker): void {
    if (worker !== this.worker) return;
    this.retiredMs += this.lastMs;
    this.lastMs = 0;
    this.worker = undefined;
  }

  busyMs(): number {
    // A thread that has just exited reads zero: never go below the last reading.
    if (this.worker) this.lastMs = Math.max(this.lastMs, this.worker.performance.eventLoopUtilization().active);
    return this.retiredMs + this.lastMs;
  }
}
