/** Order statistics for the figures the benchmark prints (STYLE.md §14: medians, not best runs). */

/** The value below which `p` percent of `values` fall (nearest rank); NaN for no values. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}

/** The arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The harmonic mean: for rates of equal amounts of work, the rate of all the work over all its time; NaN for no values. */
export function harmonicMean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.length / values.reduce((sum, v) => sum + 1 / v, 0);
}
