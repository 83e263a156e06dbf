/**
 * Bytes of replies the server holds for peers that have not taken them yet (docs/architecture.md §4.7): per
 * connection (`sendBufferBytesMax`) and across all of them (`replyBufferBytesMax`). Every front
 * counts what it hands a socket here and gives it back once the socket has passed it to the kernel,
 * so a peer that stops reading costs at most its own bound, and all of them together the global one.
 *
 * Counting, not sampling: a front learns the size of a reply when it sends it and when it is gone
 * from a write callback or the response's `close`; a connection that dies gives back whatever it
 * still held, so a lost callback can never shrink the budget for good.
 */

/** The server-wide count; past `bytesMax` new work is refused and streams wait for room. */
export class OutputBudget {
  private held = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly bytesMax: number) {}

  /** Bytes held for all peers now (the `spacekv_reply_buffer_bytes` gauge). */
  get bytes(): number {
    return this.held;
  }

  get full(): boolean {
    return this.held > this.bytesMax;
  }

  /** Open a meter for one connection (or one SSE stream), bounded at `bytesMax`. */
  meter(bytesMax: number): OutputMeter {
    return new OutputMeter(this, bytesMax);
  }

  /** Call `wake` once, when the budget next has room; returns a cancel. */
  whenRoom(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  /** @internal for OutputMeter */
  change(delta: number): void {
    this.held += delta;
    if (delta < 0 && this.waiters.size > 0 && !this.full) {
      const woken = [...this.waiters];
      this.waiters.clear();
      for (const wake of woken) wake();
    }
  }
}

/** One connection's share: what it holds, its own bound, and who waits for it to drain. */
export class OutputMeter {
  private held = 0;
  private closed = false;
  private readonly drained = new Set<() => void>();

  constructor(private readonly budget: OutputBudget, readonly bytesMax: number) {}

  get bytes(): number {
    return this.held;
  }

  /** Past its own bound: run no more of this connection's work until it drains. */
  get full(): boolean {
    return this.held > this.bytesMax;
  }

  /** The server-wide budget is past its bound: new work is refused. */
  get budgetFull(): boolean {
    return this.budget.full;
  }

  /**
   * Count `bytes` handed to the socket; the returned function gives them back (call it once, when
   * the socket has written them; calls after `close` do nothing).
   */
  hold(bytes: number): () => void {
    if (this.closed) return noop;
    this.held += bytes;
    this.budget.change(bytes);
    let given = false;
    return () => {
      if (given || this.closed) return;
      given = true;
      this.give(bytes);
    };
  }

  /** Call `wake` once, when this connection is back within its bound. */
  whenDrained(wake: () => void): void {
    this.drained.add(wake);
  }

  /** The connection ended: give back all it held, and forget whoever waited on it. */
  close(): void {
    if (this.closed) return;
    this.budget.change(-this.held);
    this.held = 0;
    this.closed = true;
    this.drained.clear();
  }

  private give(bytes: number): void {
    this.held -= bytes;
    this.budget.change(-bytes);
    if (this.drained.size > 0 && !this.full) {
      const woken = [...this.drained];
      this.drained.clear();
      for (const wake of woken) wake();
    }
  }
}

function noop(): void {}
