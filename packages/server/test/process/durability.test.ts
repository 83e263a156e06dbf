// Proves "durable on reply" (docs/architecture.md §4.2) against a real server process killed with SIGKILL mid-load:
// 8 concurrent writers PUT distinct keys (value = a counter) as fast as answers come, and each also
// overwrites its own "latest" key; after about a second of load the server is SIGKILLed and restarted
// on the same --data. Every write answered 2xx is present with its acknowledged value; a write
// answered with a failure is absent; a "latest" key holds its last acknowledged value or the value of
// the one write that was in flight at the kill. Three rounds, each also re-checking every earlier
// round. Writes in flight at the kill may or may not be there: nothing is asserted about them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { rawRequest } from '../helpers/http.js';
import { type LoadResult, readBack, startLoad } from '../helpers/load.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const ROUNDS = 3;
const WRITERS = 8;
const LOAD_MS = 800;
const ACKED_BEFORE_KILL_MIN = 50;

const dataDir = makeTempDir('durability');
after(async () => {
  await killAllChildren();
  removeDir(dataDir);
});

const serve = (): Promise<ServerProcess> => spawnServer(['--port', '0', '--data', dataDir, '--log-level', 'info']);

async function waitForAcks(load: { ackedCount(): number }, min: number): Promise<void> {
  await withTimeout((async () => {
    while (load.ackedCount() < min) await sleep(20);
  })(), 20_000, `${min} acknowledged writes`);
}

test('every acknowledged write survives SIGKILL mid-load, over several crash-restart rounds', async (t) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const ackedSoFar = new Map<string, number>();
  try {
    let server = await serve();
    const created = await rawRequest(`${server.url}/v1/spaces`, { method: 'POST', agent, body: { schema: 'space durable key k attributes int n' } });
    assert.equal(created.status, 201, created.text);

    for (let round = 1; round <= ROUNDS; round++) {
      const load = startLoad(server.url, 'durable', `r${round}`, WRITERS, agent);
      await waitForAcks(load, ACKED_BEFORE_KILL_MIN);
      await sleep(LOAD_MS);
      server.signal('SIGKILL');
      const exit = await withTimeout(server.exited, 10_000, 'the killed server to exit');
      assert.equal(exit.signal, 'SIGKILL', `round ${round}: the server died of the SIGKILL (${JSON.stringify(exit)})`);
      const result: LoadResult = await withTimeout(load.stop(), 20_000, 'the writers to stop');
      assert.deepEqual(result.hung, [], 'no request hung: each got an answer or a connection error');
      t.diagnostic(`round ${round}: ${result.acked.size} acknowledged, ${result.refused.size} refused, ` +
        `${result.connectionErrors.length} cut by the kill, statuses ${JSON.stringify([...result.statuses])}`);

      agent.destroy(); // sockets to the dead process
      server = await serve();
      for (const [key, value] of result.acked) ackedSoFar.set(key, value);

      // Every acknowledged write of every round so far, with its acknowledged value.
      const keys = [...ackedSoFar.keys()];
      const back = await readBack(server.url, 'durable', keys, agent);
      assert.deepEqual(back.failures, []);
      const lost = keys.filter((key) => back.values.get(key) !== ackedSoFar.get(key));
      assert.deepEqual(lost.slice(0, 10).map((key) => `${key}: acknowledged ${ackedSoFar.get(key)}, read ${back.values.get(key)}`), [],
        `round ${round}: ${lost.length} of ${keys.length} acknowledged writes lost or changed`);

      // Writes answered with a failure were not applied.
      const refused = await readBack(server.url, 'durable', [...result.refused.keys()], agent);
      assert.deepEqual([...refused.values].filter(([, value]) => value !== undefined), [], 'a refused write is absent');

      // Each writer's latest key: its last acknowledged value, or the one write cut by the kill.
      const latest = await readBack(server.url, 'durable', result.writers.map((w) => w.latestKey), agent);
      for (const writer of result.writers) {
        const stored = latest.values.get(writer.latestKey);
        assert.ok(stored === writer.lastAcked || stored === writer.unknown,
          `${writer.latestKey}: read ${stored}, acknowledged ${writer.lastAcked}, in flight ${writer.unknown}`);
      }
    }
    await server.kill();
  } finally {
    agent.destroy();
  }
});
