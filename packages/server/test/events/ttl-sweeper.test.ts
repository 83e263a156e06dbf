// Proves the TTL sweeper end to end: objects written with expire_in read as absent right after
// they expire, and the sweeper then deletes them, each deletion a logged `expire` change that a
// watcher sees, while an object rewritten without an expiry before it ran out is left alone; the
// sweeper's work shows in /healthz and /metrics.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type ChangeEvent, connect } from '@spacekv/client';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { call, json } from '../helpers/http.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { withTimeout } from '../helpers/timeout.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('expired objects read absent at once and are swept with expire events; a rewrite is spared', async () => {
  const dataDir = makeTempDir('ttl');
  cleanups.push(() => removeDir(dataDir));
  const server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', sweepIntervalMs: 50 });
  cleanups.push(() => server.close());
  const db = await connect(server.url);
  cleanups.push(() => db.close());
  await db.addSpace('space sessions key id attributes string user');
  const watch = db.watch({ space: 'sessions', ops: ['expire', 'put'] });
  const keys = Array.from({ length: 10 }, (_, i) => `s${i}`);
  await Promise.all(keys.map((key) => db.put('sessions', key, { user: key }, { expireIn: 0.3 })));
  await db.put('sessions', 's0', { user: 'kept' }, { expireIn: null }); // rewritten without an expiry
  assert.equal((await db.get('sessions', 's5'))?.attributes.user, 's5');

  const events: ChangeEvent[] = [];
  for await (const event of withTimeoutIterator(watch, 15_000)) {
    events.push(event);
    if (events.filter((e) => e.op === 'expire').length === 9) break;
  }
  // Read as absent (through REST as well as the client), and swept.
  assert.equal(await db.get('sessions', 's5'), null);
  assert.equal((await call(server.url, 'GET', '/v1/spaces/sessions/objects/s9')).status, 404);
  const expired = events.filter((e) => e.op === 'expire');
  assert.deepEqual(expired.map((e) => e.key).sort(), keys.slice(1).sort());
  for (const e of expired) assert.equal(e.attributes, null);
  assert.equal((await db.get('sessions', 's0'))?.attributes.user, 'kept');
  const health = json<{ parts: { tasks: { ttl_sweeper: { items: number } } } }>(await call(server.url, 'GET', '/healthz'));
  assert.equal(health.parts.tasks.ttl_sweeper.items, 9);
  const metrics = (await call(server.url, 'GET', '/metrics')).text;
  assert.match(metrics, /^spacekv_task_items\{task="ttl_sweeper"\} 9$/m);
  assert.match(metrics, /^spacekv_task_up\{task="ttl_sweeper"\} 1$/m);
  assert.match(metrics, /^spacekv_task_restarts\{task="log_retention"\} 0$/m);
});

/** Iterate `iterator`, failing if one step takes longer than `ms`. */
async function* withTimeoutIterator<T>(iterator: AsyncIterator<T>, ms: number): AsyncGenerator<T> {
  for (;;) {
    const next = await withTimeout(iterator.next(), ms, 'the next event');
    if (next.done) return;
    yield next.value;
  }
}
