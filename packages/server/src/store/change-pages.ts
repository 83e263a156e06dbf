/**
 * The store-neutral arithmetic of the change log (docs/architecture.md §4.6): where a page of changes ends
 * (whole seqs only, bounded in bytes) and how far retention may cut. Each store fetches rows its
 * own way and lets these decide, so every store pages and prunes alike.
 */
import type { Change } from '@spacekv/core';
import type { RetentionRule } from './store.js';

/**
 * A page stops adding seqs once its attribute text passes this many bytes (it always holds one
 * whole seq), so a page of large objects does not hold the event loop.
 */
export const PAGE_BYTES_MAX = 1024 * 1024;

/**
 * Cut `rows` (the next `limit + 1` changes in log order: one more tells whether the last seq is
 * whole) at a seq boundary and at PAGE_BYTES_MAX. Returns the page, or `wholeSeq` when the first
 * seq alone is larger than `limit`: the caller then reads that seq whole as the page.
 */
export function cutPage(rows: readonly Change[], limit: number): { readonly changes: Change[] } | { readonly wholeSeq: number } {
  if (rows.length === 0) return { changes: [] };
  const firstSeq = (rows[0] as Change).seq;
  const lastSeq = (rows[Math.min(rows.length, limit) - 1] as Change).seq;
  const lastSplit = rows.length > limit && (rows[limit] as Change).seq === lastSeq;
  if (lastSplit && lastSeq === firstSeq) return { wholeSeq: firstSeq };
  const changes: Change[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, limit)) {
    const startsSeq = changes.length > 0 && (changes[changes.length - 1] as Change).seq !== row.seq;
    // Leave out a last seq the page holds only in part; past the byte bound, stop at a seq boundary.
    if (startsSeq && (bytes > PAGE_BYTES_MAX || (lastSplit && row.seq === lastSeq))) break;
    changes.push(row);
    bytes += row.attributesJson?.length ?? 0;
  }
  return { changes };
}

/** The oldest rows of the log, as retention looks at them. */
export interface LogRow {
  readonly seq: number;
  readonly committedAtMs: number;
}

/**
 * The highest seq retention may remove now (`floorSeq` when none): at most the seqs of the oldest
 * `limit` rows (`oldest` holds `limit + 1`: one more tells whether the last seq is whole; a part
 * of a seq never goes, except that the first seq goes whole even when it alone is larger than the
 * limit), never past `rule.throughSeqMax`. By age, the cut is the longest prefix committed before
 * the instant, so a clock step backwards never removes a younger change.
 */
export function pruneCut(rule: RetentionRule, oldest: readonly LogRow[], limit: number, floorSeq: number, headSeq: number): number {
  if (oldest.length === 0) return floorSeq;
  const rows = oldest.slice(0, limit);
  const firstSeq = (rows[0] as LogRow).seq;
  const lastSeq = (rows[rows.length - 1] as LogRow).seq;
  const lastSplit = oldest.length > limit && (oldest[limit] as LogRow).seq === lastSeq;
  let reach = lastSplit && lastSeq !== firstSeq ? lastSeq - 1 : lastSeq;
  reach = Math.min(reach, rule.throughSeqMax);
  let allowed = floorSeq;
  if (rule.keepSeqs !== undefined) allowed = Math.max(allowed, headSeq - rule.keepSeqs);
  if (rule.committedBeforeMs !== undefined) {
    const young = rows.find((row) => row.committedAtMs >= (rule.committedBeforeMs as number));
    allowed = Math.max(allowed, young ? young.seq - 1 : lastSeq);
  }
  return Math.max(floorSeq, Math.min(reach, allowed));
}
