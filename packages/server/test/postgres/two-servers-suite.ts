// Proves docs/architecture.md §4 holds across two `spacekv serve` processes on one PostgreSQL schema, with 32
// clients (the WebSocket client, 16 on each server) racing at once: concurrent atomicAdd ends at the
// exact count with every intermediate value answered once; put_if_not_exist races have exactly one
// creator per key; compare-and-swap loops lose no update; every acknowledged write has its own
// store-wide seq. Meanwhile a reader of the change log (polling from this process) sees every
// change exactly once and in seq order, with no seq ever skipped and filled in later (the trap of
// sequences handing out numbers in call order). It also proves the catalog is shared: a space added
// on one server becomes usable on the other, and a space removed (or re-created) on one is refused
// `unknown_space` on the other at once, even before the other has heard of it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type SpacekvClient, connect } from '@spacekv/client';
import { type Change, DEFAULT_LIMITS } from '@spacekv/core';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const CLIENTS = 32;
const ADDS_PER_CLIENT = 40;
const RACE_KEYS = 20;
const CAS_PER_CLIENT = 8;

/** Retry `attempt` until it stops failing with unknown_space (the other server hears of a new space by notification). */
async function untilKnown<T>(attempt: () => Promise<T>): Promise<T> {
  return withTimeout((async () => {
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        if ((err as { code?: string }).code !== 'unknown_space') throw err;
        await sleep(10);
      }
    }
  })(), 10_000, 'the other server to learn of the new space');
}

/** Polls the change log until stopped, checking each page continues the last without a gap. */
function startLogReader(url: string): { stop(): Promise<Change[]> } {
  const reader = new PostgresStore(url, DEFAULT_LIMITS, { poolSize: 1 });
  let running = true;
  const seen: Change[] = [];
  const read = async (): Promise<void> => {
    await reader.open();
    let after = 0;
    for (;;) {
      const stopping = !running;
      const { changes, headSeq } = await reader.readChanges(after, 1000);
      for (const change of changes) {
        // No tx here, so one change per seq, and this store takes a seq only for a write: every
        // seq arrives, each once, in order. A seq that showed up before its predecessor had
        // committed would be a gap here, and the predecessor would be skipped for good.
        assert.equal(change.seq, after + 1, `the log continues at seq ${after + 1}, not at ${change.seq}`);
        after = change.seq;
        seen.push(change);
      }
      if (changes.length === 0) {
        assert.ok(after <= headSeq, 'the log never runs ahead of the committed seq');
        if (stopping && after === headSeq) break;
        await sleep(2);
      }
    }
  };
  // Closed whatever happens, so a failing test never leaves connections holding the process open.
  const done = read().finally(() => reader.close());
  done.catch(() => {}); // reported by stop()
  return {
    async stop() {
      running = false;
      await withTimeout(done, 20_000, 'the log reader to catch up');
      return seen;
    },
  };
}

/**
 * The suite, with every session under `isolation` when given (e.g. `serializable`) or the sessions'
 * default; the last tests report the batches retried on 40001/40P01/23505 and the meta row lock time.
 */
export async function twoServersSuite(isolation?: string): Promise<void> {
  const name = isolation ? ` (${isolation})` : '';
  const missing = await postgresMissing();
  const schema = uniqueSchema('two');
  const dataDir = makeTempDir('pg-two');
  const servers: ServerProcess[] = [];
  const clients: SpacekvClient[] = [];

  before(async () => {
    if (missing) return;
    const args = ['--port', '0', '--data', dataDir, '--store', storeUrl(schema, POSTGRES_URL, isolation), '--log-level', 'info'];
    // Both start at once: their migrations race and must both succeed.
    servers.push(...(await Promise.all([spawnServer(args), spawnServer(args)])));
    for (let i = 0; i < CLIENTS; i++) clients.push(await connect((servers[i % 2] as ServerProcess).url));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await killAllChildren();
    removeDir(dataDir);
    if (!missing) await dropSchema(schema);
  });

  test(`two servers${name}, 32 clients: exact counts, one creator per key, no lost update, the log in order`, { skip: missing }, async (t) => {
    const [a, b] = clients as [SpacekvClient, SpacekvClient];
    await a.addSpace('space counters key name attributes int n, string owner');
    await untilKnown(() => b.put('counters', 'hits', { n: 0 }));
    await b.put('counters', 'cas', { n: 0 });
    const log = startLogReader(storeUrl(schema, POSTGRES_URL, isolation));
    t.after(() => log.stop().catch(() => {}));
    const acked = new Map<number, string>(); // version → key, for every acknowledged write
    const ack = (version: number, key: string): void => {
      assert.equal(acked.get(version), undefined, `seq ${version} was given to two writes`);
      acked.set(version, key);
    };

    const adds = async (client: SpacekvClient): Promise<number[]> => {
      const values: number[] = [];
      for (let i = 0; i < ADDS_PER_CLIENT; i++) {
        const added = await client.atomicAdd('counters', 'hits', { n: 1 });
        ack(added.version, 'hits');
        values.push(added.attributes['n'] as number);
      }
      return values;
    };
    const races = async (client: SpacekvClient, index: number): Promise<string[]> => {
      const won: string[] = [];
      for (let k = 0; k < RACE_KEYS; k++) {
        const key = `race-${k}`;
        try {
          const written = await client.putIfNotExist('counters', key, { owner: `client-${index}` });
          assert.ok(written.created);
          ack(written.version, key);
          won.push(key);
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'exists', String(err));
        }
      }
      return won;
    };
    let conflicts = 0;
    const swaps = async (client: SpacekvClient): Promise<void> => {
      for (let done = 0, attempts = 0; done < CAS_PER_CLIENT; attempts++) {
        assert.ok(attempts < 10_000, 'a compare-and-swap loop makes progress');
        const current = await client.get('counters', 'cas');
        assert.ok(current);
        try {
          const written = await client.compareAndSwap('counters', 'cas', current.version, { n: (current.attributes['n'] as number) + 1 });
          ack(written.version, 'cas');
          done++;
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'cmp_fail', String(err));
          conflicts++;
        }
      }
    };

    const results = await Promise.all(clients.map(async (client, i) => {
      const [added, won] = await Promise.all([adds(client), races(client, i), swaps(client)]);
      return { added, won };
    }));

    const total = CLIENTS * ADDS_PER_CLIENT;
    const values = results.flatMap((r) => r.added).sort((x, y) => x - y);
    assert.deepEqual(values, Array.from({ length: total }, (_, i) => i + 1), 'every add saw a different state, across both servers');
    assert.equal((await a.get('counters', 'hits'))?.attributes['n'], total);
    assert.equal((await b.get('counters', 'hits'))?.attributes['n'], total);

    const creators = results.flatMap((r) => r.won).sort();
    assert.deepEqual(creators, Array.from({ length: RACE_KEYS }, (_, k) => `race-${k}`).sort(), 'exactly one creator per key');
    assert.equal((await b.get('counters', 'cas'))?.attributes['n'], CLIENTS * CAS_PER_CLIENT, 'no compare-and-swap update lost');
    t.diagnostic(`compare-and-swap conflicts retried: ${conflicts}`);

    const changes = await log.stop();
    const logged = new Map(changes.map((c) => [c.seq, c]));
    assert.equal(logged.size, changes.length, 'each seq seen once');
    for (const [version, key] of acked) assert.equal(logged.get(version)?.key, key, `the log holds the acknowledged write at seq ${version}`);
  });

  test(`a space added on one server${name} is usable on the other; removed or re-created, it is refused at once`, { skip: missing }, async () => {
    const [a, b] = clients as [SpacekvClient, SpacekvClient];
    await a.addSpace('space shared key k attributes int n');
    await untilKnown(() => b.put('shared', 'x', { n: 1 }));
    await b.put('shared', 'x', { n: 2 }); // b's engine knows the space now

    // Removed on a: b's very next write is refused by the store, whatever b's catalog still says.
    await a.rmSpace('shared');
    await assert.rejects(b.put('shared', 'x', { n: 3 }), { code: 'unknown_space' });

    // Re-created on a with another schema: nothing written against the old incarnation lands in the new one.
    await a.addSpace('space shared key k attributes string s');
    const written = await untilKnown(() => b.put('shared', 'y', { s: 'new' }));
    assert.ok(written.created);
    assert.equal(await a.get('shared', 'x'), null, 'the old incarnation\'s objects are gone');
    assert.deepEqual((await a.get('shared', 'y'))?.attributes, { s: 'new' });
  });

  test(`each server${name} counts the batches it ran again after a serialization failure in /metrics`, { skip: missing }, async (t) => {
    let total = 0;
    for (const server of servers) {
      const text = await (await fetch(new URL('/metrics', server.url))).text();
      const found = /^spacekv_store_retries_total (\d+)$/m.exec(text);
      assert.ok(found, 'spacekv_store_retries_total is exposed');
      total += Number(found[1]);
    }
    // Under READ COMMITTED only batches that lost the race to create a key run again; under
    // SERIALIZABLE (two-servers-serializable.test.ts) every batch that lost a race is one.
    t.diagnostic(`batches retried on 40001/40P01/23505 across both servers (isolation ${isolation ?? process.env['SPACEKV_TEST_PG_ISOLATION'] ?? 'default'}): ${total}`);
  });

  test(`each server${name} reports how long its batches held the meta row lock in /metrics`, { skip: missing }, async (t) => {
    for (const server of servers) {
      const text = await (await fetch(new URL('/metrics', server.url))).text();
      const held = Number(/^spacekv_store_lock_held_seconds_total (\S+)$/m.exec(text)?.[1]);
      const batches = Number(/^spacekv_store_locked_batches_total (\S+)$/m.exec(text)?.[1]);
      // Both servers committed batches in the tests above, each under the lock for some time.
      assert.ok(batches > 0, `locked batches counted (${batches})`);
      assert.ok(held > 0, `lock time counted (${held} s)`);
      t.diagnostic(`${server.url}: ${batches} batches, ${((held / batches) * 1000).toFixed(2)} ms each under the meta row lock`);
    }
  });
}
