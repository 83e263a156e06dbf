// Proves a batch that takes the meta row lock only at its end (postgres/batch.ts) still answers as if
// it ran at its commit: keys it found absent while it read its rows, and which another writer created
// before it got the lock, make it run again instead of being overwritten (put_if_not_exist) or
// trusted absent (a tx check). The interleaving is forced, not hoped for: this test holds the meta
// row lock itself, waits until the store's batch is blocked behind it, commits the two keys as
// another server would (object rows, log rows, last_seq), and lets the batch go.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS, type WriteOp, parseSchemaDsl } from '@spacekv/core';
import postgres from 'postgres';
import { keyBytes } from '../../src/store/postgres/key-bytes.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { BatchMember, MemberOutcome } from '../../src/store/store.js';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const missing = await postgresMissing();
const schema = uniqueSchema('lateseq');
after(async () => {
  if (!missing) await dropSchema(schema);
});

/**
 * Commit `members` on `store` while keys `created` of space `t` (incarnation `spaceSeq`) are created
 * by another writer after the batch read its rows and before it got the meta row lock.
 */
async function raced(store: PostgresStore, admin: postgres.Sql, spaceSeq: number, members: BatchMember[], created: string[]): Promise<readonly MemberOutcome[]> {
  let batch: Promise<readonly MemberOutcome[]> | undefined;
  await admin.begin(async (tx) => {
    const [{ pid }] = await tx.unsafe<[{ pid: number }]>('SELECT pg_backend_pid() AS pid');
    const [{ last_seq: last }] = await tx.unsafe<[{ last_seq: string }]>(`SELECT last_seq FROM ${schema}.meta WHERE id = 1 FOR UPDATE`);
    batch = store.commit(members);
    // The batch has read its rows and now waits for the meta row lock held here.
    await withTimeout((async () => {
      for (;;) {
        const [{ n }] = await admin.unsafe<[{ n: number }]>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid]);
        if (n > 0) return;
        await sleep(20);
      }
    })(), 20_000, 'the batch to wait for the meta row lock');
    for (const [i, key] of created.entries()) {
      const seq = Number(last) + 1 + i;
      await tx.unsafe(`INSERT INTO ${schema}.objects (space_seq, key, version, expires_at, attrs) VALUES ($1, $2, $3, NULL, $4)`,
        [spaceSeq, keyBytes(key, 'string'), seq, OTHER] as never[]);
      await tx.unsafe(`INSERT INTO ${schema}.changes (seq, idx, space, key_json, op, attrs, committed_at) VALUES ($1, 0, 't', $2, 'put', $3, 0)`,
        [seq, JSON.stringify(key), OTHER]);
    }
    await tx.unsafe(`UPDATE ${schema}.meta SET last_seq = $1 WHERE id = 1`, [Number(last) + created.length]);
  });
  return batch as Promise<readonly MemberOutcome[]>;
}

const OTHER = JSON.stringify({ owner: 'other' });

test('keys created while a batch waits for the meta row lock are seen by that batch, not overwritten', { skip: missing }, async () => {
  const store = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  await store.open();
  const admin = postgres(POSTGRES_URL, { max: 2, onnotice: () => {} });
  try {
    const [added] = await store.commit([{ op: { op: 'add_space', schema: parseSchemaDsl('space t key k attributes string owner', DEFAULT_LIMITS) } as WriteOp }]);
    assert.ok(added && 'result' in added);
    const spaceSeq = (added.changes[0] as { seq: number }).seq;

    // Read as absent only: the tx's check.
    const [txOutcome] = await raced(store, admin, spaceSeq, [{
      op: { op: 'tx', checks: [{ check: 'exists', space: 't', key: 'x', exists: false, spaceCreatedSeq: spaceSeq }], ops: [{ op: 'put', space: 't', key: 'y', attributes: { owner: 'tx' }, spaceCreatedSeq: spaceSeq }] } as WriteOp,
      spaceCreatedSeq: spaceSeq,
    }], ['x']);
    assert.ok(txOutcome && 'result' in txOutcome, JSON.stringify(txOutcome));
    assert.equal(txOutcome.result.ok, false, `the tx's check that x is absent fails: ${JSON.stringify(txOutcome.result)}`);
    assert.equal(await store.get('t', 'y', Date.now()), null, 'the failed tx wrote nothing');

    // Read as absent and created: put_if_not_exist.
    const [putOutcome] = await raced(store, admin, spaceSeq, [
      { op: { op: 'put_if_not_exist', space: 't', key: 'z', attributes: { owner: 'batch' } } as WriteOp, spaceCreatedSeq: spaceSeq },
    ], ['z']);
    assert.ok(putOutcome && 'result' in putOutcome, JSON.stringify(putOutcome));
    assert.equal((putOutcome.result as { code?: string }).code, 'exists', `put_if_not_exist of z finds it: ${JSON.stringify(putOutcome.result)}`);
    assert.equal((await store.get('t', 'z', Date.now()))?.attributesJson, OTHER, 'z keeps what the other writer put');
    assert.ok(store.serializationRetries >= 2, 'each batch ran again');
  } finally {
    await admin.end({ timeout: 1 });
    await store.close();
  }
});
