// Proves per-key order (docs/architecture.md §4.3) on random pipelines, against a store whose every read and
// write the test completes by hand, in random order: two operations of one session whose
// footprints overlap, one of them a write, never run out of the order sent (a write after a write
// of its key may start before the first commits, never before it starts: the committer keeps
// their order); a read of a key with no write of its own unfinished starts at once, and one behind
// only writes already in the committer starts at once too, as a member of the next batch; nothing
// deadlocks. Two negative controls run the same check on a runner with no order at all, and on
// one that runs everything in the order sent (per-connection order), and each must be caught.
// The seed comes from SPACEKV_SEED when set and is printed on failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Operation, type Result } from '@spacekv/core';
import { type OperationRunner, Session } from '../../src/engine/session.js';
import { random, seedFromEnv } from '../conformance/fixture.js';

const SPACES = ['s', 't'] as const;
const KEYS = ['a', 'b', 'c'] as const;
const OPS_PER_RUN = 400;
const RUNS = 8;

/** What an operation touches, written out independently of the engine's footprint code. */
interface Touch { readonly space?: string; readonly key?: string; readonly writes: boolean }
interface Planned { readonly op: Operation; readonly touches: readonly Touch[]; readonly committed: boolean; readonly pointRead: boolean }

function plan(rand: () => number): Planned {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const space = pick(SPACES);
  const key = pick(KEYS);
  const roll = rand();
  if (roll < 0.4) return { op: { op: 'get', space, key }, touches: [{ space, key, writes: false }], committed: false, pointRead: true };
  if (roll < 0.75) return { op: { op: 'put', space, key, attributes: {} }, touches: [{ space, key, writes: true }], committed: true, pointRead: false };
  if (roll < 0.82) {
    const other = { space: pick(SPACES), key: pick(KEYS) };
    const op = { op: 'tx', checks: [], ops: [{ op: 'put', space, key, attributes: {} }, { op: 'get', ...other }] } as unknown as Operation;
    return { op, touches: [{ space, key, writes: true }, { ...other, writes: true }], committed: true, pointRead: false };
  }
  if (roll < 0.9) return { op: { op: 'search', space, condition: {}, limit: 10 } as unknown as Operation, touches: [{ space, writes: false }], committed: false, pointRead: false };
  if (roll < 0.95) return { op: { op: 'group_del', space, condition: {} } as unknown as Operation, touches: [{ space, writes: true }], committed: false, pointRead: false };
  if (roll < 0.98) return { op: { op: 'rm_space', space }, touches: [{ space, writes: true }], committed: true, pointRead: false };
  return { op: { op: 'list_spaces' }, touches: [{ writes: false }], committed: false, pointRead: false };
}

function overlap(a: Touch, b: Touch): boolean {
  if (!a.writes && !b.writes) return false;
  if (a.space === undefined || b.space === undefined) return true;
  if (a.space !== b.space) return false;
  return a.key === undefined || b.key === undefined || a.key === b.key;
}

function conflict(a: Planned, b: Planned): boolean {
  return a.touches.some((x) => b.touches.some((y) => overlap(x, y)));
}

/** A store the test drives: each call waits until the test completes it (or answers a read at once). */
class HandRunner implements OperationRunner {
  readonly started = new Map<Operation, number>();
  /** Reads run as batch members (behind writes of their key still in the committer). */
  readonly batched = new Set<Operation>();
  readonly running: { readonly op: Operation; readonly finish: () => void }[] = [];
  clock = 0;

  constructor(private readonly rand: () => number, private readonly finished: Map<Operation, number>) {}

  admit(): void {}
  done(): void {}

  read(op: Operation): Result | Promise<Result> {
    if (op.op === 'get' && this.rand() < 0.5) {
      this.started.set(op, ++this.clock);
      this.finished.set(op, ++this.clock);
      return { ok: false, code: 'not_found', message: 'none', version: 0 };
    }
    return this.begin(op);
  }

  readInBatch(op: Operation): Promise<Result> {
    this.batched.add(op);
    return this.begin(op);
  }

  write(op: Operation): Promise<Result> {
    return this.begin(op);
  }

  private begin(op: Operation): Promise<Result> {
    this.started.set(op, ++this.clock);
    return new Promise((resolve) => {
      this.running.push({ op, finish: () => {
        this.finished.set(op, ++this.clock);
        resolve({ ok: true, kind: 'spaces', spaces: [] });
      } });
    });
  }

  /** Complete one random running operation. */
  finishOne(): boolean {
    if (this.running.length === 0) return false;
    const [call] = this.running.splice(Math.floor(this.rand() * this.running.length), 1);
    call?.finish();
    return true;
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Execute = (runner: HandRunner) => (op: Operation) => unknown;

/** Run one random pipeline; returns the first violation found, or undefined. */
async function check(seed: number, execute: Execute): Promise<string | undefined> {
  const rand = random(seed);
  const finished = new Map<Operation, number>();
  const runner = new HandRunner(rand, finished);
  const run = execute(runner);
  const sent: Planned[] = [];
  for (let i = 0; i < OPS_PER_RUN; i++) {
    while (rand() < 0.5) {
      await settle();
      if (!runner.finishOne()) break;
    }
    await settle();
    const next = plan(rand);
    const before = sent.filter((earlier) => !finished.has(earlier.op) && conflict(earlier, next));
    // Behind nothing but object writes already in the committer, a read rides the next batch instead
    // of waiting (a space's removal it waits for, as for any write of a whole space).
    const free = before.every((earlier) => earlier.committed && earlier.touches.every((t) => t.key !== undefined) && runner.started.has(earlier.op));
    sent.push(next);
    void Promise.resolve(run(next.op)).catch(() => undefined);
    if (next.pointRead && free && !runner.started.has(next.op)) return `op ${i} (get ${JSON.stringify(next.op)}) waited though nothing it depends on was unfinished or out of the committer`;
  }
  for (let rounds = 0; rounds < OPS_PER_RUN * 4; rounds++) {
    await settle();
    if (!runner.finishOne() && (await settle(), runner.running.length === 0)) break;
  }
  for (const [j, later] of sent.entries()) {
    const startJ = runner.started.get(later.op);
    if (startJ === undefined || !finished.has(later.op)) return `op ${j} ${later.op.op} never ran: a deadlock`;
    for (let i = 0; i < j; i++) {
      const earlier = sent[i] as Planned;
      if (!conflict(earlier, later)) continue;
      const committed = (p: Planned): boolean => p.committed || runner.batched.has(p.op);
      const bound = committed(earlier) && committed(later) ? runner.started.get(earlier.op) : finished.get(earlier.op);
      if (bound === undefined || startJ < bound) return `op ${j} ${later.op.op} ran before op ${i} ${earlier.op.op} it must follow`;
    }
  }
  return undefined;
}

const ordered: Execute = (runner) => {
  const session = new Session(runner, 10_000);
  return (op) => session.submit(op);
};

test('random pipelines keep per-key order, answer free reads at once, and never deadlock', async () => {
  const base = seedFromEnv();
  for (let run = 0; run < RUNS; run++) {
    const seed = base + run;
    const violation = await check(seed, ordered);
    assert.equal(violation, undefined, `seed ${seed} (rerun with SPACEKV_SEED=${seed}): ${violation}`);
  }
});

test("a key's writes and reads behind a read still running reach the committer together once it is done, not one commit each", async () => {
  const finished = new Map<Operation, number>();
  const runner = new HandRunner(() => 0.99, finished); // every get runs asynchronously, as on PostgreSQL
  const session = new Session(runner, 10_000);
  const ops: Operation[] = [0, 1, 2, 3, 4, 5].map((i) => (i % 2 === 0 ? { op: 'get', space: 's', key: 'a' } : { op: 'put', space: 's', key: 'a', attributes: { i } }) as Operation);
  for (const op of ops) void Promise.resolve(session.submit(op)).catch(() => undefined);
  await settle();
  assert.deepEqual(ops.map((op) => runner.started.has(op)), [true, false, false, false, false, false], 'behind the running read, the write of its key waits, and everything behind that');
  runner.running.find((call) => call.op === ops[0])?.finish();
  await settle();
  assert.deepEqual(ops.map((op) => runner.started.has(op)), [true, true, true, true, true, true], 'the read done, the rest reach the committer');
  assert.deepEqual(ops.slice(1).map((op) => finished.has(op)), [false, false, false, false, false], 'none of them waited for another to commit');
  const starts = ops.map((op) => runner.started.get(op) as number);
  assert.deepEqual([...starts].sort((x, y) => x - y), starts, 'in the order sent');
  assert.deepEqual([ops[2], ops[4]].map((op) => runner.batched.has(op as Operation)), [true, true], 'the reads ride the batch behind the writes');
});

test('negative control: a runner with no order at all is caught', async () => {
  const unordered: Execute = (runner) => (op) => (op.op === 'get' || op.op === 'search' || op.op === 'list_spaces' ? runner.read(op) : runner.write(op));
  const seed = seedFromEnv();
  assert.notEqual(await check(seed, unordered), undefined, `seed ${seed}: the check missed operations run out of order`);
});

test('negative control: a runner that orders everything (free reads wait) is caught', async () => {
  const serial: Execute = (runner) => {
    let last: Promise<unknown> = Promise.resolve();
    return (op) => {
      last = last.then(() => (op.op === 'get' || op.op === 'search' || op.op === 'list_spaces' ? runner.read(op) : runner.write(op)));
      return last;
    };
  };
  const seed = seedFromEnv();
  const violation = await check(seed, serial);
  assert.match(violation ?? '', /waited/, `seed ${seed}: the check missed a free read made to wait (${violation})`);
});
