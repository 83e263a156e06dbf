/**
 * A batch's members as the engine's thread sends them to the writer thread.
 *
 * Why: a structured clone writes every property name of every object and rebuilds each object on
 * the other side without knowing its shape; for a put member (the member, its op, the op's
 * attributes) that cost about 2 µs of CPU across both threads, most of it on the writer, which is
 * the thread a durable put waits on. Plain puts (put, put_if_not_exist, get_and_put with no
 * expiry or a number of seconds) travel as columns instead: their space as an index into the
 * batch's few space names, their key, their attributes and three numbers. Every other member
 * travels whole, in member order.
 *
 * A put's attributes travel as their shape (their names, in order: a batch has few, stored once)
 * and their values, one flat array for the batch: a clone of an object writes every property name
 * again and rebuilds the object without knowing its shape, about 1.3 µs per put across both threads
 * for one 100-byte attribute (callgrind, 1024 puts in flight), where a value alone costs a tenth
 * of that. Values themselves are cloned as they are, so a bigint stays a bigint and a document
 * stays a document. Attributes whose names include `__proto__` travel whole (setting that name
 * by assignment would change the object's prototype, not add an attribute).
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
  /** Per member: a plain put's key, '' for the others. */
  readonly keys: Key[];
  /** Per plain put: 1 + the index of its attributes' names in `shapes`, or 0 when they travel whole in `attributes`. */
  readonly shapeOf: Uint32Array;
  /** The attribute names of the batch's shapes, each list in its object's order. */
  readonly shapes: string[][];
  /** The values of every shaped put's attributes, put after put, each in its shape's order. */
  readonly values: unknown[];
  /** Per plain put: its attributes when they travel whole (undefined when shaped). */
  readonly attributes: (Attributes | undefined)[];
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
    keys: [],
    shapeOf: new Uint32Array(count),
    shapes: [],
    values: [],
    attributes: new Array<Attributes | undefined>(count),
    opCreatedSeqs: new Float64Array(count),
    memberCreatedSeqs: new Float64Array(count),
    expireIn: new Float64Array(count),
    whole: [],
  };
  const spaceIndex = new Map<string, number>();
  const shapes = new Shapes(packed.shapes);
  for (let i = 0; i < count; i++) {
    const member = members[i] as BatchMember;
    const op = plainPut(member);
    // Pushed, never preallocated: an array made with `new Array(n)` stays holey however it is
    // filled, and a holey array is cloned as a sparse one, index by index, at several times the
    // cost on both threads.
    packed.keys.push(op ? op.key : '');
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
    const names = Object.keys(op.attributes);
    if (names.includes('__proto__')) packed.attributes[i] = op.attributes;
    else {
      packed.shapeOf[i] = shapes.indexOf(names) + 1;
      for (const name of names) packed.values.push(op.attributes[name]);
    }
    packed.opCreatedSeqs[i] = op.spaceCreatedSeq ?? Number.NaN;
    packed.memberCreatedSeqs[i] = member.spaceCreatedSeq ?? Number.NaN;
    packed.expireIn[i] = op.expireIn ?? Number.NaN;
  }
  return packed;
}

/** Writer thread: the batch's members from their packed form. */
export function unpackMembers(packed: PackedMembers): BatchMember[] {
  let nextValue = 0; // build() is called in member order, so the shaped puts' values are read in turn
  const attributesAt = (i: number): Attributes => {
    const shape = packed.shapeOf[i] as number;
    if (shape === 0) return packed.attributes[i] as Attributes;
    const attributes: Record<string, unknown> = {};
    for (const name of packed.shapes[shape - 1] as string[]) attributes[name] = packed.values[nextValue++];
    return attributes as Attributes;
  };
  return unpackBatch(packed.ops.length, packed.whole, (i) => packed.ops[i] !== 0, (i) => {
    const opCreatedSeq = packed.opCreatedSeqs[i] as number;
    const memberCreatedSeq = packed.memberCreatedSeqs[i] as number;
    const expireIn = packed.expireIn[i] as number;
    const op: Mutable<PutOp> = {
      op: PLAIN_PUTS[packed.ops[i] as number] as PutOp['op'],
      space: packed.spaceNames[packed.spaces[i] as number] as string,
      key: packed.keys[i] as Key,
      attributes: attributesAt(i),
    };
    if (!Number.isNaN(opCreatedSeq)) op.spaceCreatedSeq = opCreatedSeq;
    if (!Number.isNaN(expireIn)) op.expireIn = expireIn;
    return Number.isNaN(memberCreatedSeq) ? { op } : { op, spaceCreatedSeq: memberCreatedSeq };
  });
}

/** The distinct attribute-name lists of a batch; a run of puts of one shape costs a comparison each. */
class Shapes {
  private readonly index = new Map<string, number>();
  private last: { names: readonly string[]; at: number } | undefined;

  constructor(private readonly list: string[][]) {}

  /** The index of `names` in the list, added if new. */
  indexOf(names: string[]): number {
    if (this.last && sameNames(this.last.names, names)) return this.last.at;
    const id = JSON.stringify(names); // unambiguous whatever characters the names hold
    let at = this.index.get(id);
    if (at === undefined) {
      at = this.list.push(names) - 1;
      this.index.set(id, at);
    }
    this.last = { names: this.list[at] as string[], at };
    return at;
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
