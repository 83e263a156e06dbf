// Proves point reads on PostgreSQL coalesce (point-reads.ts): many gets in flight at once, on
// several spaces (string and int keys), some keys absent, some objects expired, one space removed
// and re-created by another server and one removed for good meanwhile, each get answered as one
// statement of its own would answer it, while the store sends far fewer statements than gets, none
// reading more than pointReadBatchKeysMax keys. With one statement per get (as before, or with
// pointReadBatchKeysMax 1) the statement count fails the test.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { DEFAULT_LIMITS, type Key, type Limits, SpacekvError, type StoredObject, type WriteOp, parseSchemaDsl } from '@spacekv/core';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';

const missing = await postgresMissing();
const schema = uniqueSchema('point');
after(async () => {
  if (!missing) await dropSchema(schema);
});

const LIMITS: Limits = { ...DEFAULT_LIMITS, pointReadBatchKeysMax: 16 };

async function write(store: Store, op: WriteOp, spaceCreatedSeq?: number): Promise<number> {
  const [outcome] = await store.commit([{ op, ...(spaceCreatedSeq === undefined ? {} : { spaceCreatedSeq }) }]);
  assert.ok(outcome && 'result' in outcome, JSON.stringify(outcome));
  return (outcome.changes[0] as { seq: number }).seq;
}

/** Add `space`, then put `n: i` at each of `keys` (expiring in 60 s where `expiring` says), in one batch; its created seq. */
async function fill(store: Store, space: string, keyType: string, keys: readonly Key[], expiring: (i: number) => boolean, base = 0): Promise<number> {
  const seq = await write(store, { op: 'add_space', schema: parseSchemaDsl(`space ${space} key ${keyType} k attributes int n`, LIMITS) } as WriteOp);
  await store.commit(keys.map((key, i) => ({
    op: { op: 'put', space, key, attributes: { n: base + i }, ...(expiring(i) ? { expireIn: 60 } : {}) } as WriteOp, spaceCreatedSeq: seq,
  })));
  return seq;
}

/** What a get answered, reduced to what the test expects: the object's n, null when absent, or the error code. */
async function answer(read: Promise<StoredObject | null>): Promise<number | null | string> {
  try {
    const object = await read;
    return object === null ? null : (JSON.parse(object.attributesJson) as { n: number }).n;
  } catch (err) {
    if (err instanceof SpacekvError) return err.code;
    throw err;
  }
}

test('gets in flight together share statements of at most pointReadBatchKeysMax keys, each answered right', { skip: missing }, async () => {
  const reader = new PostgresStore(storeUrl(schema), LIMITS, { poolSize: 3 });
  const other = new PostgresStore(storeUrl(schema), LIMITS, { poolSize: 3 });
  await other.open();
  try {
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
    const nums = Array.from({ length: 60 }, (_, i) => i * 7 - 100);
    await fill(other, 'words', 'string', words, (i) => i % 3 === 0);
    await fill(other, 'nums', 'int', nums, (i) => i % 5 === 0);
    await fill(other, 'renewed', 'string', ['a', 'b', 'c', 'd'], () => false);
    await fill(other, 'dropped', 'string', ['a', 'b'], () => false);
    await reader.open();

    // Another server removes two spaces the reader knows, and re-creates one with other objects.
    await write(other, { op: 'rm_space', space: 'renewed' } as WriteOp);
    await write(other, { op: 'rm_space', space: 'dropped' } as WriteOp);
    await fill(other, 'renewed', 'string', ['b', 'c', 'e'], () => false, 100);

    // Read after the objects were written, past the expiry of those that expire.
    const nowMs = Date.now() + 120_000;
    const asked: { space: string; key: Key; expected: number | null | string }[] = [
      ...Array.from({ length: 80 }, (_, i) => ({ space: 'words', key: `w${i}`, expected: i >= 60 || i % 3 === 0 ? null : i })),
      ...Array.from({ length: 70 }, (_, i) => ({ space: 'nums', key: i * 7 - 100, expected: i >= 60 || i % 5 === 0 ? null : i })),
      ...['a', 'b', 'c', 'd', 'e'].map((key) => ({ space: 'renewed', key, expected: ({ b: 100, c: 101, e: 102 } as Record<string, number>)[key] ?? null })),
      ...['a', 'b'].map((key) => ({ space: 'dropped', key, expected: 'unknown_space' })),
      ...['w1', 'w1', 'w3'].map((key) => ({ space: 'words', key, expected: key === 'w1' ? 1 : null })), // the same key twice in flight
    ];
    const before = { ...reader.pointReads.counts };
    const answers = await Promise.all(asked.map((a) => answer(reader.get(a.space, a.key, nowMs))));
    assert.deepEqual(answers.map((got, i) => ({ ...asked[i], got })), asked.map((a) => ({ ...a, got: a.expected })));

    const gets = reader.pointReads.counts.gets - before.gets;
    const statements = reader.pointReads.counts.statements - before.statements;
    // The removed spaces' gets are asked twice (once more with the catalog read again).
    assert.ok(gets >= asked.length, `${gets} gets counted for ${asked.length} asked`);
    assert.ok(statements * 4 <= gets, `${statements} statements for ${gets} gets: far fewer statements than gets`);
    const perSpace = new Map<string, number>();
    for (const a of asked) perSpace.set(a.space, (perSpace.get(a.space) ?? 0) + 1);
    const fewestPossible = [...perSpace.values()].reduce((sum, n) => sum + Math.ceil(n / LIMITS.pointReadBatchKeysMax), 0);
    assert.ok(statements >= fewestPossible, `${statements} statements, at least ${fewestPossible} with at most ${LIMITS.pointReadBatchKeysMax} keys each`);
  } finally {
    await Promise.all([reader.close(), other.close()]);
  }
});

test('lone gets, one after another, all meet one backend (the hot connection), not each pooled one in turn', { skip: missing }, async () => {
  // The store's connections are told apart from every other client's by their application name.
  const appName = `${schema}_lone`;
  const url = new URL(storeUrl(schema));
  url.searchParams.set('application_name', appName);
  const store = new PostgresStore(url.toString(), LIMITS, { poolSize: 4 });
  await store.open();
  try {
    await fill(store, 'lone', 'string', ['a', 'b'], () => false);
    // Open every pooled connection: log reads at once, each on a connection of its own.
    await Promise.all(Array.from({ length: 4 }, () => store.readChanges(0, 1)));
    for (let i = 0; i < 12; i++) assert.equal(await answer(store.get('lone', i % 2 === 0 ? 'a' : 'b', Date.now())), i % 2);
    const probe = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
    try {
      const backends = await probe.unsafe<{ pid: number; query: string }[]>(
        'SELECT pid, query FROM pg_stat_activity WHERE application_name = $1', [appName]);
      assert.ok(backends.length >= 3, `the pool's connections were opened (${backends.length} backends)`);
      const reading = backends.filter((b) => b.query.includes('LEFT JOIN objects'));
      assert.equal(reading.length, 1, `the backends whose last statement was a get: ${JSON.stringify(reading)}`);
    } finally {
      await probe.end();
    }
  } finally {
    await store.close();
  }
});
