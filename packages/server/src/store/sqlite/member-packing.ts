/**
 * A batch's members as the engine's thread sends them to the writer thread.
 *
 * Why: a structured clone writes every property name of every object and rebuilds each object on
 * the other side without knowing its shape; for a put member (the member, its op, the op's
 * attributes) that cost about 2 µs of CPU across both threads, most of it on the writer, which is
 * the thread a durable put waits on. Plain puts (put, put_if_not_exist, get_and_put with no
 * expiry or a number of seconds) travel as columns instead: their space as an index into the
 * batch's few space names, their key, their attributes object and three numbers. Every other
 * member travels whole, in member order.
 *
 * `unpackMembers(packMembers(members))` gives members equal to `members` in every property the
 * writer reads (an `expireIn` or `spaceCreatedSeq` that was absent stays absent, one that was
 * present as undefined comes back absent: the store treats both alike).
 */
import type { Attributes, Key, PutOp } from '@spacekv/core';
import type { BatchMember } from '../store.js';
import { unpackBatch } from './packed-columns.js';

/** The operations packed, by their code in `PackedMembers.ops` (0: the member travels whole). */
const PLAIN_PUTS = ['', 'put', 'put_if_not_exist', 'get_and_put'] as const;

/** The properties a plain put and its member may have: anything more makes the member travel whole. */
const PUT_FIELDS = new Set(['op', 'space', 'key', 'spaceCreatedSeq', 'attributes', 'expireIn']);
const MEMBER_FIELDS = new Set(['op', 'spaceCreatedSeq']);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface PackedMembers {
  /** Per member: its operation's index in PLAIN_PUTS, 0 when it is the next one of `whole`. */
  readonly ops: Uint8Array;
  /** The batch's space names, each once. */
  readonly spaceNames: string[];
  /** Per plain put: its space's index in `spaceNames`. */
  readonly spaces: Uint32Array;
  readonly keys: Key[];
  readonly attributes: Attributes[];
  /** Per plain put: the op's `spaceCreatedSeq`, the member's, and `expireIn`; NaN when absent. */
  readonly opCreatedSeqs: Float64Array;
  readonly memberCreatedSeqs: Float64Array;
  readonly expireIn: Float64Array;
  /** The other members, in member order. */
  readonly whole: BatchMember[];
}

/** The op of a member that packs as a plain put, or undefined. */
function plainPut(member: BatchMember): PutOp | undefined {
  const { op } = member;
  if (op.op !== 'put' && op.op !== 'put_if_not_exist' && op.op !== 'get_and_put') return undefined;
  // NaN stands for absent in the number columns, so only finite numbers pack (null clears an expiry: whole).
  if (!absentOrFinite(op.expireIn) || !absentOrFinite(op.spaceCreatedSeq) || !absentOrFinite(member.spaceCreatedSeq)) return undefined;
  for (const field in op) if (!PUT_FIELDS.has(field)) return undefined;
  for (const field in member) if (!MEMBER_FIELDS.has(field)) return undefined;
  return op;
}

function absentOrFinite(value: number | null | undefined): boolean {
  return value === undefined || Number.isFinite(value);
}

/** Engine's thread: the batch in its packed form. */
export function packMembers(members: readonly BatchMember[]): PackedMembers {
  const count = members.length;
  const packed: PackedMembers = {
    ops: new Uint8Array(count),
    spaceNames: [],
    spaces: new Uint32Array(count),
    keys: new Array<Key>(count).fill(''),
    attributes: new Array<Attributes>(count),
    opCreatedSeqs: new Float64Array(count),
    memberCreatedSeqs: new Float64Array(count),
    expireIn: new Float64Array(count),
    whole: [],
  };
  const spaceIndex = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const member = members[i] as BatchMember;
    const op = plainPut(member);
    if (!op) {
      packed.whole.push(member);
      continue;
    }
    let space = spaceIndex.get(op.space);
    if (space === undefined) {
      space = packed.spaceNames.push(op.space) - 1;
      spaceIndex.set(op.space, space);
    }
    packed.ops[i] = PLAIN_PUTS.indexOf(op.op);
    packed.spaces[i] = space;
    packed.keys[i] = op.key;
    packed.attributes[i] = op.attributes;
    packed.opCreatedSeqs[i] = op.spaceCreatedSeq ?? Number.NaN;
    packed.memberCreatedSeqs[i] = member.spaceCreatedSeq ?? Number.NaN;
    packed.expireIn[i] = op.expireIn ?? Number.NaN;
  }
  return packed;
}

/** Writer thread: the batch's members from their packed form. */
export function unpackMembers(packed: PackedMembers): BatchMember[] {
  return unpackBatch(packed.ops.length, packed.whole, (i) => packed.ops[i] !== 0, (i) => {
    const opCreatedSeq = packed.opCreatedSeqs[i] as number;
    const memberCreatedSeq = packed.memberCreatedSeqs[i] as number;
    const expireIn = packed.expireIn[i] as number;
    const op: Mutable<PutOp> = {
      op: PLAIN_PUTS[packed.ops[i] as number] as PutOp['op'],
      space: packed.spaceNames[packed.spaces[i] as number] as string,
      key: packed.keys[i] as Key,
      attributes: packed.attributes[i] as Attributes,
    };
    if (!Number.isNaN(opCreatedSeq)) op.spaceCreatedSeq = opCreatedSeq;
    if (!Number.isNaN(expireIn)) op.expireIn = expireIn;
    return Number.isNaN(memberCreatedSeq) ? { op } : { op, spaceCreatedSeq: memberCreatedSeq };
  });
}
