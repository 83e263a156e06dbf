// Proves the YCSB workload code is YCSB's and that the cell driver measures what it claims: keys in
// YCSB's hashed insert order (the same FNV-1a), zipfian key choice that is skewed yet spread over
// the key range, operation mixes in the workloads' proportions, "latest" favouring new records,
// one sequence per seed; and a driver that keeps exactly N operations in flight, counts failures,
// missing and malformed records, and runs the paced mode one operation at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCell } from '../lib/ycsb/driver.js';
import type { YcsbStore } from '../lib/ycsb/store.js';
import { FIELD_COUNT, type Fields, Keyspace, OP_KINDS, type OpKind, Random, ScrambledZipfian, WORKLOADS, type WorkloadName, generate, recordOf } from '../lib/ycsb/workload.js';

const workload = (name: WorkloadName) => WORKLOADS.find((w) => w.name === name) ?? assert.fail(`no workload ${name}`);

test('record keys follow YCSB hashed insert order (user + fnvhash64 of the record number)', () => {
  const keys = new Keyspace();
  // The first key every YCSB load writes.
  assert.equal(keys.key(0), 'user6284781860667377211');
  const distinct = new Set(Array.from({ length: 10_000 }, (_, i) => keys.key(i)));
  assert.equal(distinct.size, 10_000, 'two records share a key');
});

test('scrambled zipfian: skewed towards a few records, which are spread over the key range', () => {
  const records = 1_000;
  const zipf = new ScrambledZipfian(records);
  const random = new Random(7);
  const counts = new Uint32Array(records);
  const draws = 100_000;
  for (let i = 0; i < draws; i++) {
    const r = zipf.next(random);
    assert.ok(Number.isInteger(r) && r >= 0 && r < records, `draw ${r} outside [0, ${records})`);
    counts[r] = (counts[r] ?? 0) + 1;
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const [, top = 0] = ranked[0] ?? [];
  assert.ok(top > (draws / records) * 20, `the most popular record was drawn ${top} times, barely above the uniform ${draws / records}`);
  const hottest = ranked.slice(0, 10).map(([record]) => record);
  assert.ok(hottest.some((r) => r >= records / 2), `the hottest records all sit in the low half of the range: ${hottest.join(', ')}`);
});

test('each workload issues its operations in its proportions, and a seed gives one sequence', () => {
  const count = 20_000;
  for (const w of WORKLOADS) {
    const seq = generate(w, 10_000, 10_000, count, 3);
    const seen = new Map<OpKind, number>();
    for (const k of seq.kinds) seen.set(OP_KINDS[k] as OpKind, (seen.get(OP_KINDS[k] as OpKind) ?? 0) + 1);
    for (const kind of OP_KINDS) {
      const share = (seen.get(kind) ?? 0) / count;
      const expected = w.mix[kind] ?? 0;
      assert.ok(Math.abs(share - expected) < 0.02, `workload ${w.name}: ${kind} is ${(share * 100).toFixed(1)}% of operations, expected ${expected * 100}%`);
    }
    const again = generate(w, 10_000, 10_000, count, 3);
    assert.deepEqual([again.kinds, again.records, again.args], [seq.kinds, seq.records, seq.args], `workload ${w.name}: the same seed gave another sequence`);
  }
});

test('inserts take fresh consecutive records; "latest" reads favour the newest', () => {
  const loaded = 10_000;
  const insertBase = 12_000; // 2,000 records inserted by earlier cells
  const seq = generate(workload('D'), loaded, insertBase, 20_000, 5);
  const inserted: number[] = [];
  let reads = 0;
  let recent = 0;
  seq.kinds.forEach((k, i) => {
    const record = seq.records[i] as number;
    if (OP_KINDS[k] === 'insert') {
      inserted.push(record);
      return;
    }
    // The newest record when this read was generated.
    const newest = insertBase + inserted.length - 1;
    assert.ok(record >= 0 && record <= newest, `read ${i} chose record ${record}, never written (newest ${newest})`);
    reads++;
    if (record > newest - 100) recent++;
  });
  assert.deepEqual(inserted, inserted.map((_, i) => insertBase + i), 'inserts did not take consecutive fresh records from insertBase');
  // Zipfian 0.99 over 10,000 records puts about half of the draws on the first 100.
  assert.ok(recent / reads > 0.4, `only ${(recent / reads * 100).toFixed(1)}% of reads chose one of the 100 newest records`);
});

/** A store in memory that records how many operations are outstanding at once. */
function fakeStore(options: { failEvery?: number; dropFields?: boolean; settleMs?: number } = {}) {
  const data = new Map<string, Fields>();
  let outstanding = 0;
  let most = 0;
  let calls = 0;
  const op = <T>(work: () => T): Promise<T> => {
    outstanding++;
    most = Math.max(most, outstanding);
    calls++;
    const failing = options.failEvery !== undefined && calls % options.failEvery === 0;
    return new Promise<T>((resolve, reject) => setTimeout(() => {
      outstanding--;
      if (failing) reject(new Error(`injected failure ${calls}`));
      else resolve(work());
    }, options.settleMs ?? 0));
  };
  const store: YcsbStore = {
    detail: 'in memory',
    scanUnsupported: undefined,
    serverPids: () => Promise.resolve([]),
    load: (records) => op(() => void records.forEach(([k, f]) => data.set(k, f))),
    read: (key) => op(() => {
      const found = data.get(key);
      if (found === undefined) return null;
      return options.dropFields ? { field0: found.field0 ?? '' } : found;
    }),
    update: (key, field, value) => op(() => void data.set(key, { ...data.get(key), [field]: value })),
    insert: (key, fields) => op(() => void data.set(key, fields)),
    scan: (_key, count) => op(() => Math.min(count, data.size)),
    close: () => Promise.resolve(),
  };
  return { store, data, mostOutstanding: () => most };
}

async function loaded(fake: ReturnType<typeof fakeStore>, keys: Keyspace, records: number): Promise<void> {
  await fake.store.load(Array.from({ length: records }, (_, r) => [keys.key(r), recordOf(r)] as const));
}

test('the driver keeps exactly the in-flight level outstanding and completes every operation', async () => {
  const keys = new Keyspace();
  const fake = fakeStore();
  await loaded(fake, keys, 500);
  const sequence = generate(workload('A'), 500, 500, 2_000, 11);
  const r = await runCell(fake.store, keys, { sequence, inFlight: 64, maxSeconds: 60 });
  assert.equal(r.ops, 2_000);
  assert.equal(fake.mostOutstanding(), 64);
  assert.equal(r.errors + r.misses + r.malformed, 0);
  assert.equal(r.latency.count, 2_000);
  assert.equal((r.byKind.read?.count ?? 0) + (r.byKind.update?.count ?? 0), 2_000);
  assert.ok(r.latency.p50Us <= r.latency.p95Us && r.latency.p95Us <= r.latency.p99Us && r.latency.p99Us <= r.latency.maxUs);
  assert.ok(Number.isNaN(r.serverCpuPercent), 'an in-process store has no server CPU');
});

test('the driver counts failures, missing records and records without their fields', async () => {
  const keys = new Keyspace();
  const failing = fakeStore({ failEvery: 10 });
  await loaded(failing, keys, 100);
  const seq = generate(workload('C'), 100, 100, 500, 2);
  const r = await runCell(failing.store, keys, { sequence: seq, inFlight: 8, maxSeconds: 60 });
  assert.equal(r.ops, 500, 'a failed operation must not stop the cell');
  assert.equal(r.errors, 50);
  assert.match(r.firstError ?? '', /injected failure/);

  const empty = fakeStore();
  const misses = await runCell(empty.store, keys, { sequence: seq, inFlight: 8, maxSeconds: 60 });
  assert.equal(misses.misses, 500);

  const partial = fakeStore({ dropFields: true });
  await loaded(partial, keys, 100);
  const malformed = await runCell(partial.store, keys, { sequence: seq, inFlight: 8, maxSeconds: 60 });
  assert.equal(malformed.malformed, 500);
  assert.equal(FIELD_COUNT, 10);
});

test('the paced mode issues one operation at a time on its schedule', async () => {
  const keys = new Keyspace();
  const fake = fakeStore();
  await loaded(fake, keys, 100);
  const sequence = generate(workload('A'), 100, 100, 20, 4);
  const r = await runCell(fake.store, keys, { sequence, inFlight: 64, maxSeconds: 60, pacedPerSecond: 1_000 });
  assert.equal(r.ops, 20);
  assert.equal(fake.mostOutstanding(), 1);
});

test('a cell ends at its time bound even with operations left', async () => {
  const keys = new Keyspace();
  const fake = fakeStore({ settleMs: 20 });
  await loaded(fake, keys, 100);
  const sequence = generate(workload('C'), 100, 100, 100_000, 4);
  const r = await runCell(fake.store, keys, { sequence, inFlight: 4, maxSeconds: 0.2 });
  assert.ok(r.ops > 0 && r.ops < 100_000, `ran ${r.ops} operations`);
});
