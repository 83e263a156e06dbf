/**
 * What a store does with the candidate rows of a search plan (core's plan.ts), whatever fetched
 * them: keep the live rows for which core's `evaluateCondition` holds, narrowed to `select`, and
 * collect a key-ordered page, the best by an attribute, or a count. The rows are pushed in, so a
 * store may fetch them in chunks. The one copy of candidate matching: SQLite's search executor
 * and the PostgreSQL store both test their candidates here.
 */
import {
  type Attributes, type FoundObject, type Key, type SearchPage, type SearchPlan, type Space, type StepBudget,
  compareKeys, compareSortValues, evaluateCondition, isPath, parseJson, readName, selectNames, stringifyJson, type Value,
} from '@spacekv/core';

export interface CandidateRow {
  readonly key: Key;
  readonly version: number;
  readonly expiresAt: number | null;
  readonly attributesJson: string;
}

export interface Match extends FoundObject {
  /** The value of the plan's sort attribute, when it orders by one. */
  readonly sortValue?: unknown;
}

/**
 * The object of `row` if it is live and satisfies the plan's condition, narrowed to `select`. The
 * rows of a plan with an index must come from its index range (store.ts), so an `exact` range has
 * decided the condition already and the attributes are not parsed just to test it again: parsing
 * was the largest share of the matcher's CPU in an indexed equality search (issue 18).
 */
export function match(plan: SearchPlan, space: Space, row: CandidateRow, budget: StepBudget): Match | undefined {
  if (row.expiresAt !== null && row.expiresAt <= plan.nowMs) return undefined;
  const testsCondition = plan.condition.length > 0 && !(plan.access.exact && plan.access.index !== undefined);
  const needsAttributes = testsCondition || plan.select !== undefined || plan.order.by === 'attribute';
  if (!needsAttributes) return { key: row.key, version: row.version, attributesJson: row.attributesJson };
  const attributes = parseJson(row.attributesJson) as Attributes;
  if (testsCondition && !evaluateCondition(plan.condition, row.key, space.schema.key.name, attributes, budget)) return undefined;
  let attributesJson = row.attributesJson;
  if (plan.select) {
    attributesJson = stringifyJson(selectNames(attributes, plan.select));
  }
  const sortValue = plan.order.by === 'attribute' ? readName(attributes, plan.order.attribute) : undefined;
  return { key: row.key, version: row.version, attributesJson, sortValue };
}

/**
 * One page in key order: at most `limit` matches from at most `rowsMax` rows (fed in key order,
 * reversed when the plan says so), and about `pageBytesMax` of attributes.
 */
export class KeyOrderedPage {
  private readonly objects: FoundObject[] = [];
  private examined = 0;
  private bytes = 0;
  private last: Key | null = null;
  private done: SearchPage | undefined;

  constructor(private readonly plan: SearchPlan, private readonly space: Space, private readonly pageBytesMax: number, private readonly budget: StepBudget) {}

  /** Take the next candidate; false once the page is complete (feed no more). */
  add(row: CandidateRow): boolean {
    if (this.done) return false;
    this.examined++;
    this.last = row.key;
    if (this.plan.keys.prefix !== undefined && !(row.key as string).startsWith(this.plan.keys.prefix)) {
      this.done = { objects: this.objects, resumeAfter: null };
      return false;
    }
    const found = match(this.plan, this.space, row, this.budget);
    if (found) {
      this.objects.push({ key: found.key, version: found.version, attributesJson: found.attributesJson });
      this.bytes += found.attributesJson.length;
    }
    if (this.objects.length === this.plan.limit || this.bytes > this.pageBytesMax) this.done = { objects: this.objects, resumeAfter: this.last };
    else if (this.examined === this.plan.rowsMax) this.done = { objects: this.objects, resumeAfter: this.last };
    return this.done === undefined;
  }

  /** The page, once the rows ran out or `add` said it is complete. */
  page(): SearchPage {
    return this.done ?? { objects: this.objects, resumeAfter: null };
  }
}

/** The first `limit` matches by (attribute value per compareScalars, then key), both reversed when descending. */
export class BestByAttribute {
  private best: Match[] = [];
  private readonly order: (a: Match, b: Match) => number;

  constructor(private readonly plan: SearchPlan, private readonly space: Space, private readonly budget: StepBudget) {
    const descending = plan.order.by === 'attribute' && plan.order.descending;
    this.order = (a, b) => {
      const c = compareSortValues(a.sortValue as Value | undefined, b.sortValue as Value | undefined) || compareKeys(a.key, b.key);
      return descending ? -c : c;
    };
  }

  add(row: CandidateRow): void {
    const found = match(this.plan, this.space, row, this.budget);
    if (!found) return;
    this.best.push(found);
    if (this.best.length >= this.plan.limit * 2 + 64) this.best = this.best.sort(this.order).slice(0, this.plan.limit);
  }

  objects(): FoundObject[] {
    return this.best.sort(this.order).slice(0, this.plan.limit).map(withoutSortValue);
  }
}

/** A match as a search returns it. */
export function withoutSortValue(m: Match): FoundObject {
  return { key: m.key, version: m.version, attributesJson: m.attributesJson };
}

/** Whether `row` counts for the plan (live, condition holds); the count's tests are charged to `budget`. */
export function counts(plan: SearchPlan, space: Space, row: CandidateRow, budget: StepBudget): boolean {
  return match(plan, space, row, budget) !== undefined;
}
