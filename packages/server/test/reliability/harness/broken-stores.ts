/**
 * Deliberately broken stores: TEST-ONLY wrappers around the real store, each with one classic bug
 * a reliability harness exists to catch. The negative controls run the harness against them and
 * require it to fail; a checker that has never failed proves nothing. None of this is reachable
 * from production code: the server takes a store only through startServer's test seam
 * (helpers/server.ts's `wrapStore`, and harness/broken-server.ts for a process).
 * - `cas-skips-check`: compare_and_swap (and del with a version) write without comparing;
 * - `ack-before-commit`: plain puts are acknowledged at once and committed only once
 *   WRITE_BEHIND_PUTS later puts have been acknowledged (a write-behind buffer flushed by count),
 *   after other writes that came meanwhile; `crash()` drops what is not yet committed, as kill -9
 *   would;
 * - `batch-snapshot`: mutations (numeric add/sub, list append) are computed from the value the key
 *   had when the batch started, so two in one batch lose one of the updates.
 */
import type { BatchMember, MemberOutcome, Store } from '../../../src/store/store.js';
import type { Attributes, Key, ObjectOp, PutOp, StoredObject, Value, WriteOp } from '@spacekv/core';

export const BREAKAGES = ['cas-skips-check', 'ack-before-commit', 'batch-snapshot'] as const;
export type Breakage = (typeof BREAKAGES)[number];

export interface BrokenStore extends Store {
  /**
   * Lose whatever the store acknowledged but did not commit (ack-before-commit), as kill -9 and a
   * restart would; the store goes on working on what was committed.
   */
  crash(): void;
}

/**
 * How many acknowledged puts the write-behind buffer holds back. By count, not by time: whenever the
 * process dies under load, the last WRITE_BEHIND_PUTS acknowledged puts are lost, however the machine
 * schedules the clients. With a 50 ms timer a catch depended on timing: a kill landing when every
 * acknowledgement the clients had read was older than the timer found nothing to lose (3 cycles of
 * about 83 missed on one day, although two CPU-bound hogs beside the test did not reproduce it).
 */
const WRITE_BEHIND_PUTS = 32;

export function breakStore(real: Store, breakage: Breakage): BrokenStore {
  if (breakage === 'cas-skips-check') {
    return override(real, { commit: (batch) => real.commit(batch.map((m) => ({ ...m, op: skipCheck(m.op) }))) });
  }
  if (breakage === 'batch-snapshot') {
    return override(real, {
      async commit(batch) {
        const snapshot = new Map<string, Promise<StoredObject | null>>();
        const at = (space: string, key: Key): Promise<StoredObject | null> => {
          const id = `${space}\u0000${String(key)}`;
          if (!snapshot.has(id)) snapshot.set(id, Promise.resolve(real.get(space, key, Date.now())));
          return snapshot.get(id)!;
        };
        const members = await Promise.all(batch.map(async (m) => ({ ...m, op: await fromSnapshot(m.op, at) })));
        return real.commit(members);
      },
    });
  }
  return writeBehind(real);
}

/** The real store with some methods replaced; everything else (reads, search, the change log) passes through. */
function override(real: Store, replaced: Partial<BrokenStore>): BrokenStore {
  const methods: Partial<BrokenStore> = { crash: () => {}, ...replaced };
  return new Proxy(real, {
    get(target, name, receiver) {
      if (Object.hasOwn(methods, name)) return methods[name as keyof BrokenStore];
      const value: unknown = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as BrokenStore;
}

function skipCheck(op: WriteOp): WriteOp {
  if (op.op === 'compare_and_swap') {
    const { version: _skipped, ...rest } = op;
    return { ...rest, op: 'put' };
  }
  if (op.op === 'del' && op.version !== undefined) return { op: 'del', space: op.space, key: op.key };
  return op;
}

/** A mutate (one add, sub or append) becomes a put of the result computed from the batch-start value. */
async function fromSnapshot<T extends WriteOp | ObjectOp>(op: T, at: (space: string, key: Key) => Promise<StoredObject | null>): Promise<T> {
  if (op.op === 'tx') return { ...op, ops: await Promise.all(op.ops.map((o) => fromSnapshot(o, at))) };
  if (op.op !== 'mutate' || op.mutations.length !== 1 || op.condition) return op;
  const [mutation] = op.mutations;
  const stored = await at(op.space, op.key);
  if (!stored || !mutation) return op;
  const attributes = JSON.parse(stored.attributesJson) as Record<string, Value>;
  const old = attributes[mutation.attribute];
  let value: Value;
  if (mutation.op === 'add' || mutation.op === 'sub') {
    value = Number(old ?? 0) + (mutation.op === 'add' ? 1 : -1) * Number(mutation.operand);
  } else if (mutation.op === 'append' && Array.isArray(mutation.operand)) {
    value = [...((old ?? []) as Value[]), ...(mutation.operand as Value[])];
  } else {
    return op;
  }
  const put: PutOp = { op: 'put', space: op.space, key: op.key, attributes: { [mutation.attribute]: value } as Attributes, ...(op.spaceCreatedSeq === undefined ? {} : { spaceCreatedSeq: op.spaceCreatedSeq }) };
  return put as T;
}

/** Acknowledge plain puts before committing them, later, behind whatever else commits meanwhile. */
function writeBehind(real: Store): BrokenStore {
  let pending: BatchMember[] = [];
  let lastSeq = 0;
  let flushing: Promise<unknown> = Promise.resolve();
  /** Commit all but the newest `keep` pending puts, in order, behind earlier flushes. */
  const flush = (keep: number): Promise<unknown> => {
    const members = pending.slice(0, Math.max(0, pending.length - keep));
    pending = pending.slice(members.length);
    if (members.length > 0) flushing = flushing.then(() => real.commit(members)).catch(() => undefined);
    return flushing;
  };
  const remember = (outcomes: readonly MemberOutcome[]): readonly MemberOutcome[] => {
    for (const o of outcomes) if ('result' in o && 'version' in o.result && typeof o.result.version === 'number') lastSeq = Math.max(lastSeq, o.result.version);
    return outcomes;
  };
  return override(real, {
    async commit(batch) {
      if (!batch.every((m) => m.op.op === 'put')) return remember(await real.commit(batch)); // overtakes the pending puts
      pending.push(...batch);
      void flush(WRITE_BEHIND_PUTS);
      return batch.map((m): MemberOutcome => {
        const op = m.op as PutOp;
        return { result: { ok: true, kind: 'written', key: op.key, version: ++lastSeq, created: false }, changes: [] };
      });
    },
    crash() {
      pending = [];
    },
    async close() {
      await flush(0);
      await real.close();
    },
  });
}
