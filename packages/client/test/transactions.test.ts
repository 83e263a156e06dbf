// Proves the client's transactions: optimistic read-modify-write transactions (db.transaction) keep
// a bank's invariant under 16 concurrent clients doing 20,000 random transfers (the total never
// changes, no balance goes negative, a reader summing every account in one snapshot always sees the
// total); the HyperDex friendship as one server tx is all-or-nothing under concurrent conflicting
// writes; conflicts retry then fail with ConflictError; the function's own errors reach the caller;
// the typed layer's transactions are checked by the compiler.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConflictError, type SpacekvClient, TxFailedError, connect, defineSpace, t,
} from '../src/index.js';
import { type TestServer, closeClient, startTestServer, teardown, withTimeout } from './support.js';

const ACCOUNTS = 100;
const INITIAL = 1_000;
const CLIENTS = 16;
const TRANSFERS = 20_000;

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with SPACEKV_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.SPACEKV_SEED ?? Date.now() % 1_000_000);

let server: TestServer;
const clients: SpacekvClient[] = [];

before(async () => {
  server = await startTestServer();
  for (let i = 0; i < CLIENTS; i++) clients.push(await connect(server.url));
});

after(async () => {
  await teardown(...clients.map((c) => () => closeClient(c)), () => server.stop());
});

function balanceOf(object: { attributes: Record<string, unknown> } | null): number {
  return Number(object?.attributes.balance ?? 0);
}

async function snapshotTotal(db: SpacekvClient): Promise<{ total: number; negative: number }> {
  const { results } = await db.tx({ ops: Array.from({ length: ACCOUNTS }, (_, i) => ({ op: 'get', space: 'bank', key: `a${i}` })) });
  const balances = results.map((r) => Number((r.attributes as { balance: number }).balance));
  return { total: balances.reduce((a, b) => a + b, 0), negative: balances.filter((b) => b < 0).length };
}

test(`bank: ${CLIENTS} clients, ${TRANSFERS} random transfers between ${ACCOUNTS} accounts keep the total (seed ${SEED})`, async (t) => {
  const db = clients[0] as SpacekvClient;
  await db.addSpace('space bank key name attributes int balance');
  await Promise.all(Array.from({ length: ACCOUNTS }, (_, i) => db.put('bank', `a${i}`, { balance: INITIAL })));
  const expected = ACCOUNTS * INITIAL;

  let done = false;
  const snapshots: number[] = [];
  const reader = (async () => {
    while (!done) {
      const { total, negative } = await snapshotTotal(db);
      assert.equal(total, expected, `a snapshot saw the total ${total} (seed ${SEED})`);
      assert.equal(negative, 0, `a snapshot saw a negative balance (seed ${SEED})`);
      snapshots.push(total);
    }
  })();

  let moved = 0;
  let skipped = 0;
  const perClient = TRANSFERS / CLIENTS;
  await withTimeout(Promise.all(clients.map(async (client, c) => {
    const next = random(SEED * 31 + c);
    for (let i = 0; i < perClient; i++) {
      const from = `a${Math.floor(next() * ACCOUNTS)}`;
      let to = `a${Math.floor(next() * ACCOUNTS)}`;
      if (to === from) to = `a${(Number(from.slice(1)) + 1) % ACCOUNTS}`;
      const amount = 1 + Math.floor(next() * 300);
      const applied = await client.transaction(async (tx) => {
        const source = await tx.get('bank', from);
        const target = await tx.get('bank', to);
        if (balanceOf(source) < amount) return false; // would go negative: no transfer
        tx.put('bank', from, { balance: balanceOf(source) - amount });
        tx.put('bank', to, { balance: balanceOf(target) + amount });
        return true;
      }, { attemptsMax: 200 });
      if (applied) moved++;
      else skipped++;
    }
  })), 180_000, 'the transfers');
  done = true;
  await reader;

  const final = await snapshotTotal(db);
  assert.equal(final.total, expected, `the final total (seed ${SEED})`);
  assert.equal(final.negative, 0);
  assert.ok(moved > TRANSFERS / 2, `most transfers applied (${moved} applied, ${skipped} refused for funds)`);
  assert.ok(snapshots.length > 0, 'the reader took snapshots during the run');
  t.diagnostic(`${moved} transfers applied, ${skipped} refused for funds, ${snapshots.length} consistent snapshots`);
});

test('friendship as one tx: both set_adds or neither, under concurrent conflicting writes', async () => {
  const db = clients[1] as SpacekvClient;
  await db.addSpace('space friendlists key username attributes string first, set(string) friends');
  const users = ['jsmith1', 'jd', 'bjones1', 'jj', 'kk', 'll'];
  for (const u of users) await db.put('friendlists', u, { first: u });

  // A friendship whose check fails changes neither side.
  const jd = await db.get('friendlists', 'jd');
  await assert.rejects(db.tx({
    checks: [{ space: 'friendlists', key: 'jd', version: (jd?.version ?? 0) + 1000 }],
    ops: [
      { op: 'mutate', space: 'friendlists', key: 'jsmith1', mutations: [{ set_add: { friends: 'jd' } }] },
      { op: 'mutate', space: 'friendlists', key: 'jd', mutations: [{ set_add: { friends: 'jsmith1' } }] },
    ],
  }), (err: unknown) => err instanceof TxFailedError && err.code === 'tx_failed');
  assert.deepEqual((await db.get('friendlists', 'jsmith1'))?.attributes.friends, []);
  assert.deepEqual((await db.get('friendlists', 'jd'))?.attributes.friends, []);

  // Befriend and unfriend concurrently, always both ways in one tx; snapshots must stay symmetric.
  const next = random(SEED);
  const pair = (): [string, string] => {
    const a = users[Math.floor(next() * users.length)] as string;
    let b = users[Math.floor(next() * users.length)] as string;
    if (a === b) b = users[(users.indexOf(a) + 1) % users.length] as string;
    return [a, b];
  };
  const both = (a: string, b: string, op: 'set_add' | 'set_remove') => [
    { op: 'mutate', space: 'friendlists', key: a, mutations: [{ [op]: { friends: b } }] },
    { op: 'mutate', space: 'friendlists', key: b, mutations: [{ [op]: { friends: a } }] },
  ];
  let asymmetric = 0;
  await Promise.all(clients.slice(0, 8).map(async (client, c) => {
    for (let i = 0; i < 60; i++) {
      const [a, b] = pair();
      if (c === 0 && i % 3 === 0) {
        const { results } = await client.tx({ ops: users.map((u) => ({ op: 'get', space: 'friendlists', key: u })) });
        const friends = new Map(results.map((r) => [r.key as string, new Set((r.attributes as { friends: string[] }).friends)]));
        for (const [u, set] of friends) for (const f of set) if (!friends.get(f)?.has(u)) asymmetric++;
      }
      await client.tx({ ops: both(a, b, next() < 0.6 ? 'set_add' : 'set_remove') });
    }
  }));
  assert.equal(asymmetric, 0, 'every snapshot saw friendships both ways or not at all');
  const final = await db.tx({ ops: users.map((u) => ({ op: 'get', space: 'friendlists', key: u })) });
  const friends = new Map(final.results.map((r) => [r.key as string, new Set((r.attributes as { friends: string[] }).friends)]));
  for (const [u, set] of friends) for (const f of set) assert.ok(friends.get(f)?.has(u), `${u} befriends ${f} but not the other way`);
});

test('a transaction that keeps conflicting gives up with ConflictError; its function\'s own errors reach the caller', async () => {
  const db = clients[2] as SpacekvClient;
  const rival = clients[3] as SpacekvClient;
  await db.addSpace('space counters key name attributes int n');
  await db.put('counters', 'c', { n: 0 });
  let runs = 0;
  await assert.rejects(db.transaction(async (tx) => {
    runs++;
    const c = await tx.get('counters', 'c');
    await rival.atomicAdd('counters', 'c', { n: 1 }); // someone else always writes in between
    tx.put('counters', 'c', { n: Number(c?.attributes.n) + 100 });
  }, { attemptsMax: 4, backoffMs: 1 }), (err: unknown) => err instanceof ConflictError && err.code === 'conflict');
  assert.equal(runs, 4);
  assert.equal((await db.get('counters', 'c'))?.attributes.n, 4, 'no attempt applied its write');

  await assert.rejects(db.transaction(async (tx) => {
    await tx.get('counters', 'c');
    throw new RangeError('the function decided so');
  }), RangeError);

  const result = await db.transaction(async (tx) => {
    const c = await tx.get('counters', 'c');
    tx.put('counters', 'c', { n: Number(c?.attributes.n) + 1 });
    return 'done';
  });
  assert.equal(result, 'done');
  assert.equal((await db.get('counters', 'c'))?.attributes.n, 5);
});

test('typed transactions: the same, with attribute names and types checked by the compiler', async () => {
  const db = clients[4] as SpacekvClient;
  const accounts = defineSpace('typed_accounts', { key: 'owner', attributes: { balance: t.int(), history: t.list(t.string()) } });
  const space = await db.space(accounts);
  await space.put('ann', { balance: 50 });
  await space.put('ben', { balance: 0 });
  await db.transaction(async (tx) => {
    const bank = tx.space(accounts);
    const ann = await bank.get('ann');
    const balance: number | bigint = ann?.attributes.balance ?? 0;
    bank.put('ann', { balance: Number(balance) - 20 });
    bank.mutate('ben', [{ add: { balance: 20 } }, { rpush: { history: 'from ann' } }]);
    // @ts-expect-error balance is an int, not a string
    if (false as boolean) bank.put('ann', { balance: 'lots' });
    // @ts-expect-error no attribute of that name
    if (false as boolean) bank.mutate('ben', [{ add: { savings: 1 } }]);
  });
  assert.equal((await space.get('ann'))?.attributes.balance, 30);
  assert.deepEqual((await space.get('ben'))?.attributes, { balance: 20, history: ['from ann'] });
});
