/**
 * What the writer thread's two packed forms (member-packing.ts, outcome-packing.ts) share: items
 * of a batch either travel as columns, at their index, or whole, in a list of their own in batch
 * order. This puts them back together.
 */

/** The batch's `count` items: `build(i)` for those packed as columns, the next of `whole` for the others. */
export function unpackBatch<T>(count: number, whole: readonly T[], packedAt: (index: number) => boolean, build: (index: number) => T): T[] {
  const items = new Array<T>(count);
  let next = 0;
  for (let i = 0; i < count; i++) items[i] = packedAt(i) ? build(i) : whole[next++] as T;
  return items;
}
