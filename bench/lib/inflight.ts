/**
 * The one driver of step 6: keeps exactly `inFlight` operations outstanding from one process until
 * `total` have been issued, and records each operation's latency. The spacekv client and ioredis are
 * driven by this same code, so neither gets a cheaper loop than the other.
 *
 * Every completion issues the next operation from its own callback: no window helper, no queue, no
 * timer. Throughput is the steady state: while operations are still being issued exactly
 * `inFlight` are outstanding, so when the last one is issued exactly `total - inFlight` have
 * completed; ops/s is that count over the time from the first issue to the last. The drain at the
 * end (fewer than `inFlight` outstanding) is left out of ops/s; the latencies of every operation are
 * kept (each was issued with `inFlight` outstanding).
 */
import { percentile } from './stats.js';

export interface InFlightResult {
  readonly inFlight: number;
  readonly total: number;
  /** Steady-state operations per second (see above). */
  readonly opsPerSec: number;
  /** Wall seconds from the first issue to the last completion. */
  readonly seconds: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Operations whose result `check` refused (a get that found nothing, a SET not answered OK). */
  readonly wrongResults: number;
}

/**
 * `issue(i)` starts operation `i` (0 ≤ i < total) and returns its promise; `check` judges each
 * result inside the driver's own callback (no extra promise per operation). The first rejection
 * rejects the run, once the operations already in flight have settled.
 */
export function runInFlight<T>(
  inFlight: number,
  total: number,
  issue: (i: number) => Promise<T>,
  check: (value: T) => boolean = () => true,
): Promise<InFlightResult> {
  if (!Number.isSafeInteger(inFlight) || inFlight < 1) throw new RangeError(`inFlight must be a positive integer, got ${inFlight}`);
  if (!Number.isSafeInteger(total) || total <= inFlight) throw new RangeError(`total (${total}) must exceed inFlight (${inFlight})`);
  return new Promise((resolve, reject) => {
    const latencyUs = new Float64Array(total);
    let issued = 0;
    let settled = 0;
    let wrongResults = 0;
    let failure: unknown;
    let lastIssueAt = 0;
    const startedAt = performance.now();

    const finish = (): void => {
      if (failure !== undefined) return reject(failure);
      const endedAt = performance.now();
      const steadySeconds = (lastIssueAt - startedAt) / 1000;
      resolve({
        inFlight,
        total,
        opsPerSec: (total - inFlight) / steadySeconds,
        seconds: (endedAt - startedAt) / 1000,
        p50Us: percentile(latencyUs, 50),
        p99Us: percentile(latencyUs, 99),
        wrongResults,
      });
    };

    const start = (): void => {
      const i = issued++;
      const issuedAt = performance.now();
      if (issued === total) lastIssueAt = issuedAt;
      let promise: Promise<T>;
      try {
        promise = issue(i);
      } catch (err) {
        promise = Promise.reject(err);
      }
      promise.then(
        (value) => {
          latencyUs[i] = (performance.now() - issuedAt) * 1000;
          if (!check(value)) wrongResults++;
          settled++;
          if (issued < total && failure === undefined) start();
          else if (settled === issued) finish();
        },
        (err: unknown) => {
          failure ??= err;
          settled++;
          if (settled === issued) finish();
        },
      );
    };

    for (let k = 0; k < inFlight; k++) start();
  });
}
