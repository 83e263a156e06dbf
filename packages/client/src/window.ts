/**
 * HyperDex's window pattern as one call: run `fn` over `items` with at most `size` operations
 * outstanding. By default the first failure stops issuing new operations and rejects (after the
 * ones in flight settle); with `collectFailures` every item is tried and the failures returned.
 */
export interface WindowOptions {
  /** Try every item and return the failures instead of rejecting on the first. */
  readonly collectFailures?: boolean;
}

export interface WindowFailure<T> {
  readonly item: T;
  readonly index: number;
  readonly error: unknown;
}

export interface WindowResult<T> {
  readonly completed: number;
  readonly failures: readonly WindowFailure<T>[];
}

/**
 * @example
 * await window(lines, 1024, (line) => client.put('words', line, { count: 1 }));
 */
export async function window<T>(
  items: Iterable<T> | AsyncIterable<T>,
  size: number,
  fn: (item: T, index: number) => Promise<unknown>,
  options: WindowOptions = {},
): Promise<WindowResult<T>> {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`window size must be a positive integer, got ${size}`);
  const failures: WindowFailure<T>[] = [];
  let completed = 0;
  let inFlight = 0;
  // One waiter at a time: woken when a slot frees. (Promise.race over the in-flight set would cost
  // O(size) per operation.)
  let wake: (() => void) | undefined;
  const settle = (): void => {
    inFlight--;
    const waiter = wake;
    wake = undefined;
    waiter?.();
  };
  const slotFree = (limit: number): Promise<void> | undefined =>
    inFlight < limit ? undefined : new Promise<void>((resolve) => {
      wake = resolve;
    });
  let index = 0;
  for await (const item of items as AsyncIterable<T>) {
    while (inFlight >= size) await slotFree(size);
    if (failures.length > 0 && !options.collectFailures) break;
    const at = index++;
    inFlight++;
    let started: Promise<unknown>;
    try {
      started = fn(item, at);
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(
      () => {
        completed++;
        settle();
      },
      (error: unknown) => {
        failures.push({ item, index: at, error });
        settle();
      },
    );
  }
  while (inFlight > 0) await slotFree(1);
  if (failures.length > 0 && !options.collectFailures) throw (failures[0] as WindowFailure<T>).error;
  return { completed, failures };
}
