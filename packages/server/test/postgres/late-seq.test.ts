// Proves a batch that takes the meta row lock only at its end (postgres/batch.ts) still answers as if
// it ran at its commit: keys it found absent while it read its rows, and which another writer created
// before it got the lock, make it run again instead of being overwritten (put_if_not_exist) or
// trusted absent (a tx check). The interleaving is forced, not hoped for: this test holds the meta
// row lock itself, waits until the store's batch is blocked behind it, commits the two keys as
// another server would (object rows, log rows, last_seq), and lets the batch go. A store takes the
// lock late only while other servers write too, so the test first commits as another server; a
// store writing alone takes it at BEGIN and reads the keys under it, with no run again. A batch whose
// catalog changes while it waits runs again holding the lock from BEGIN, so a catalog that keeps
// changing sends it round at most once more. Such a batch runs its members on provisional seqs: its
// replies, change events, log rows and objects all carry the seqs it committed at (after a seq another
// server took while it waited), a cas or tx check against the version before an earlier member's
// write fails and reports that write's committed version; where LISTEN works, its seq bump carries the
// NOTIFY that wakes the other servers.
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
async function raced(
  store: PostgresStore, admin: postgres.Sql, spaceSeq: number, members: BatchMember[], created: string[],
): Promise<{ outcomes: readonly MemberOutcome[]; waitedIn: string; last: number }> {
  let batch: Promise<readonly MemberOutcome[]> | undefined;
  let waitedIn = '';
  let last = 0;
  await admin.begin(async (tx) => {
    const [{ pid }] = await tx.unsafe<[{ pid: number }]>('SELECT pg_backend_pid() AS pid');
    const [meta] = await tx.unsafe<[{ last_seq: string }]>(`SELECT last_seq FROM ${schema}.meta WHERE id = 1 FOR UPDATE`);
    last = Number(meta.last_seq);
    batch = store.commit(members);
    // The batch has read its rows and now waits for the meta row lock held here.
    await blockedBehind(admin, pid);
    [{ query: waitedIn }] = await admin.unsafe<[{ query: string }]>('SELECT query FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid]);
    await writeAsOther(tx, spaceSeq, last, created);
  });
  return { outcomes: await (batch as Promise<readonly MemberOutcome[]>), waitedIn, last };
}

/** The statement a batch waits in when it takes the meta row lock late: its seq bump (batch.ts SEQ_SQL). */
const SEQ_BUMP = /^WITH taken AS \(\s*UPDATE meta/;

/** Put `keys` of space `space` (incarnation `spaceSeq`) at the seqs after `last`, as another server would, in `tx` (holding the meta row lock). */
async function writeAsOther(tx: postgres.TransactionSql, spaceSeq: number, last: number, keys: string[], space = 't'): Promise<void> {
  for (const [i, key] of keys.entries()) {
    const seq = last + 1 + i;
    await tx.unsafe(`INSERT INTO ${schema}.objects (space_seq, key, version, expires_at, attrs) VALUES ($1, $2, $3, NULL, $4)`,
      [spaceSeq, keyBytes(key, 'string'), seq, OTHER] as never[]);
    await tx.unsafe(`INSERT INTO ${schema}.changes (seq, idx, space, key_json, op, attrs, committed_at) VALUES ($1, 0, $2, $3, 'put', $4, 0)`,
      [seq, space, JSON.stringify(key), OTHER]);
  }
  await tx.unsafe(`UPDATE ${schema}.meta SET last_seq = $1 WHERE id = 1`, [last + keys.length]);
}

/**
 * Another server commits a put of `key`, then the store commits one of its own: its batch finds the
 * other's commit before it, so for the next second the store takes the meta row lock late.
 */
async function anotherServerWrites(store: PostgresStore, admin: postgres.Sql, spaceSeq: number, key: string, space = 't'): Promise<void> {
  await admin.begin(async (tx) => {
    const [{ last_seq: last }] = await tx.unsafe<[{ last_seq: string }]>(`SELECT last_seq FROM ${schema}.meta WHERE id = 1 FOR UPDATE`);
    await writeAsOther(tx, spaceSeq, Number(last), [key], space);
  });
  const [outcome] = await store.commit([{ op: { op: 'put', space, key: `${key}-own`, attributes: { owner: 'batch' } } as WriteOp, spaceCreatedSeq: spaceSeq }]);
  assert.ok(outcome && 'result' in outcome, JSON.stringify(outcome));
}

/** True once some session waits for a lock held by the session `pid`; false if `done()` first. */
async function blockedBehind(admin: postgres.Sql, pid: number, done: () => boolean = () => false): Promise<boolean> {
  return withTimeout((async () => {
    for (;;) {
      if (done()) return false;
      const [{ n }] = await admin.unsafe<[{ n: number }]>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid]);
      if (n > 0) return true;
      await sleep(20);
    }
  })(), 20_000, 'the batch to wait for the meta row lock');
}

/** Add a space through `store` (declared in the DSL) and give its incarnation, the seq that created it. */
async function addSpace(store: PostgresStore, dsl: string): Promise<number> {
  const [added] = await store.commit([{ op: { op: 'add_space', schema: parseSchemaDsl(dsl, DEFAULT_LIMITS) } as WriteOp }]);
  assert.ok(added && 'result' in added, JSON.stringify(added));
  return (added.changes[0] as { seq: number }).seq;
}

const OTHER = JSON.stringify({ owner: 'other' });

test('keys created while a batch waits for the meta row lock are seen by that batch, not overwritten', { skip: missing }, async () => {
  const store = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  await store.open();
  const admin = postgres(POSTGRES_URL, { max: 2, onnotice: () => {} });
  try {
    const spaceSeq = await addSpace(store, 'space t key k attributes string owner');

    // Writing alone, the store takes the lock at BEGIN and reads w under it: no run again.
    const { outcomes: [alone], waitedIn: aloneWaitedIn } = await raced(store, admin, spaceSeq, [
      { op: { op: 'put_if_not_exist', space: 't', key: 'w', attributes: { owner: 'batch' } } as WriteOp, spaceCreatedSeq: spaceSeq },
    ], ['w']);
    assert.doesNotMatch(aloneWaitedIn, SEQ_BUMP, 'writing alone, the batch waits for the lock at BEGIN');
    assert.ok(alone && 'result' in alone, JSON.stringify(alone));
    assert.equal((alone.result as { code?: string }).code, 'exists', `put_if_not_exist of w finds it: ${JSON.stringify(alone.result)}`);
    assert.equal(store.serializationRetries, 0, 'a store writing alone read its rows under the lock');

    // Read as absent only: the tx's check.
    await anotherServerWrites(store, admin, spaceSeq, 'o1');
    const { outcomes: [txOutcome], waitedIn } = await raced(store, admin, spaceSeq, [{
      op: { op: 'tx', checks: [{ check: 'exists', space: 't', key: 'x', exists: false, spaceCreatedSeq: spaceSeq }], ops: [{ op: 'put', space: 't', key: 'y', attributes: { owner: 'tx' }, spaceCreatedSeq: spaceSeq }] } as WriteOp,
      spaceCreatedSeq: spaceSeq,
    }], ['x']);
    assert.match(waitedIn, SEQ_BUMP, 'while another server writes, the batch waits for the lock in its last round trip');
    assert.ok(txOutcome && 'result' in txOutcome, JSON.stringify(txOutcome));
    assert.equal(txOutcome.result.ok, false, `the tx's check that x is absent fails: ${JSON.stringify(txOutcome.result)}`);
    assert.equal(await store.get('t', 'y', Date.now()), null, 'the failed tx wrote nothing');

    // Read as absent and created: put_if_not_exist.
    await anotherServerWrites(store, admin, spaceSeq, 'o2');
    const { outcomes: [putOutcome] } = await raced(store, admin, spaceSeq, [
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

test('a batch run on provisional seqs answers, logs and stores the seqs it committed at', { skip: missing }, async () => {
  const store = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  await store.open();
  const admin = postgres(POSTGRES_URL, { max: 2, onnotice: () => {} });
  try {
    const spaceSeq = await addSpace(store, 'space p key k attributes string owner');
    const [first] = await store.commit([{ op: { op: 'put', space: 'p', key: 'k', attributes: { owner: 'first' } } as WriteOp, spaceCreatedSeq: spaceSeq }]);
    assert.ok(first && 'result' in first);
    const before = (first.result as { version: number }).version;
    const op = (fields: Record<string, unknown>): BatchMember => ({ op: { space: 'p', key: 'k', ...fields } as WriteOp, spaceCreatedSeq: spaceSeq });
    const keyed = { space: 'p', key: 'k', spaceCreatedSeq: spaceSeq };

    await anotherServerWrites(store, admin, spaceSeq, 'o4', 'p');
    // Another server commits one seq while the batch waits: the batch's seqs follow it, whatever
    // the batch saw as last_seq when it ran its members.
    const { outcomes, waitedIn, last } = await raced(store, admin, spaceSeq, [
      op({ op: 'put', attributes: { owner: 'm0' } }),
      // The version k had before the batch: stale once m0 wrote it.
      op({ op: 'compare_and_swap', version: before, attributes: { owner: 'm1' } }),
      { op: { op: 'tx', checks: [{ check: 'version', ...keyed, version: before }], ops: [{ op: 'put', ...keyed, attributes: { owner: 'm2' } }] } as WriteOp, spaceCreatedSeq: spaceSeq },
      { op: { op: 'tx', checks: [], ops: [{ op: 'put', ...keyed, attributes: { owner: 'm3' } }, { op: 'get', ...keyed }] } as WriteOp, spaceCreatedSeq: spaceSeq },
      op({ op: 'get_and_put', attributes: { owner: 'm4' } }),
    ], ['other']);
    assert.match(waitedIn, SEQ_BUMP, 'the batch ran on provisional seqs');
    const text = JSON.stringify(outcomes);
    assert.doesNotMatch(text, /-\d{16}/, `no provisional seq reaches an outcome: ${text}`);
    const [m0, m1, m2, m3, m4] = outcomes.map((o) => {
      assert.ok('result' in o, JSON.stringify(o));
      return o;
    }) as Extract<MemberOutcome, { result: unknown }>[];
    const seq0 = last + 2; // last + 1 is the other server's
    assert.deepEqual(m0?.result, { ok: true, kind: 'written', key: 'k', version: seq0, created: false });
    assert.equal((m1?.result as { code: string }).code, 'cmp_fail', 'a cas on the version before the batch fails: m0 wrote k since');
    assert.equal((m1?.result as { version: number }).version, seq0);
    assert.match((m1?.result as { message: string }).message, new RegExp(`at version ${seq0}\\b`));
    const failure = (m2?.result as unknown as { failures: { version: number; message: string }[] }).failures[0];
    assert.equal(failure?.version, seq0, "the tx's check reports m0's committed version");
    assert.match(failure?.message ?? '', new RegExp(`at version ${seq0}\\b`));
    assert.deepEqual(m3?.result, {
      ok: true, kind: 'tx', seq: seq0 + 1, results: [
        { ok: true, kind: 'written', key: 'k', version: seq0 + 1, created: false },
        { ok: true, kind: 'object', key: 'k', version: seq0 + 1, attributesJson: JSON.stringify({ owner: 'm3' }) },
      ],
    });
    assert.equal((m4?.result as { version: number }).version, seq0 + 2);
    assert.equal((m4?.result as { previous: { version: number } }).previous.version, seq0 + 1, "get_and_put's previous object carries m3's committed version");

    // What the store's change events carry is what the log and the object hold.
    const told = outcomes.flatMap((o) => ('changes' in o ? o.changes : [])).map((c) => ({ seq: c.seq, attributesJson: c.attributesJson }));
    const { changes: logged } = await store.readChanges(last + 1, 100);
    assert.deepEqual(logged.map((c) => ({ seq: c.seq, attributesJson: c.attributesJson })), told);
    assert.deepEqual(told.map((c) => c.seq), [seq0, seq0 + 1, seq0 + 2]);
    assert.equal((await store.get('p', 'k', Date.now()))?.version, seq0 + 2);
    const [meta] = await admin.unsafe<[{ last_seq: string }]>(`SELECT last_seq FROM ${schema}.meta WHERE id = 1`);
    assert.equal(Number(meta.last_seq), seq0 + 2, 'last_seq moved on by the seqs the batch took, after the other server\'s');
  } finally {
    await admin.end({ timeout: 1 });
    await store.close();
  }
});

test('where LISTEN works, the seq bump wakes the servers listening, at COMMIT, in either way of taking the lock', { skip: missing }, async () => {
  // Without the portable guard (which refuses LISTEN/NOTIFY), as PostgreSQL users run it.
  const url = new URL(storeUrl(schema));
  url.searchParams.delete('guard');
  const store = new PostgresStore(url.toString(), DEFAULT_LIMITS, { poolSize: 2 });
  await store.open();
  const admin = postgres(POSTGRES_URL, { max: 2, onnotice: () => {} });
  let heard = 0;
  await admin.listen(`spacekv_${schema}`, () => void heard++);
  try {
    const spaceSeq = await addSpace(store, 'space n key k attributes string owner');
    const put = (key: string): BatchMember => ({ op: { op: 'put', space: 'n', key, attributes: { owner: 'batch' } } as WriteOp, spaceCreatedSeq: spaceSeq });
    /** Commits until a notification is heard (the store's own LISTEN may still be starting); how many commits that took. */
    const untilHeard = (key: string): Promise<number> => withTimeout((async () => {
      const before = heard;
      for (let i = 0; ; i++) {
        const [outcome] = await store.commit([put(`${key}${i}`)]);
        assert.ok(outcome && 'result' in outcome, JSON.stringify(outcome));
        await sleep(50);
        if (heard > before) return i;
      }
    })(), 10_000, 'a notification');
    await untilHeard('alone');
    // Another server's commit puts the store in the late way: its bump carries the notification.
    await anotherServerWrites(store, admin, spaceSeq, 'o5', 'n');
    await sleep(100); // the notification of the store's own commit in there is heard before the count
    const before = heard;
    const { outcomes: [late], waitedIn } = await raced(store, admin, spaceSeq, [put('late')], []);
    assert.match(waitedIn, SEQ_BUMP);
    assert.ok(late && 'result' in late, JSON.stringify(late));
    await withTimeout((async () => {
      while (heard === before) await sleep(10);
    })(), 10_000, 'the late batch\'s notification');
  } finally {
    await admin.end({ timeout: 1 });
    await store.close();
  }
});

test('a batch whose catalog keeps changing while it waits for the meta row lock runs twice at most', { skip: missing }, async () => {
  const store = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  await store.open();
  const admin = postgres(POSTGRES_URL, { max: 4, onnotice: () => {} });
  /** A session of its own holding the meta row lock (or queued for it, when `queued`). */
  const holdMeta = async (queued = false): Promise<{ session: postgres.ReservedSql; pid: number; locked: Promise<unknown> }> => {
    const session = await admin.reserve();
    const [{ pid }] = await session.unsafe<[{ pid: number }]>('SELECT pg_backend_pid() AS pid');
    await session.unsafe('BEGIN');
    const locked = session.unsafe(`SELECT last_seq FROM ${schema}.meta WHERE id = 1 FOR UPDATE`).execute(); // sent now, not when awaited
    if (!queued) await locked;
    return { session, pid, locked };
  };
  try {
    const spaceSeq = await addSpace(store, 'space churn key k attributes string owner');
    /** Puts `key` while the catalog changes under it each time it waits for the lock, up to 5 times. */
    const churn = async (key: string): Promise<{ blocks: number; reran: number }> => {
      await anotherServerWrites(store, admin, spaceSeq, `${key}-other`, 'churn');
      let holder = await holdMeta();
      const reranBefore = store.serializationRetries;
      let settled = false;
      const batch = store.commit([{ op: { op: 'put', space: 'churn', key, attributes: { owner: 'batch' } } as WriteOp, spaceCreatedSeq: spaceSeq }]);
      void batch.finally(() => (settled = true));
      // Each time the batch waits for the lock, the next holder queues behind it, and the one holding
      // it moves the catalog generation on (as another server's catalog operation would) and lets go:
      // the batch then finds the catalog changed under it.
      let blocks = 0;
      while (blocks < 5 && (await blockedBehind(admin, holder.pid, () => settled))) {
        blocks++;
        const next = await holdMeta(true);
        await withTimeout((async () => {
          // Behind the batch, which heads the row's queue (PostgreSQL reports the head as the blocker).
          while ((await admin.unsafe<[{ n: number }]>('SELECT cardinality(pg_blocking_pids($1))::int AS n', [next.pid]))[0].n === 0) await sleep(10);
        })(), 20_000, 'the next holder to queue for the lock');
        await holder.session.unsafe(`UPDATE ${schema}.meta SET catalog_gen = catalog_gen + 1 WHERE id = 1`);
        await holder.session.unsafe('COMMIT');
        holder.session.release();
        await next.locked;
        holder = next;
      }
      await holder.session.unsafe('COMMIT');
      holder.session.release();
      const [outcome] = await batch;
      assert.ok(outcome && 'result' in outcome, JSON.stringify(outcome));
      assert.equal((await store.get('churn', key, Date.now()))?.attributesJson, JSON.stringify({ owner: 'batch' }));
      return { blocks, reran: store.serializationRetries - reranBefore };
    };
    // A run again may take the lock before the next holder it queued ahead of (PostgreSQL does not
    // promise the order): then the catalog changed under the batch only once, which tells nothing.
    let seen = { blocks: 0, reran: 0 };
    for (let round = 0; round < 5 && seen.blocks < 2; round++) seen = await churn(`a${round}`);
    assert.ok(seen.blocks >= 2, `the catalog changed under the batch only ${seen.blocks} time(s) in 5 rounds (the test could not tell)`);
    assert.equal(seen.reran, 1, 'the batch ran again once, not once per catalog change');
  } finally {
    await admin.end({ timeout: 1 });
    await store.close();
  }
});
