/**
 * The CPU a request may spend evaluating predicates (DESIGN.md §4.7: a bound on per-request work).
 * The regex matcher is linear in its input, but a test costs up to program size × input length
 * steps: `(?:.?){1000}y` over a 1 MB string is two billion, half a minute of a thread. Each such
 * test is charged its worst case *before* it runs, so a request past its budget fails `too_costly`
 * at once instead of holding the writer, the event loop or a search thread.
 */
import { fail } from './errors.js';
import type { Limits } from './limits.js';

/** The limits that give a budget its size; named in the error. */
export type StepLimit = 'conditionStepsMax' | 'searchStepsMax';

export class StepBudget {
  private left: number;

  constructor(private readonly limit: StepLimit, private readonly max: number) {
    this.left = max;
  }

  /** The budget of one request evaluated on the writer or the event loop (conditions, watch filters). */
  static forCondition(limits: Limits): StepBudget {
    return new StepBudget('conditionStepsMax', limits.conditionStepsMax);
  }

  /** The budget of one search page or count, on a search thread. */
  static forSearch(limits: Limits): StepBudget {
    return new StepBudget('searchStepsMax', limits.searchStepsMax);
  }

  /** Spend `steps` on `what`, or throw `too_costly` (nothing spent) when they are not left. */
  charge(steps: number, what: string): void {
    if (steps > this.left) {
      throw fail('too_costly', `${what} would take up to ${steps} steps and ${this.left} of ${this.max} are left (${this.limit}); ` +
        'test a shorter value, use a simpler pattern, or narrow the condition', { limit: this.limit });
    }
    this.left -= steps;
  }
}
