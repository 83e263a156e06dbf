/**
 * The history recorder: what concurrent clients saw, as Jepsen records it. Each operation is invoked
 * once and completes once with one of three outcomes:
 * - `ok`: it happened (a failed condition such as `cmp_fail` is `ok` too: it took effect as a read);
 * - `fail`: it definitely did not happen (`unavailable`, `overloaded`, a read cut off);
 * - `info`: unknown (`outcome_unknown`, a write whose connection dropped): it may have happened at any
 *   time after its invocation, so the checkers give it no return time and no output.
 * Timestamps are monotonic nanoseconds (process.hrtime.bigint), never wall-clock time.
 */
export type Outcome = 'ok' | 'fail' | 'info';

export interface HistoryOp<I, O> {
  /** Position of the invocation in the history. */
  readonly index: number;
  /** The logical client (Jepsen's process) that issued it; one operation at a time per process. */
  readonly process: number;
  /** The object it is about: histories are checked per key (P-compositionality). */
  readonly key: string;
  readonly input: I;
  readonly invokedAt: bigint;
  /** Absent until completed; an operation never completed (the run ended first) counts as `info`. */
  outcome?: Outcome;
  output?: O;
  completedAt?: bigint;
}

export class HistoryRecorder<I, O> {
  private readonly ops: HistoryOp<I, O>[] = [];

  constructor(private readonly clock: () => bigint = process.hrtime.bigint) {}

  /** Record an invocation; returns the handle to complete it with. */
  invoke(process: number, key: string, input: I): HistoryOp<I, O> {
    const op: HistoryOp<I, O> = { index: this.ops.length, process, key, input, invokedAt: this.clock() };
    this.ops.push(op);
    return op;
  }

  ok(op: HistoryOp<I, O>, output: O): void {
    this.complete(op, 'ok', output);
  }

  fail(op: HistoryOp<I, O>): void {
    this.complete(op, 'fail', undefined);
  }

  info(op: HistoryOp<I, O>): void {
    this.complete(op, 'info', undefined);
  }

  /** Every operation so far; those still open are reported as `info`. */
  history(): readonly HistoryOp<I, O>[] {
    return this.ops.map((op) => (op.outcome ? op : { ...op, outcome: 'info' }));
  }

  private complete(op: HistoryOp<I, O>, outcome: Outcome, output: O | undefined): void {
    if (op.outcome) throw new Error(`operation ${op.index} completed twice (${op.outcome}, then ${outcome})`);
    op.completedAt = this.clock();
    op.outcome = outcome;
    if (output !== undefined) op.output = output;
  }
}

/** Counts by outcome, for run summaries. */
export function outcomeCounts(history: readonly HistoryOp<unknown, unknown>[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { ok: 0, fail: 0, info: 0 };
  for (const op of history) counts[op.outcome ?? 'info']++;
  return counts;
}
