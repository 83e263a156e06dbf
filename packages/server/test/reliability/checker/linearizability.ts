/**
 * A linearizability checker: Wing & Gong's search with Lowe's memoisation, as Porcupine and Knossos
 * run it. A history is linearizable if every completed operation can be given one instant between
 * its invocation and its completion such that, in that order, each answer is the one the sequential
 * model gives. Histories are partitioned per key first (P-compositionality: linearizability is
 * local, so a history is linearizable iff each key's sub-history is), which keeps the search small.
 *
 * `info` operations (unknown outcome) have no completion: they may take effect at any instant after
 * their invocation, or never, and their answer is unconstrained. `fail` operations never happened
 * and are left out.
 */
import type { HistoryOp } from './history.js';

export interface Model<S, I, O> {
  readonly init: S;
  /** The state after `input` answered `output` (undefined: unknown outcome), or undefined if impossible. */
  step(state: S, input: I, output: O | undefined): S | undefined;
  /** A string that identifies a state, for the memo of visited configurations. */
  key(state: S): string;
}

export type KeyVerdict<I, O> =
  | { readonly key: string; readonly result: 'ok'; readonly ops: number }
  | { readonly key: string; readonly result: 'illegal'; readonly ops: number; readonly blocking: HistoryOp<I, O> | undefined; readonly longestPrefix: readonly HistoryOp<I, O>[] }
  | { readonly key: string; readonly result: 'unknown'; readonly ops: number; readonly reason: string };

export interface Verdict<I, O> {
  /** `ok` when every key is linearizable; `illegal` when one is not; `unknown` when a search ran out of budget. */
  readonly result: 'ok' | 'illegal' | 'unknown';
  readonly keys: readonly KeyVerdict<I, O>[];
}

/** A node of the doubly linked list of call and return entries the search walks. */
interface Entry<I, O> {
  readonly op: HistoryOp<I, O>;
  readonly id: number;
  readonly isCall: boolean;
  /** The call's return entry (undefined for an info op, whose return is at infinity). */
  match?: Entry<I, O>;
  prev: Entry<I, O> | undefined;
  next: Entry<I, O> | undefined;
}

const DEFAULT_STEP_BUDGET = 5_000_000;

export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>, history: readonly HistoryOp<I, O>[], options: { readonly stepBudget?: number } = {},
): Verdict<I, O> {
  const byKey = new Map<string, HistoryOp<I, O>[]>();
  for (const op of history) {
    if (op.outcome === 'fail') continue;
    let ops = byKey.get(op.key);
    if (!ops) byKey.set(op.key, (ops = []));
    ops.push(op);
  }
  const keys = [...byKey].map(([key, ops]) => checkKey(model, key, ops, options.stepBudget ?? DEFAULT_STEP_BUDGET));
  const result = keys.some((k) => k.result === 'illegal') ? 'illegal' : keys.some((k) => k.result === 'unknown') ? 'unknown' : 'ok';
  return { result, keys };
}

/** Build the entry list: calls and returns in time order, a call before a return at the same instant. */
function entries<I, O>(ops: readonly HistoryOp<I, O>[]): Entry<I, O> | undefined {
  const timed: { readonly at: bigint; readonly entry: Entry<I, O> }[] = [];
  ops.forEach((op, id) => {
    const call: Entry<I, O> = { op, id, isCall: true, prev: undefined, next: undefined };
    timed.push({ at: op.invokedAt, entry: call });
    if (op.outcome === 'ok') {
      if (op.completedAt === undefined) throw new Error(`operation ${op.index} is ok without a completion time`);
      call.match = { op, id, isCall: false, prev: undefined, next: undefined };
      timed.push({ at: op.completedAt, entry: call.match });
    }
  });
  timed.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : Number(b.entry.isCall) - Number(a.entry.isCall)));
  const head: Entry<I, O> = { op: undefined as unknown as HistoryOp<I, O>, id: -1, isCall: false, prev: undefined, next: undefined };
  let last = head;
  for (const { entry } of timed) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

/** Take a call (and its return) out of the list: it is linearized. */
function lift<I, O>(call: Entry<I, O>): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match;
  if (ret) {
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  }
}

/** Put them back, in reverse order of lift. */
function unlift<I, O>(call: Entry<I, O>): void {
  const ret = call.match;
  if (ret) {
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
  }
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

function checkKey<S, I, O>(model: Model<S, I, O>, key: string, ops: readonly HistoryOp<I, O>[], budget: number): KeyVerdict<I, O> {
  const head = entries(ops)!;
  const linearized = new Uint8Array(ops.length);
  const seen = new Set<string>();
  const stack: { readonly call: Entry<I, O>; readonly state: S }[] = [];
  let longest: readonly HistoryOp<I, O>[] = [];
  let blocking: HistoryOp<I, O> | undefined;
  let state = model.init;
  let entry = head.next;
  // Completed operations not yet linearized; info operations are free never to happen.
  let remaining = ops.filter((op) => op.outcome === 'ok').length;
  let steps = 0;
  while (remaining > 0) {
    if (++steps > budget) return { key, result: 'unknown', ops: ops.length, reason: `search budget of ${budget} steps spent` };
    if (entry !== undefined && entry.isCall) {
      const next = model.step(state, entry.op.input, entry.op.outcome === 'ok' ? entry.op.output : undefined);
      if (next !== undefined) {
        linearized[entry.id] = 1;
        const memo = `${bitsKey(linearized)}|${model.key(next)}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          if (entry.match) remaining--;
          if (stack.length > longest.length) longest = stack.map((s) => s.call.op);
          entry = head.next;
          continue;
        }
        linearized[entry.id] = 0;
      }
      entry = entry.next;
      continue;
    }
    // A completion whose operation could not be placed before it: undo the last choice.
    if (entry !== undefined && stack.length === longest.length) blocking = entry.op;
    const top = stack.pop();
    if (!top) return { key, result: 'illegal', ops: ops.length, blocking, longestPrefix: longest };
    linearized[top.call.id] = 0;
    state = top.state;
    unlift(top.call);
    if (top.call.match) remaining++;
    entry = top.call.next;
  }
  return { key, result: 'ok', ops: ops.length };
}

function bitsKey(bits: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bits.length; i += 16) {
    let word = 0;
    for (let j = i; j < Math.min(i + 16, bits.length); j++) word = (word << 1) | bits[j]!;
    out += String.fromCharCode(word);
  }
  return out;
}

/** A readable account of a failed key: the longest linearizable prefix and the operation that could not follow it. */
export function explain<I, O>(verdict: KeyVerdict<I, O>): string {
  if (verdict.result !== 'illegal') return `${verdict.key}: ${verdict.result}`;
  const show = (op: HistoryOp<I, O>): string => `#${op.index} p${op.process} ${JSON.stringify(op.input)} -> ${op.outcome} ${JSON.stringify(op.output) ?? ''}`;
  const prefix = verdict.longestPrefix.slice(-8).map(show).join('\n    ');
  return `key ${verdict.key}: not linearizable (${verdict.ops} ops); longest linearizable prefix ends with\n    ${prefix}\n  and then nothing fits before the completion of\n    ${verdict.blocking ? show(verdict.blocking) : '?'}`;
}
