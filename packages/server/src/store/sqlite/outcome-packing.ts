/**
 * A batch's outcomes as the writer thread sends them to the engine's thread.
 *
 * Why: a structured clone of one small object graph per member (a result and a change) cost about
 * 3 µs of CPU per durable put across both threads (the writer's `postMessage` was a sixth of its
 * profile at 1024 puts in flight), more than the SQLite work of the put. Most members of a busy
 * batch are plain writes (put, put_if_not_exist, cond_put, compare_and_swap) whose outcome is
 * their member's space, key and op plus four values the writer chose: the seq, whether the object
 * was created, its attributes' text and its expiry. Those travel as columns (typed arrays and one
 * array of strings, which clone as a few copies), and the engine's thread builds the outcome from
 * the member it sent. Every other outcome (reads in a tx, failed conditions, faults, deletions,
 * mutate, get_and_put, admin) travels whole, in member order.
 *
 * `unpackOutcomes(members, packOutcomes(members, outcomes))` is deeply equal to `outcomes`.
 */
import type { Change, Result, WrittenResult } from '@spacekv/core';
import type { BatchMember, MemberOutcome } from '../store.js';
import { unpackBatch } from './packed-columns.js';

type KeyedWrite = Extract<BatchMember['op'], { readonly key: unknown }>;

export interface PackedOutcomes {
  /** Per member: the seq of a plain write, or 0 when its outcome is the next one of `whole`. */
  readonly seqs: Float64Array;
  /** Per plain write: 1 when it created the object. */
  readonly created: Uint8Array;
  /** Per plain write: the object's expiry (epoch ms), NaN for none. */
  readonly expiresAtMs: Float64Array;
  /** Per plain write: when its batch committed (epoch ms). */
  readonly committedAtMs: Float64Array;
  /** Per member: a plain write's attributes text, '' for the others. */
  readonly attributesJson: string[];
  /** The other members' outcomes, in member order. */
  readonly whole: MemberOutcome[];
}

/** The keys of a plain write's result and change, as write-steps.ts makes them: anything more travels whole. */
const RESULT_KEYS = 5; // ok, kind, key, version, created
const CHANGE_KEYS = 7; // seq, space, key, op, attributesJson, committedAtMs, expiresAtMs

/** A plain write's result and change, when `outcome` is one that its member and columns rebuild exactly. */
function plainWrite(member: BatchMember, outcome: MemberOutcome): { result: WrittenResult; change: Change } | undefined {
  if (!('result' in outcome) || outcome.changes.length !== 1) return undefined;
  const { result } = outcome;
  const change = outcome.changes[0] as Change;
  const { op } = member;
  if (!result.ok || result.kind !== 'written' || !('key' in op)) return undefined;
  if (keyCount(result) !== RESULT_KEYS || keyCount(change) !== CHANGE_KEYS) return undefined;
  if (result.key !== op.key || change.key !== op.key || change.space !== op.space || change.op !== op.op) return undefined;
  if (change.seq !== result.version || change.seq <= 0 || typeof change.attributesJson !== 'string') return undefined;
  if (change.expiresAtMs === undefined || Number.isNaN(change.expiresAtMs)) return undefined;
  return { result, change };
}

/**
 * The enumerable names of a result or change (plain object literals, so none inherited), counted
 * without the array `Object.keys` makes (two arrays per member: packOutcomes took 2.6k instructions
 * per durable put at 1024 in flight, 0.8k without them, callgrind).
 */
function keyCount(fields: object): number {
  let count = 0;
  for (const _name in fields) count++;
  return count;
}

/** Writer thread: the batch's outcomes in their packed form. */
export function packOutcomes(members: readonly BatchMember[], outcomes: readonly MemberOutcome[]): PackedOutcomes {
  const count = outcomes.length;
  const packed: PackedOutcomes = {
    seqs: new Float64Array(count),
    created: new Uint8Array(count),
    expiresAtMs: new Float64Array(count),
    committedAtMs: new Float64Array(count),
    attributesJson: [],
    whole: [],
  };
  for (let i = 0; i < count; i++) {
    const outcome = outcomes[i] as MemberOutcome;
    const write = plainWrite(members[i] as BatchMember, outcome);
    // Pushed, not preallocated: a holey array is cloned as a sparse one (member-packing.ts).
    packed.attributesJson.push(write ? write.change.attributesJson as string : '');
    if (!write) {
      packed.whole.push(outcome);
      continue;
    }
    const { result, change } = write;
    packed.seqs[i] = change.seq;
    packed.created[i] = result.created ? 1 : 0;
    packed.expiresAtMs[i] = change.expiresAtMs ?? Number.NaN;
    packed.committedAtMs[i] = change.committedAtMs;
  }
  return packed;
}

/** Engine's thread: the outcomes of `members` (the batch as sent) from their packed form. */
export function unpackOutcomes(members: readonly BatchMember[], packed: PackedOutcomes): MemberOutcome[] {
  return unpackBatch(members.length, packed.whole, (i) => packed.seqs[i] !== 0, (i) => {
    const seq = packed.seqs[i] as number;
    const op = (members[i] as BatchMember).op as KeyedWrite; // packed only when it has a key
    const expiresAtMs = packed.expiresAtMs[i] as number;
    const result: Result = { ok: true, kind: 'written', key: op.key, version: seq, created: packed.created[i] === 1 };
    const change: Change = {
      seq, space: op.space, key: op.key, op: op.op, attributesJson: packed.attributesJson[i] as string,
      committedAtMs: packed.committedAtMs[i] as number, expiresAtMs: Number.isNaN(expiresAtMs) ? null : expiresAtMs,
    };
    return { result, changes: [change] };
  });
}
