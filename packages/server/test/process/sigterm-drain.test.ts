// Proves SIGTERM drains (docs/architecture.md §6): under a concurrent write load, `spacekv serve` given SIGTERM
// stops accepting, answers what it accepted, and exits 0 (within a bounded wait); no request hangs
// (each gets an answer or a connection error); after a restart on the same --data every write that
// was answered 2xx is there with its value, every write refused during the drain (503) is absent,
// and each writer's "latest" key holds its last acknowledged value (or the one write whose outcome
// the client could not learn). A client that stalls in the middle of sending a request does not
// hold the drain open: the process still exits 0 within a bounded wait (Node's own request timeout
// is 300 s). http/drain.test.ts checks the drain's answers exactly, in process.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { call, rawRequest } from '../helpers/http.js';
import { readBack, startLoad } from '../helpers/load.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

const WRITERS = 16;

const dataDir = makeTempDir('sigterm');
after(async () => {
  await killAllChildren();
  removeDir(dataDir);
});

const serve = (): Promise<ServerProcess> => spawnServer(['--port', '0', '--data', dataDir, '--log-level', 'info']);

test('SIGTERM under load: exit 0, nothing hangs, every acknowledged write is durable', async (t) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const server = await serve();
    const created = await rawRequest(`${server.url}/v1/spaces`, { method: 'POST', agent, body: { schema: 'space drained key k attributes int n' } });
    assert.equal(created.status, 201, created.text);

    const load = startLoad(server.url, 'drained', 'term', WRITERS, agent);
    await withTimeout((async () => {
      while (load.ackedCount() < 100) await sleep(20);
    })(), 20_000, '100 acknowledged writes');
    server.signal('SIGTERM');
    const exit = await withTimeout(server.exited, 15_000, 'the server to exit after SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, `clean exit:\n${server.output().slice(-2000)}`);
    const messages = server.logLines().map((line) => line.msg);
    assert.ok(messages.includes('draining') && messages.includes('closed'), `drain logged: ${messages.join(' | ')}`);

    const result = await withTimeout(load.stop(), 20_000, 'the writers to stop');
    assert.deepEqual(result.hung, [], 'no request hung: each got an answer or a connection error');
    t.diagnostic(`${result.acked.size} acknowledged, ${result.refused.size} refused, ${result.connectionErrors.length} connection errors, ` +
      `statuses ${JSON.stringify([...result.statuses])}`);
    for (const reply of result.refusals) assert.equal(reply.status, 503, `only the drain refuses writes, got ${reply.status} ${reply.text}`);

    agent.destroy();
    const restarted = await serve();
    const keys = [...result.acked.keys()];
    const back = await readBack(restarted.url, 'drained', keys, agent);
    assert.deepEqual(back.failures, []);
    const lost = keys.filter((key) => back.values.get(key) !== result.acked.get(key));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${keys.length} acknowledged writes lost`);
    const refused = await readBack(restarted.url, 'drained', [...result.refused.keys()], agent);
    assert.deepEqual([...refused.values].filter(([, value]) => value !== undefined), [], 'a refused write is absent');
    const latest = await readBack(restarted.url, 'drained', result.writers.map((w) => w.latestKey), agent);
    for (const writer of result.writers) {
      const stored = latest.values.get(writer.latestKey);
      assert.ok(stored === writer.lastAcked || stored === writer.unknown,
        `${writer.latestKey}: read ${stored}, acknowledged ${writer.lastAcked}, outcome unknown ${writer.unknown}`);
    }

    // The restarted server drains cleanly too when idle.
    restarted.signal('SIGTERM');
    assert.deepEqual(await withTimeout(restarted.exited, 15_000, 'the idle server to exit after SIGTERM'), { code: 0, signal: null });
  } finally {
    agent.destroy();
  }
});

test('a client stalled mid-request does not hold the drain open: SIGTERM still exits 0', async () => {
  const stalledDir = makeTempDir('sigterm-stalled');
  const server = await spawnServer(['--port', '0', '--data', stalledDir, '--log-level', 'info']);
  const { hostname, port } = new URL(server.url);
  const socket = net.connect(Number(port), hostname);
  try {
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // Headers and part of a body, then nothing: an in-flight request that will never complete.
    socket.write('PUT /v1/spaces/s/objects/k HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"n":');
    const healthy = await call(server.url, 'GET', '/healthz');
    assert.equal(healthy.status, 200, 'the server serves others meanwhile');
    server.signal('SIGTERM');
    const exit = await withTimeout(server.exited, 6_000, 'the server to exit after SIGTERM despite a stalled client').catch(async (err: unknown) => {
      await server.kill();
      throw err;
    });
    assert.deepEqual(exit, { code: 0, signal: null });
    await withTimeout(closed, 5_000, 'the stalled connection to be closed');
  } finally {
    socket.destroy();
    removeDir(stalledDir);
  }
});
