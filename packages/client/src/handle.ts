/**
 * The promise an operation returns. It is an ordinary promise to `await`, with one addition that
 * HyperDex's `loop()` needs: it knows whether the caller has consumed it (`then`, `await`,
 * `Promise.all`), so `loop()` hands out only the operations nobody is awaiting otherwise.
 */
const NOOP = (): void => {};

export class OperationHandle<T> extends Promise<T> {
  /** True once the caller attached a handler; `loop()` then skips this operation. */
  consumed = false;

  // Promises derived from a handle (`.then(...)`) are plain promises, not handles.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.consumed = true;
    return super.then(onFulfilled, onRejected);
  }

  /** A handle with its settle functions, so the client can settle it without consuming it. */
  static create<T>(): { handle: OperationHandle<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
    let resolve!: (value: T) => void;
    let settleRejected!: (error: unknown) => void;
    const handle = new OperationHandle<T>((res, rej) => {
      resolve = res;
      settleRejected = rej;
    });
    const reject = (error: unknown): void => {
      // Failures reach the caller through await or loop(); an operation consumed by neither must
      // not crash the process as an unhandled rejection (HyperDex: unwaited operations promise
      // nothing). The guard is attached only on failure, sparing a promise per successful operation.
      Promise.prototype.then.call(handle, undefined, NOOP);
      settleRejected(error);
    };
    return { handle, resolve, reject };
  }
}
