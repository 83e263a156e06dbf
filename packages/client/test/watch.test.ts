/**
 * Proves `db.watch()` (docs/protocol.md, watch): every committed change reaches the watcher once, in
 * seq order, whichever front made it (REST or the client); several watches with their own key,
 * prefix and attribute filters share one connection; a watch resumes after the server restarts
 * (shutting_down, reconnect) from its last seq, missing nothing and repeating nothing; a consumer
 * slower than the stream is bounded (the watch unsubscribes past bufferMax and resumes from the
 * server's log) and still sees everything in order; a resume from a seq retention removed ends
 * the watch with `compacted`.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DEFAULT_CONFIG, type RunningServer, startServer } from 'spacekv';
import { type ChangeEvent, type SpacekvClient, SpacekvError, connect } from '../src/index.js';
import { closeClient, makeTempDir, removeDir, teardown, withTimeout } from './support.js';

async function take(watch: AsyncIterator<ChangeEvent>, n: number, what: string): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  while (out.length < n) {
    const next = await withTimeout(watch.next(), 15_000, `${what}: event ${out.length + 1} of ${n}`);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

async function rest(url: string, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.text()}`);
}

function assertIncreasing(events: readonly ChangeEvent[]): void {
  for (let i = 1; i < events.length; i++) assert.ok((events[i] as ChangeEvent).seq > (events[i - 1] as ChangeEvent).seq, `seqs increase at ${i}`);
}

describe('db.watch', () => {
  const cleanups: (() => unknown)[] = [];
  after(() => teardown(...cleanups.reverse()));

  async function serve(dataDir: string, port = 0, extra: Partial<typeof DEFAULT_CONFIG> = {}): Promise<RunningServer> {
    const server = await startServer({ ...DEFAULT_CONFIG, port, dataDir, logLevel: 'silent', ...extra });
    cleanups.push(() => server.close());
    return server;
  }

  it('sees every change once, in order, from either front; several filtered watches share the connection', async () => {
    const dataDir = await makeTempDir();
    cleanups.push(() => removeDir(dataDir));
    const server = await serve(dataDir);
    const db: SpacekvClient = await connect(server.url);
    cleanups.push(() => closeClient(db));
    await db.addSpace('space users key id attributes int n, string name');
    const all = db.watch({ space: 'users' });
    const prefixed = db.watch({ space: 'users', prefix: 'j' });
    const one = db.watch({ space: 'users', key: 'jj' });
    const big = db.watch({ space: 'users', filter: { n: { gte: 10 } }, ops: ['put', 'mutate'] });
    await db.put('users', 'jj', { n: 1 }); // the client
    await rest(server.url, 'PUT', '/v1/spaces/users/objects/bob', { n: 20 }); // REST
    await db.mutate('users', 'jj', [{ add: { n: 10 } }]);
    await db.tx({ ops: [{ op: 'put', space: 'users', key: 'jane', attributes: { n: 3 } }, { op: 'del', space: 'users', key: 'bob' }] });
    await rest(server.url, 'DELETE', '/v1/spaces/users/objects/jj');

    const everything = await take(all, 6, 'all');
    assert.deepEqual(everything.map((e) => [e.op, e.key, e.attributes]), [
      ['put', 'jj', { n: 1, name: '' }],
      ['put', 'bob', { n: 20, name: '' }],
      ['mutate', 'jj', { n: 11, name: '' }],
      ['put', 'jane', { n: 3, name: '' }],
      ['del', 'bob', null],
      ['del', 'jj', null],
    ]);
    assert.equal(everything[3]?.seq, everything[4]?.seq, 'a tx\'s changes share its seq');
    assert.deepEqual((await take(prefixed, 4, 'prefix')).map((e) => [e.op, e.key]), [['put', 'jj'], ['mutate', 'jj'], ['put', 'jane'], ['del', 'jj']]);
    assert.deepEqual((await take(one, 3, 'key')).map((e) => e.op), ['put', 'mutate', 'del']);
    assert.deepEqual((await take(big, 2, 'filter')).map((e) => [e.op, e.key]), [['put', 'bob'], ['mutate', 'jj']]);
    for (const w of [all, prefixed, one, big]) await w.return();
  });

  it('a watch from now is started once `started` resolves: a write from another connection after it is seen, one before it is not', async () => {
    const dataDir = await makeTempDir();
    cleanups.push(() => removeDir(dataDir));
    const server = await serve(dataDir);
    const watcher: SpacekvClient = await connect(server.url);
    const writer: SpacekvClient = await connect(server.url);
    cleanups.push(() => closeClient(watcher), () => closeClient(writer));
    await writer.addSpace('space feed key k attributes int n');
    const before = await writer.put('feed', 'before', { n: 1 });
    const watch = watcher.watch({ space: 'feed' });
    const startedAfter = await withTimeout(watch.started, 15_000, 'started');
    assert.ok(startedAfter >= before.version, `starts after the write that preceded it (${startedAfter} >= ${before.version})`);
    const first = await writer.put('feed', 'after', { n: 2 });
    const [event] = await take(watch, 1, 'after started');
    assert.deepEqual([event?.key, event?.seq], ['after', first.version], 'the first change is the one written after started, on another connection');
    await watch.return();

    const ended = watcher.watch({ space: 'feed' });
    await ended.return();
    await assert.rejects(ended.started, (e: unknown) => e instanceof SpacekvError && e.code === 'unavailable', 'a watch ended before the server started it never starts');
  });

  it('resumes after a server restart from its last seq: nothing missed, nothing repeated', async () => {
    const dataDir = await makeTempDir();
    cleanups.push(() => removeDir(dataDir));
    const first = await serve(dataDir);
    const db = await connect(first.url, { reconnectDelayMs: 20, reconnectDelayMaxMs: 200 });
    cleanups.push(() => closeClient(db));
    await db.addSpace('space s key k attributes int n');
    const watch = db.watch({ space: 's', since: 0, ops: ['put'] });
    for (let i = 0; i < 50; i++) await db.put('s', `a${i}`, { n: i });
    const before = await take(watch, 20, 'before the restart');
    await first.close();
    const second = await serve(dataDir, first.port);
    for (let i = 0; i < 50; i++) await rest(second.url, 'PUT', `/v1/spaces/s/objects/b${i}`, { n: i });
    const afterRestart = await take(watch, 80, 'after the restart');
    const events = [...before, ...afterRestart];
    assertIncreasing(events);
    assert.deepEqual(events.map((e) => e.key), [...Array.from({ length: 50 }, (_, i) => `a${i}`), ...Array.from({ length: 50 }, (_, i) => `b${i}`)]);
    await watch.return();
  });

  it('a consumer slower than the stream stays bounded and still sees every change in order', async () => {
    const dataDir = await makeTempDir();
    cleanups.push(() => removeDir(dataDir));
    const server = await serve(dataDir);
    const db = await connect(server.url);
    cleanups.push(() => closeClient(db));
    await db.addSpace('space s key k attributes int n');
    const watch = db.watch({ space: 's', bufferMax: 20 });
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) writes.push(db.put('s', `k${i}`, { n: i }));
    await Promise.all(writes);
    // Nobody read while 500 changes committed: the watch held at most bufferMax, then paused.
    const buffered = (watch as unknown as { buffer: unknown[] }).buffer.length;
    assert.ok(buffered <= 20 + 256, `the watch buffered ${buffered} events (bound: bufferMax plus one server page)`);
    const events = await take(watch, 500, 'slow consumer');
    assertIncreasing(events);
    assert.deepEqual(events.map((e) => e.key), Array.from({ length: 500 }, (_, i) => `k${i}`));
    await watch.return();
  });

  it('a resume from a seq log retention removed ends the watch with compacted', async () => {
    const dataDir = await makeTempDir();
    cleanups.push(() => removeDir(dataDir));
    const first = await serve(dataDir, 0, { logRetentionSeqs: 5, retentionIntervalMs: 10 });
    const writer = await connect(first.url);
    await writer.addSpace('space s key k attributes int n');
    for (let i = 0; i < 30; i++) await writer.put('s', `k${i}`, { n: i });
    // Wait for retention to trim the log (it keeps the newest 5 seqs of 31).
    const metrics = async (): Promise<string> => (await fetch(`${first.url}/healthz`)).text();
    for (let i = 0; i < 500 && !/"log_retention":\{[^}]*"items":26/.test(await metrics()); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(await metrics(), /"log_retention":\{[^}]*"items":26/);
    await closeClient(writer);
    // A fresh server holds nothing in memory: a resume before the log's floor must fail, not skip.
    await first.close();
    const second = await serve(dataDir);
    const db = await connect(second.url);
    cleanups.push(() => closeClient(db));
    const watch = db.watch({ space: 's', since: 1 });
    await assert.rejects(withTimeout(watch.next(), 15_000, 'compacted'), (err: unknown) => err instanceof SpacekvError && err.code === 'compacted');
    const tail = db.watch({ space: 's', since: 26 });
    assert.deepEqual((await take(tail, 5, 'after the floor')).map((e) => e.seq), [27, 28, 29, 30, 31]);
    await tail.return();
  });
});
