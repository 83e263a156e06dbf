/**
 * Provisional seqs (batch.ts): a batch that takes its seq range only in its last round trip runs
 * its members first on numbers that stand in for the seqs it will get. They are negative, far below
 * zero: a client's version is never negative (core's parseVersion) and 0 means absent, so a cas or
 * a tx check against an object written earlier in the batch fails exactly as it did when the
 * in-batch version was a real seq that no client had been told yet. Once the database answers with
 * the range's base, every seq and version in the outcomes is moved onto it.
 */
import type { MemberOutcome } from '../store.js';

/** The provisional seq numbered 0: the batch's n-th seq is PROVISIONAL_ZERO + n until it commits. */
export const PROVISIONAL_ZERO = -8_000_000_000_000_000;

/** A provisional seq as printed in a message (core's cmp_fail and tx_failed messages quote versions). */
const PROVISIONAL_TEXT = /-\d{16}/g;

/**
 * `outcomes` with each provisional seq `PROVISIONAL_ZERO + n` (n in 1..count) replaced by
 * `base + n`: the fields `seq` and `version` at any depth (results, a tx's results, `previous`,
 * failures, changes) and the numbers quoted in `message`. Objects' attribute text is never touched.
 */
export function settleOutcomes(outcomes: readonly MemberOutcome[], base: number, count: number): MemberOutcome[] {
  const settle = (seq: number): number => (seq > PROVISIONAL_ZERO && seq <= PROVISIONAL_ZERO + count ? base + (seq - PROVISIONAL_ZERO) : seq);
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (value === null || typeof value !== 'object') return value;
    const copy: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(value)) {
      if ((name === 'seq' || name === 'version') && typeof field === 'number') copy[name] = settle(field);
      else if (name === 'message' && typeof field === 'string') copy[name] = field.replace(PROVISIONAL_TEXT, (text) => String(settle(Number(text))));
      else if (name === 'attributesJson') copy[name] = field;
      else copy[name] = visit(field);
    }
    return copy;
  };
  return outcomes.map((outcome) => ('fault' in outcome ? outcome : visit(outcome) as MemberOutcome));
}
