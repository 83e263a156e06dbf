// Proves client failover (docs/operations.md, client README): two `spacekv serve` processes on one
// PostgreSQL schema; 8 clients connected with both URLs write while one server is killed with
// SIGKILL. Every client carries on against the other server; every acknowledged write is there at
// its version; the only failures are `outcome_unknown`, at most one per client (the write it had in
// flight at the kill), never a silent retry; and a watch opened through the failover client resumes
// on the other server from its last seq and sees every acknowledged write. And that the first
// connection of a client given a list goes to the first server that answers.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type SpacekvClient, connect } from '@spacekv/client';
import { dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { killAllChildren, spawnServer } from '../helpers/process.js';
import { startTestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';
import { untilKnown } from '../helpers/spaces.js';

const WRITERS = 8;
/** Writes each client acknowledges before the kill, and after it. */
const WRITES_AROUND = 25;
const WRITES_MAX = 2_000;

after(killAllChildren);

test('clients connected to two servers carry on when one is killed: acknowledged writes kept, only outcome_unknown in flight', async (t) => {
  const missing = await postgresMissing();
  if (missing) return t.skip(missing);
  const schema = uniqueSchema('failover');
  const dataDir = makeTempDir('failover');
  const clients: SpacekvClient[] = [];
  try {
    const args = ['--port', '0', '--data', dataDir, '--store', storeUrl(schema), '--log-level', 'info'];
    const [doomed, survivor] = await Promise.all([spawnServer(args), spawnServer(args)]);
    const urls = [doomed.url, survivor.url];
    const admin = await connect(survivor.url);
    clients.push(admin);
    await admin.addSpace('space counters key id attributes int n');
    await untilKnown(doomed.url, 'counters');
    const watcherClient = await connect(urls, { connectTimeoutMs: 20_000 });
    clients.push(watcherClient);
    const seen = new Set<number>();
    const watch = watcherClient.watch({ space: 'counters', since: 0 });
    const watching = (async () => {
      for await (const change of watch) seen.add(change.seq);
    })();

    const acked: { key: string; version: number; n: number }[] = [];
    const failures: string[] = [];
    let killed = false;
    let ready = 0;
    let allReady: () => void = () => {};
    const beforeKill = new Promise<void>((resolve) => (allReady = resolve));
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const client = await connect(urls, { connectTimeoutMs: 20_000 });
      clients.push(client);
      let after = 0;
      for (let n = 0; n < WRITES_MAX && (!killed || after < WRITES_AROUND); n++) {
        const key = `w${w}-${n}`;
        try {
          const { version } = await client.put('counters', key, { n });
          acked.push({ key, version, n });
          if (killed) after++;
        } catch (err) {
          failures.push(`${key}: ${(err as { code?: string }).code ?? (err as Error).message}`);
        }
        if (n + 1 === WRITES_AROUND && ++ready === WRITERS) allReady();
      }
      return after;
    });
    await withTimeout(beforeKill, 60_000, 'every writer to get going');
    await doomed.kill();
    killed = true;
    const afterKill = await withTimeout(Promise.all(writers), 120_000, 'the writers to carry on');

    assert.ok(afterKill.every((n) => n >= WRITES_AROUND), `every client carried on against the survivor: ${afterKill.join(', ')}`);
    assert.ok(failures.every((f) => f.endsWith(': outcome_unknown')), `only outcome_unknown: ${failures.join('; ')}`);
    assert.ok(failures.length <= WRITERS, `at most the one write in flight per client: ${failures.length}`);
    const reader = await connect(survivor.url);
    clients.push(reader);
    for (const { key, version, n } of acked) {
      const found = await reader.get('counters', key);
      assert.deepEqual(found && { version: found.version, n: found.attributes.n }, { version, n }, key);
    }
    const last = Math.max(...acked.map((a) => a.version));
    await withTimeout((async () => {
      while (!seen.has(last)) await sleep(20);
    })(), 30_000, 'the watch to catch up on the survivor');
    const missed = acked.filter((a) => !seen.has(a.version));
    assert.deepEqual(missed, [], 'the watch resumed on the survivor without a gap');
    watch.return?.();
    await watching.catch(() => undefined);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await killAllChildren();
    removeDir(dataDir);
    await dropSchema(schema);
  }
});

test('connecting with a list tries each server in turn; when none answers it fails unavailable naming them all', async () => {
  const server = await startTestServer('failover-open', { inMemory: true });
  const dead = 'http://127.0.0.1:1'; // nothing listens on port 1
  try {
    const client = await connect([dead, server.url], { connectTimeoutMs: 10_000 });
    assert.equal((await client.listSpaces()).length, 0, 'connected to the server that answers');
    await client.close();
    await assert.rejects(connect([dead, 'http://127.0.0.1:2'], { connectTimeoutMs: 10_000 }), (err: { code?: string; message?: string }) =>
      err.code === 'unavailable' && /any of ws:\/\/127\.0\.0\.1:1\/v1\/ws, ws:\/\/127\.0\.0\.1:2\/v1\/ws/.test(err.message ?? ''));
  } finally {
    await server.stop();
  }
});
