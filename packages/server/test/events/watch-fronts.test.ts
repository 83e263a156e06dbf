// Proves watch over the fronts: GET /v1/events streams every change of the watched space in seq
// order, gives a tx's changes one id on its last event, resumes after Last-Event-ID with nothing
// missed or repeated, and refuses bad watches with catalogue codes; on the WebSocket protocol a
// subscriber that stops reading is paused (its memory bounded by the send buffer, not the stream)
// and, once it reads again, catches up from the log with every change in order, while a second
// subscription on the same connection and other connections are unaffected; a drain ends open
// event streams with shutting_down.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { SUBPROTOCOLS, makeLimits } from '@spacekv/core';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { call, expectError } from '../helpers/http.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { withTimeout } from '../helpers/timeout.js';

/** Changes the slow subscriber misses while it does not read. */
const TOTAL = 1_000;

interface SseEvent {
  readonly id?: number;
  readonly event: string;
  readonly data: { readonly seq: number; readonly key: string; readonly op: string };
}

/** Read SSE events from GET /v1/events until `count` have arrived; then close the stream. */
async function readEvents(url: string, query: string, count: number, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/events?${query}`, { headers, signal: controller.signal });
  assert.equal(response.status, 200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let text = '';
  while (events.length < count) {
    const { value, done } = await withTimeout(reader.read(), 10_000, `SSE event ${events.length + 1} of ${count}`);
    if (done) break;
    text += decoder.decode(value, { stream: true });
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const fields = new Map(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      if (!fields.has('data')) continue;
      events.push({ event: fields.get('event') ?? 'message', data: JSON.parse(fields.get('data') as string), ...(fields.has('id') ? { id: Number(fields.get('id')) } : {}) });
    }
  }
  controller.abort();
  return events;
}

describe('watch over SSE and the WebSocket protocol', () => {
  let server: RunningServer;
  let dataDir = '';

  before(async () => {
    dataDir = makeTempDir('watch-fronts');
    const limits = makeLimits({ sendBufferBytesMax: 16 * 1024, recentChangesMax: 32, watchPageChangesMax: 16 });
    server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', limits });
    await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space s key k attributes int n, string pad' } });
  });

  after(async () => {
    await server?.close();
    removeDir(dataDir);
  });

  it('a key or prefix watch also gets its space\'s add_space and rm_space, with key "" and attributes null (docs/events.md)', async () => {
    await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space admin_events key k attributes int n' } });
    const events = readEvents(server.url, 'space=admin_events&prefix=x&since=0', 5);
    await call(server.url, 'PUT', '/v1/spaces/admin_events/objects/x1', { body: { n: 1 } });
    await call(server.url, 'PUT', '/v1/spaces/admin_events/objects/y1', { body: { n: 1 } }); // not watched
    await call(server.url, 'DELETE', '/v1/spaces/admin_events');
    await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space admin_events key k attributes int n' } });
    await call(server.url, 'PUT', '/v1/spaces/admin_events/objects/x2', { body: { n: 2 } });
    const seen = (await events).map((e) => e.data as unknown as { op: string; key: string; attributes: unknown });
    assert.deepEqual(seen.map((e) => [e.op, e.key]), [['add_space', ''], ['put', 'x1'], ['rm_space', ''], ['add_space', ''], ['put', 'x2']]);
    for (const e of seen.filter((e) => e.key === '')) assert.equal(e.attributes, null, `${e.op} carries no attributes`);
  });

  it('streams in seq order, one id per seq, and resumes after Last-Event-ID with nothing missed or repeated', async () => {
    const first = readEvents(server.url, 'space=s&prefix=a', 4);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the stream is open before the writes
    await call(server.url, 'PUT', '/v1/spaces/s/objects/a1', { body: { n: 1 } });
    await call(server.url, 'PUT', '/v1/spaces/s/objects/b1', { body: { n: 1 } }); // not watched
    await call(server.url, 'POST', '/v1/tx', { body: { ops: [{ op: 'put', space: 's', key: 'a2', attributes: { n: 2 } }, { op: 'del', space: 's', key: 'a1' }] } });
    await call(server.url, 'PUT', '/v1/spaces/s/objects/a3', { body: { n: 3 } });
    const events = await first;
    assert.deepEqual(events.map((e) => [e.data.op, e.data.key]), [['put', 'a1'], ['put', 'a2'], ['del', 'a1'], ['put', 'a3']]);
    assert.equal(events[1]?.id, undefined, 'the first change of a tx carries no id');
    assert.equal(events[2]?.id, events[2]?.data.seq, 'the last change of a tx carries its seq');
    for (const e of events) assert.equal(e.event, 'change');
    // Written while nobody watched: a resume after the tx gets exactly what followed it.
    await call(server.url, 'PUT', '/v1/spaces/s/objects/a4', { body: { n: 4 } });
    const resumed = await readEvents(server.url, 'space=s&prefix=a', 2, { 'last-event-id': String(events[2]?.id) });
    assert.deepEqual(resumed.map((e) => e.data.key), ['a3', 'a4']);
  });

  it('refuses bad watches with catalogue codes', async () => {
    expectError(await call(server.url, 'GET', '/v1/events?space=nope'), 404, 'unknown_space');
    expectError(await call(server.url, 'GET', '/v1/events?key=a'), 400, 'bad_request');
    expectError(await call(server.url, 'GET', '/v1/events?since=999999'), 400, 'bad_request');
    expectError(await call(server.url, 'GET', '/v1/events?space=s&if=%7B%22n%22%3A%7B%22zz%22%3A1%7D%7D'), 400, 'invalid_predicate');
    expectError(await call(server.url, 'GET', '/v1/events?ops=frobnicate'), 400, 'bad_request');
  });

  it('a WebSocket subscriber that stops reading is paused, then catches up from the log in order', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, [...SUBPROTOCOLS]);
    const frames: { type?: string; watch?: number; id?: number; changes?: { seq: number; key: string }[] }[] = [];
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as unknown;
      for (const item of Array.isArray(frame) ? frame : [frame]) frames.push(item as (typeof frames)[number]);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify([{ id: 1, op: 'watch', space: 's', prefix: 'slow' }, { id: 2, op: 'watch', space: 's', key: 'other' }]));
    await until(() => frames.filter((f) => f.id !== undefined).length === 2);
    const slowWatch = frames.find((f) => f.id === 1) as { watch: number };
    // Stop reading: the kernel's socket buffers and then the server's send buffer (16 KiB here)
    // fill while 1,000 changes of 16 KiB commit.
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const pad = 'x'.repeat(16 * 1024);
    for (let i = 0; i < TOTAL; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => call(server.url, 'PUT', `/v1/spaces/s/objects/slow${String(i + j).padStart(4, '0')}`, { body: { n: i + j, pad } })));
    }
    await call(server.url, 'PUT', '/v1/spaces/s/objects/other', { body: { n: 1 } });
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await until(() => frames.some((f) => f.watch !== undefined && f.type === 'changes' && f.watch !== slowWatch.watch));
    await until(() => frames.filter((f) => f.watch === slowWatch.watch).flatMap((f) => f.changes ?? []).length === TOTAL);
    const seen = frames.filter((f) => f.watch === slowWatch.watch).flatMap((f) => f.changes ?? []);
    assert.deepEqual(seen.map((c) => c.key), Array.from({ length: TOTAL }, (_, i) => `slow${String(i).padStart(4, '0')}`));
    for (let i = 1; i < seen.length; i++) assert.ok((seen[i]?.seq ?? 0) > (seen[i - 1]?.seq ?? 0));
    // It fell behind the 32 changes kept in memory, so it caught up by reading the log.
    const health = JSON.parse((await call(server.url, 'GET', '/healthz')).text) as { parts: { watch: { fallbackPages: number } } };
    assert.ok(health.parts.watch.fallbackPages > 0, 'the slow subscriber read the log');
    ws.close();
  });

  it('a drain ends open event streams with a shutting_down error event instead of waiting on them', async () => {
    const response = await fetch(`${server.url}/v1/events?space=s`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const closing = server.close();
    let text = '';
    for (;;) {
      const { value, done } = await withTimeout(reader.read(), 10_000, 'the stream to end');
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await withTimeout(closing, 10_000, 'the drain');
    assert.match(text, /event: error\ndata: \{"code":"shutting_down"/);
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), 'timed out');
}
