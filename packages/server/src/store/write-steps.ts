/**
 * What every store does with a batch member once it can read and write rows, whatever the driver:
 * a single-key step (read the object, plan the write with core's `planWrite`, write or delete) and
 * a tx (every check against the state before it, then each operation in order at one seq). The
 * SQLite writer runs these against live statements inside its transaction; the PostgreSQL store
 * runs them against rows fetched at the start of its transaction plus the batch's own writes.
 * Keeping them here means both stores give every operation the same meaning (docs/architecture.md §7).
 */
import {
  type Attributes, type Change, type CurrentObject, type DeletedResult, type ExpireOp, type FailedResult, type Key, type Limits, type ObjectOp,
  type ObjectOpResult, type Space, type StoredObject, type TxFailure, type TxOp, type WrittenResult,
  StepBudget, TxChanges, checkFailure, fail, parseJson, planWrite, readResult, stringifyAttributes, utf8Length,
} from '@spacekv/core';
import type { MemberOutcome } from './store.js';

/** One space's rows as the batch's transaction sees them now. Reads return expired objects too. */
export interface SpaceRows {
  read(key: Key): StoredObject | null;
  /** `attributes` is `attributesJson` parsed, for stores that index them. */
  write(key: Key, version: number, expiresAt: number | null, attributesJson: string, attributes: Attributes): void;
  remove(key: Key): void;
}

/** A space of the store's catalog with access to its rows. */
export interface StepTarget {
  readonly space: Space;
  readonly rows: SpaceRows;
}

/**
 * The object text the tx results of one batch carry back to the engine (structured clone from the
 * writer thread, or rows held for the reply), bounded before it piles up: a tx of 10,000 reads of a
 * 1 MB object once took the writer thread down with it. Charged as each result is made, so the
 * work stops as soon as a bound is passed.
 */
export class ReplyBudget {
  private used = 0;

  constructor(private readonly limits: Limits) {}

  /**
   * Count `bytes` more of one tx's results (`txBytes` is that tx's total so far, `bytes` included).
   * Throws `too_large` past txReplyBytesMax (the tx can never fit), `overloaded` past what is left
   * of batchReplyBytesMax (it fits a later, emptier batch). The caller rolls the member back.
   */
  charge(bytes: number, txBytes: number): void {
    const { txReplyBytesMax, batchReplyBytesMax } = this.limits;
    if (txBytes > txReplyBytesMax) {
      throw fail('too_large', `the tx's results would pass ${txReplyBytesMax} bytes of objects (txReplyBytesMax); read fewer or smaller objects per tx`, { limit: 'txReplyBytesMax' });
    }
    if (this.used + bytes > batchReplyBytesMax) {
      throw fail('overloaded', `the results of this commit batch would pass ${batchReplyBytesMax} bytes (batchReplyBytesMax); retry the tx`, { limit: 'batchReplyBytesMax' });
    }
    this.used += bytes;
  }

  /**
   * Give back what a tx that failed had charged: its results are dropped, never sent. Without it,
   * a few txs refused too_large in one batch used up the batch's budget with bytes nobody carries,
   * and the next (just as hopeless) tx answered `overloaded`, a retry that can never succeed.
   */
  release(charged: number): void {
    this.used -= charged;
  }
}

/** Bytes of object text a result carries: what the reply will hold of it. */
function resultBytes(result: ObjectOpResult): number {
  const own = 'attributesJson' in result && result.attributesJson !== undefined ? Buffer.byteLength(result.attributesJson) : 0;
  const previous = 'previous' in result && result.previous ? Buffer.byteLength(result.previous.attributesJson) : 0;
  return own + previous;
}

/** What a store lends the shared steps for one member. */
export interface StepContext {
  readonly limits: Limits;
  /** What the batch's tx results may still carry back; one per batch. */
  readonly replies: ReplyBudget;
  /** The space `name` if it is still the incarnation `createdSeq`; else throws `unknown_space`. */
  target(name: string, createdSeq: number | undefined): StepTarget;
  /** Undo the writes the current member made so far (its savepoint, or equivalent, stays open). */
  undoMember(): void;
}

/** What one single-key operation did: its result and, when it wrote, the change. */
export interface Step {
  readonly result: ObjectOpResult | FailedResult;
  readonly change?: Change;
}

/** The object at `key`, or null when absent or expired at `nowMs`. */
export function liveObject(rows: SpaceRows, key: Key, nowMs: number): StoredObject | null {
  const stored = rows.read(key);
  if (!stored || (stored.expiresAt !== null && stored.expiresAt <= nowMs)) return null;
  return stored;
}

/**
 * The stored object as planWrite sees it; its attributes are parsed only if a plan reads them. A
 * class rather than an object literal with a getter: V8 (Node 20) defines a literal's accessor
 * through the runtime on every evaluation, about 0.85 µs, once per write on the writer thread.
 */
class DecodedObject implements CurrentObject {
  readonly version: number;
  readonly expiresAt: number | null;
  private parsed: CurrentObject['attributes'] | undefined = undefined;

  constructor(private readonly stored: StoredObject) {
    this.version = stored.version;
    this.expiresAt = stored.expiresAt;
  }

  get attributes(): CurrentObject['attributes'] {
    this.parsed ??= parseJson(this.stored.attributesJson) as CurrentObject['attributes'];
    return this.parsed;
  }
}

function decoded(stored: StoredObject | null): CurrentObject | null {
  return stored ? new DecodedObject(stored) : null;
}

/**
 * Run one single-key operation against the object as it is now; a write lands at `seq`. Shared by
 * lone operations and the operations of a tx. Throws only faults (too_large).
 */
export function applyStep(op: ObjectOp, target: StepTarget, seq: number, nowMs: number, limits: Limits, budget = StepBudget.forCondition(limits)): Step {
  const stored = liveObject(target.rows, op.key, nowMs);
  if (op.op === 'get' || op.op === 'get_partial') return { result: readResult(op, stored) };
  const plan = planWrite(op, target.space, decoded(stored), nowMs, limits, budget);
  if (plan.kind === 'fail') return { result: { ok: false, code: plan.code, message: plan.message, version: plan.version } };
  if (plan.kind === 'delete') {
    target.rows.remove(op.key);
    const result: DeletedResult = { ok: true, kind: 'deleted', key: op.key, version: seq, ...(op.op === 'get_and_del' && stored ? { previous: stored } : {}) };
    return { result, change: { seq, space: op.space, key: op.key, op: op.op, attributesJson: null, committedAtMs: nowMs } };
  }
  const json = stringifyAttributes(plan.attributes);
  // A UTF-16 unit is at most 3 UTF-8 bytes, so text this short cannot pass the bound: the count
  // (a loop over every character, 3% of the writer thread under YCSB A) is needed only near it.
  if (json.length * 3 > limits.valueBytesMax) {
    const bytes = utf8Length(json);
    if (bytes > limits.valueBytesMax) {
      throw fail('too_large', `the object would be ${bytes} bytes; the limit is ${limits.valueBytesMax}`, { limit: 'valueBytesMax' });
    }
  }
  target.rows.write(op.key, seq, plan.expiresAt, json, plan.attributes);
  const result: WrittenResult = {
    ok: true,
    kind: 'written',
    key: op.key,
    version: seq,
    created: plan.created,
    ...(op.op === 'mutate' ? { attributesJson: json } : {}),
    ...(op.op === 'get_and_put' ? { previous: stored } : {}),
  };
  return { result, change: { seq, space: op.space, key: op.key, op: op.op, attributesJson: json, committedAtMs: nowMs, expiresAtMs: plan.expiresAt } };
}

/**
 * The TTL sweeper's deletion: only an object still at the version the sweeper read and expired
 * now. Anything else (rewritten, already deleted, given a longer expiry) is a cmp_fail.
 */
export function applyExpire(op: ExpireOp, target: StepTarget, seq: number, nowMs: number): Step {
  const stored = target.rows.read(op.key);
  if (!stored || stored.version !== op.version || stored.expiresAt === null || stored.expiresAt > nowMs) {
    return { result: { ok: false, code: 'cmp_fail', message: `the object is no longer expired at version ${op.version}`, version: stored?.version ?? 0 } };
  }
  target.rows.remove(op.key);
  return {
    result: { ok: true, kind: 'deleted', key: op.key, version: seq },
    change: { seq, space: op.space, key: op.key, op: 'expire', attributesJson: null, committedAtMs: nowMs },
  };
}

/** A member's outcome when it ran to a result (success or failed condition). */
export type MemberResult = Extract<MemberOutcome, { readonly result: unknown }>;

function txFailed(message: string, failures: readonly TxFailure[]): MemberResult {
  return { result: { ok: false, code: 'tx_failed', message: `the tx failed, nothing was applied: ${message}`, failures }, changes: [] };
}

/**
 * A tx (core's tx.ts): every check against the state before it, then, only if all hold, each
 * operation in order at the tx's one seq (`seq`), each seeing the writes before it. Whether the
 * seq was taken shows in the outcome: a successful tx with changes used it.
 */
export function runTx(tx: TxOp, ctx: StepContext, seq: number, nowMs: number): MemberResult {
  const budget = StepBudget.forCondition(ctx.limits); // the whole tx's checks and conditions share one
  const failures = tx.checks.flatMap((check, index): TxFailure[] => {
    const target = ctx.target(check.space, check.spaceCreatedSeq);
    const failure = checkFailure(check, target.space, decoded(liveObject(target.rows, check.key, nowMs)), budget);
    return failure ? [{ at: 'check', index, ...failure }] : [];
  });
  if (failures.length > 0) return txFailed(`${failures.length} of ${tx.checks.length} checks failed`, failures);
  const results: ObjectOpResult[] = [];
  const changes = new TxChanges();
  let replyBytes = 0;
  try {
    for (const [index, op] of tx.ops.entries()) {
      const target = ctx.target(op.space, op.spaceCreatedSeq);
      const { result, change } = applyStep(op, target, seq, nowMs, ctx.limits, budget);
      if (!result.ok) {
        ctx.replies.release(replyBytes);
        let version = result.version ?? 0;
        if (changes.size > 0) {
          // Undo the tx's writes, so the failure reports the version the object is really at, not
          // one the tx gave it and never committed.
          ctx.undoMember();
          version = liveObject(target.rows, op.key, nowMs)?.version ?? 0;
        }
        return txFailed(`operation ${index} (${op.op}) failed with ${result.code}`, [{ at: 'op', index, code: result.code, message: result.message, version }]);
      }
      const bytes = resultBytes(result);
      ctx.replies.charge(bytes, replyBytes + bytes);
      replyBytes += bytes;
      results.push(result);
      if (change) changes.add(change);
    }
  } catch (err) {
    ctx.replies.release(replyBytes); // the member is rolled back: its results are never sent
    throw err;
  }
  return { result: { ok: true, kind: 'tx', seq: changes.size > 0 ? seq : null, results }, changes: changes.list() };
}
