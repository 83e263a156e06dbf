// Proves index entries on PostgreSQL across two stores sharing a schema (two servers): an index
// built online on one while the other keeps writing (and rewriting the indexed attribute) ends
// with exactly one entry per object, each matching the object's current value, so indexed search
// and count answer as a scan does; rm_index and rm_space change the catalog at once and their rows
// are purged afterwards in bounded slices, by the stores' own background work. A second add_index
// right after a first one succeeds even when the store read its catalog while the first was building,
// and a build analyzes the objects table first (a freshly loaded space would otherwise be sorted
// whole for each slice) and vacuums the index entries after (searches then read them from the index).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS, type Limits, type SearchPlan, type WriteOp, parseSchemaDsl, scalarIndexKey } from '@spacekv/core';
import postgres from 'postgres';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const missing = await postgresMissing();
const schema = uniqueSchema('index');
const twice = uniqueSchema('index_twice');
after(async () => {
  if (!missing) await Promise.all([dropSchema(schema), dropSchema(twice)]);
});

/** Small slices, so the build and the purges take many steps. */
const LIMITS: Limits = { ...DEFAULT_LIMITS, indexBuildBatchRowsMax: 40 };
const OBJECTS = 400;

async function write(store: Store, op: WriteOp, spaceCreatedSeq?: number) {
  const [outcome] = await store.commit([{ op, ...(spaceCreatedSeq === undefined ? {} : { spaceCreatedSeq }) }]);
  assert.ok(outcome && 'result' in outcome, JSON.stringify(outcome));
  return outcome;
}

function byN(seq: number, n: number, indexed: boolean): SearchPlan {
  return {
    space: 'items', spaceCreatedSeq: seq, nowMs: Date.now(), keys: {}, order: { by: 'key', reverse: false }, limit: 10_000, rowsMax: 10_000,
    condition: [{ kind: 'attr', attribute: 'n', op: 'eq', operand: n }] as unknown as SearchPlan['condition'],
    access: indexed ? { index: { attribute: 'n', lower: { key: scalarIndexKey({ kind: 'int' }, n), inclusive: true }, upper: { key: scalarIndexKey({ kind: 'int' }, n), inclusive: true } }, exact: true } : { exact: false },
  };
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  await withTimeout((async () => {
    while (!(await check())) await sleep(100);
  })(), 20_000, what);
}

test('an index built online while another server writes is exact; rm_index and rm_space purge afterwards', { skip: missing }, async () => {
  const a = new PostgresStore(storeUrl(schema), LIMITS, { poolSize: 3 });
  const b = new PostgresStore(storeUrl(schema), LIMITS, { poolSize: 3 });
  await Promise.all([a.open(), b.open()]);
  const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
  const count = async (table: string, where: string): Promise<number> =>
    (await admin.unsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${schema}.${table} WHERE ${where}`))[0]?.n ?? -1;
  try {
    const added = await write(a, { op: 'add_space', schema: parseSchemaDsl('space items key k attributes int n, string s', LIMITS) } as WriteOp);
    const seq = (added.changes[0] as { seq: number }).seq;
    for (let i = 0; i < OBJECTS; i += 50) {
      await b.commit(Array.from({ length: 50 }, (_, j) => ({ op: { op: 'put', space: 'items', key: `k${i + j}`, attributes: { n: (i + j) % 10, s: 'x' } } as WriteOp, spaceCreatedSeq: seq })));
    }
    // b rewrites n of every object, in small batches, while a builds the index.
    let rewriting = true;
    const rewrites = (async () => {
      for (let round = 1; rewriting || round < 3; round++) {
        for (let i = 0; i < OBJECTS; i += 25) {
          await b.commit(Array.from({ length: 25 }, (_, j) => ({ op: { op: 'put', space: 'items', key: `k${i + j}`, attributes: { n: (i + j + round) % 10 } } as WriteOp, spaceCreatedSeq: seq })));
        }
      }
    })();
    let steps = 0;
    const schemaAfter = await a.addIndex('items', seq, 'n', () => steps++);
    rewriting = false;
    await rewrites;
    assert.deepEqual(schemaAfter?.indexes, ['n']);
    assert.ok(steps >= OBJECTS / LIMITS.indexBuildBatchRowsMax, `built in slices (${steps})`);

    assert.equal(await count('index_entries', `space_seq = ${seq} AND attr = 'n'`), OBJECTS, 'one entry per object');
    for (let n = 0; n < 10; n++) {
      for (const store of [a, b]) {
        const scanned = (await store.search(byN(seq, n, false))).objects.map((o) => o.key);
        const indexed = (await store.search(byN(seq, n, true))).objects.map((o) => o.key);
        assert.deepEqual(indexed, scanned, `n = ${n}: the index finds what a scan finds`);
        assert.equal(await store.count(byN(seq, n, true)), scanned.length);
      }
    }

    await write(b, { op: 'rm_index', space: 'items', attribute: 'n' } as WriteOp, seq);
    await until('the entries of the removed index to be purged', async () => (await count('index_entries', `space_seq = ${seq}`)) === 0);
    assert.equal((await a.search(byN(seq, 3, true))).objects.length, OBJECTS / 10, 'a plan naming the removed index scans instead');

    await write(a, { op: 'rm_space', space: 'items' } as WriteOp);
    await assert.rejects(Promise.resolve(b.get('items', 'k1', Date.now())), { code: 'unknown_space' });
    await until('the objects of the removed space to be purged', async () => (await count('objects', `space_seq = ${seq}`)) === 0);
    // The purge row goes in the slice after the one that deleted the last objects.
    await until('no purge left pending', async () => (await count('purges', 'true')) === 0);
  } finally {
    await admin.end({ timeout: 1 });
    await a.close();
    await b.close();
  }
});

test('a second add_index right after a first succeeds, though the catalog was read while the first was building', { skip: missing }, async () => {
  const store = new PostgresStore(storeUrl(twice), LIMITS, { poolSize: 3 });
  await store.open();
  try {
    const added = await write(store, { op: 'add_space', schema: parseSchemaDsl('space items key k attributes int n, string s', LIMITS) } as WriteOp);
    const seq = (added.changes[0] as { seq: number }).seq;
    await store.commit(Array.from({ length: 100 }, (_, i) => ({ op: { op: 'put', space: 'items', key: `k${i}`, attributes: { n: i % 10, s: `s${i}` } } as WriteOp, spaceCreatedSeq: seq })));
    // A read of an unknown space reloads the catalog: during the build it reads `building` = 'n' (as a poll
    // that hears of the build does on a long one), and nothing reads it again before the next add_index.
    let reload: Promise<unknown> | undefined;
    const first = await store.addIndex('items', seq, 'n', () => (reload ??= Promise.resolve(store.get('nope', 'k', Date.now())).catch(() => {})));
    await reload;
    assert.deepEqual(first?.indexes, ['n']);
    const second = await store.addIndex('items', seq, 's', () => {});
    assert.deepEqual(second?.indexes, ['n', 's']);
    // A build analyzes the objects first, so its slices walk the key index even right after a bulk
    // load, and vacuums the entries after, so searches read them from the index alone.
    const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
    try {
      const stats = await admin.unsafe<{ relname: string; analyzed: boolean; vacuumed: boolean }[]>(
        `SELECT relname, last_analyze IS NOT NULL AS analyzed, last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables
         WHERE schemaname = $1 AND relname IN ('objects', 'index_entries') ORDER BY relname`, [twice]);
      assert.deepEqual(stats.map((r) => ({ ...r })), [
        { relname: 'index_entries', analyzed: true, vacuumed: true },
        { relname: 'objects', analyzed: true, vacuumed: false },
      ]);
    } finally {
      await admin.end({ timeout: 1 });
    }
  } finally {
    await store.close();
  }
});
