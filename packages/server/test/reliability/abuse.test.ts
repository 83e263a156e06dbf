// The abuse suite: one misbehaving client must never take the server down (docs/architecture.md §4.7). Each
// case runs a real server process, attacks it on loopback the way issue 13 observed, and asserts
// what a robust server does: the process survives, its RSS stays under RSS_BUDGET_BYTES, a
// well-behaved client on another connection keeps getting answers meanwhile, and the abusive
// request gets its coded error where one is due. Each case has a negative control: the same
// attack on a server whose bound is switched off (a --limit override far past the attack's size)
// must show the bad outcome (replies buffered past the bound, an idle socket kept, the log replay
// holding the loop), so the assertion above cannot pass by accident. Short sizes here; the long
// run (SPACEKV_JEPSEN=long, `npm run test:jepsen -- abuse`) uses the sizes of the issue. The
// negative controls always run at the short sizes: switched off, the long ones would exhaust the
// machine, which is what the positive cases prove cannot happen.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { SUBPROTOCOLS } from '@spacekv/core';
import { call } from '../helpers/http.js';
import { type ServerProcess, childEnv, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';
import { recordFigures } from './harness/figures.js';

const LONG = process.env.SPACEKV_JEPSEN === 'long';
const KiB = 1024;
const MiB = 1024 * KiB;

/** The sizes of each attack: short for `npm test` on a shared 2-core machine, long as in the issue. */
const SHORT_SIZES = {
  objectBytes: 256 * KiB, pipelineConnections: 2, pipelinedGets: 200, wsClients: 2, wsGetsPerFrame: 200,
  sseSubscribers: 100, ssePuts: 60, ssePutBytes: 100 * KiB, loggedChanges: 20_000, replayStreams: 10, idleSockets: 40,
} as const;
const SIZES = LONG
  ? { objectBytes: MiB, pipelineConnections: 4, pipelinedGets: 2000, wsClients: 10, wsGetsPerFrame: 2000,
    sseSubscribers: 1000, ssePuts: 680, ssePutBytes: 100 * KiB, loggedChanges: 400_000, replayStreams: 50, idleSockets: 2000 }
  : SHORT_SIZES;

/** The bounds the positive cases run with (the defaults are larger; these keep the short run cheap). */
const CONNECTION_BYTES_MAX = 2 * MiB;
const BUDGET_BYTES_MAX = 16 * MiB;
/** Past this RSS the server is considered to have grown without bound (an idle one is about 90 MB). */
const RSS_BUDGET_BYTES = (LONG ? 512 : 320) * MiB;
/** Switched off: far past anything an attack here can buffer. */
const OFF = 2 ** 40;

const dirs: string[] = [];
after(async () => {
  await killAllChildren();
  for (const dir of dirs) removeDir(dir);
  // Known weakness: on Node 20 this file's process stayed alive after every test had passed (minutes,
  // with no handle we could name). An unref'd timer ends it, keeping the runner's exit code, if
  // nothing else has by then; it never cuts a test short, since every test has ended here.
  setTimeout(() => process.exit(), 5_000).unref();
});

async function serve(limits: Readonly<Record<string, number>>, extraArgs: readonly string[] = []): Promise<ServerProcess> {
  const dir = makeTempDir('abuse');
  dirs.push(dir);
  const args = ['--port', '0', '--data', dir, '--log-level', 'info', ...extraArgs];
  for (const [name, value] of Object.entries(limits)) args.push('--limit', `${name}=${value}`);
  return spawnServer(args, childEnv());
}

/** The server process's resident set, from /proc. */
function rssBytes(server: ServerProcess): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * KiB;
}

async function metric(server: ServerProcess, name: string, labels = ''): Promise<number> {
  const text = (await call(server.url, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return Number(line?.split(' ').pop() ?? 0);
}

/** What the attack left behind, sampled while it goes on. */
interface Observed {
  bufferedMax: number;
  rssMax: number;
  /** Answers the well-behaved client got during the attack (status codes). */
  answers: number[];
}

/**
 * While `attack` is in progress, every SAMPLE_MS: sample the server's buffered reply bytes and RSS
 * and let a well-behaved client (its own connection) ask `probe`; `rounds` samples in all.
 */
async function observe(server: ServerProcess, rounds: number, probe: () => Promise<number>): Promise<Observed> {
  const seen: Observed = { bufferedMax: 0, rssMax: 0, answers: [] };
  for (let i = 0; i < rounds; i++) {
    await sleep(SAMPLE_MS);
    seen.bufferedMax = Math.max(seen.bufferedMax, await withTimeout(metric(server, 'spacekv_reply_buffer_bytes'), 10_000, '/metrics during the attack'));
    seen.rssMax = Math.max(seen.rssMax, rssBytes(server));
    seen.answers.push(await withTimeout(probe(), 10_000, 'the well-behaved client\'s answer during the attack'));
  }
  return seen;
}
const SAMPLE_MS = 250;

async function alive(server: ServerProcess): Promise<boolean> {
  return Promise.race([server.exited.then(() => false), sleep(0).then(() => true)]);
}

/** The JSON around a blob's text: `{"s":""}`. */
const BLOB_ENVELOPE_BYTES = JSON.stringify({ s: '' }).length;

/** Put an object whose attributes are `bytes` bytes of JSON: at most valueBytesMax (1 MiB), the largest the server takes. */
async function putBlob(server: ServerProcess, key: string, bytes: number): Promise<void> {
  const reply = await call(server.url, 'PUT', `/v1/spaces/blobs/objects/${key}`, { body: { s: 'x'.repeat(Math.max(0, bytes - BLOB_ENVELOPE_BYTES)) } });
  assert.ok(reply.status === 200 || reply.status === 201, reply.text);
}

async function withBlobs(server: ServerProcess, bigBytes: number = SIZES.objectBytes): Promise<void> {
  const created = await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space blobs key k attributes string s' } });
  assert.equal(created.status, 201, created.text);
  await putBlob(server, 'big', bigBytes);
  await putBlob(server, 'small', 10);
}

const smallGet = (server: ServerProcess) => async (): Promise<number> => (await call(server.url, 'GET', '/v1/spaces/blobs/objects/small')).status;

/** A TCP connection that sends `text` and never reads. */
async function neverReading(server: ServerProcess, text: string): Promise<net.Socket> {
  const { port } = new URL(server.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write(text);
  return socket;
}

/**
 * Connections opened at once: well under Node's listen backlog (511). A burst past it leaves
 * connections the kernel completed but the server never accepted (1,145 of 2,000 in one run), which
 * no server can see, let alone close.
 */
const CONNECT_BATCH = 100;

/** `count` sockets that send `text` and never read, opened CONNECT_BATCH at a time. */
async function neverReadingMany(server: ServerProcess, count: number, text: string): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += CONNECT_BATCH) {
    sockets.push(...await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, count - i) }, () => neverReading(server, text))));
  }
  return sockets;
}

function pipelinedGets(count: number): string {
  return 'GET /v1/spaces/blobs/objects/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(count);
}

function report(test: string, seen: Observed, extra: Readonly<Record<string, number>> = {}): void {
  const figures = { bufferedMaxMiB: Math.round(seen.bufferedMax / MiB), rssMaxMiB: Math.round(seen.rssMax / MiB), ...extra };
  console.log(`# abuse ${test}${LONG ? ' (long)' : ''}: ${JSON.stringify(figures)}`);
  recordFigures(`abuse-${test}`, figures);
}

function destroyAll(sockets: readonly { destroy(): void }[]): void {
  for (const socket of sockets) socket.destroy();
}

// Each test has its own bound: on Node 20 a suite-level `timeout` keeps the process alive until it
// expires, even after every test has passed.
const TEST_TIMEOUT_MS = LONG ? 600_000 : 120_000;

describe(`abuse suite (${LONG ? 'long' : 'short'})`, () => {
  async function pipelining(sizes: typeof SIZES, bound: number): Promise<Observed> {
    const server = await serve({ sendBufferBytesMax: bound, replyBufferBytesMax: bound === OFF ? OFF : BUDGET_BYTES_MAX * 8 });
    await withBlobs(server);
    const abusers = await Promise.all(Array.from({ length: sizes.pipelineConnections }, () => neverReading(server, pipelinedGets(sizes.pipelinedGets))));
    const seen = await observe(server, 6, smallGet(server));
    destroyAll(abusers);
    assert.ok(await alive(server), `the server died:\n${server.output()}`);
    await server.kill();
    return seen;
  }

  it('HTTP pipelining that never reads holds at most sendBufferBytesMax per connection', { timeout: TEST_TIMEOUT_MS }, async () => {
    const seen = await pipelining(SIZES, CONNECTION_BYTES_MAX);
    report('http-pipelining', seen);
    const most = SIZES.pipelineConnections * (CONNECTION_BYTES_MAX + SIZES.objectBytes + 64 * KiB);
    assert.ok(seen.bufferedMax <= most, `buffered ${seen.bufferedMax} bytes, past ${most}`);
    assert.ok(seen.rssMax < RSS_BUDGET_BYTES, `RSS ${seen.rssMax} past the budget ${RSS_BUDGET_BYTES}`);
    assert.deepEqual(new Set(seen.answers), new Set([200]), 'the well-behaved client was answered throughout');
  });

  it('negative control: with sendBufferBytesMax switched off, pipelined replies pile up past the bound', { timeout: TEST_TIMEOUT_MS }, async () => {
    const seen = await pipelining(SHORT_SIZES, OFF);
    const most = SHORT_SIZES.pipelineConnections * (CONNECTION_BYTES_MAX + SHORT_SIZES.objectBytes + 64 * KiB);
    assert.ok(seen.bufferedMax > most, `switched off, the server buffered only ${seen.bufferedMax} bytes (the test could not tell)`);
  });

  /** A WebSocket client that sends one frame of `gets` gets of the large object and then never reads. */
  async function wsFlood(server: ServerProcess, gets: number): Promise<WebSocket> {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, [...SUBPROTOCOLS]);
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('message', resolve)); // the hello
    (ws as unknown as { _socket: net.Socket })._socket.pause();
    ws.send(JSON.stringify(Array.from({ length: gets }, (_, id) => ({ id, op: 'get', space: 'blobs', key: 'big' }))));
    return ws;
  }

  async function wsGetsRun(server: ServerProcess): Promise<number> {
    return metric(server, 'spacekv_requests_total', '{front="ws",op="get",outcome="ok"}');
  }

  async function websocket(sizes: typeof SIZES, bound: number): Promise<{ seen: Observed; runBeforeClose: number; runAfterClose: number }> {
    const server = await serve({ sendBufferBytesMax: bound, replyBufferBytesMax: bound === OFF ? OFF : BUDGET_BYTES_MAX * 8 });
    await withBlobs(server);
    const abusers = await Promise.all(Array.from({ length: sizes.wsClients }, () => wsFlood(server, sizes.wsGetsPerFrame)));
    const seen = await observe(server, 6, smallGet(server));
    const runBeforeClose = await wsGetsRun(server);
    for (const ws of abusers) ws.terminate();
    await sleep(4 * SAMPLE_MS);
    const runAfterClose = await wsGetsRun(server);
    assert.ok(await alive(server), `the server died:\n${server.output()}`);
    await server.kill();
    return { seen, runBeforeClose, runAfterClose };
  }

  it('WebSocket frames of gets that are never read hold at most sendBufferBytesMax, and a closed client\'s queued work is dropped', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { seen, runBeforeClose, runAfterClose } = await websocket(SIZES, CONNECTION_BYTES_MAX);
    report('ws-unread', seen, { runBeforeClose, runAfterClose, sent: SIZES.wsClients * SIZES.wsGetsPerFrame });
    const most = SIZES.wsClients * (CONNECTION_BYTES_MAX + SIZES.objectBytes + 64 * KiB);
    assert.ok(seen.bufferedMax <= most, `buffered ${seen.bufferedMax} bytes, past ${most}`);
    assert.ok(seen.rssMax < RSS_BUDGET_BYTES, `RSS ${seen.rssMax} past the budget ${RSS_BUDGET_BYTES}`);
    assert.deepEqual(new Set(seen.answers), new Set([200]));
    assert.ok(runBeforeClose < (SIZES.wsClients * SIZES.wsGetsPerFrame) / 2, `${runBeforeClose} gets ran for clients that read nothing`);
    assert.equal(runAfterClose, runBeforeClose, 'no queued get ran after its client went away');
  });

  it('negative control: with sendBufferBytesMax switched off, a frame\'s replies pile up past the bound', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { seen, runBeforeClose } = await websocket(SHORT_SIZES, OFF);
    const most = SHORT_SIZES.wsClients * (CONNECTION_BYTES_MAX + SHORT_SIZES.objectBytes + 64 * KiB);
    assert.ok(seen.bufferedMax > most, `switched off, the server buffered only ${seen.bufferedMax} bytes`);
    assert.equal(runBeforeClose, SHORT_SIZES.wsClients * SHORT_SIZES.wsGetsPerFrame, 'switched off, every get of the frames ran');
  });

  async function sse(sizes: typeof SIZES, budget: number): Promise<Observed> {
    const server = await serve({ replyBufferBytesMax: budget });
    await withBlobs(server);
    const subscribers = await neverReadingMany(server, sizes.sseSubscribers, 'GET /v1/events?space=blobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await withTimeout((async () => {
      while ((JSON.parse((await call(server.url, 'GET', '/healthz')).text) as { parts: { watch: { watchers: number } } }).parts.watch.watchers < sizes.sseSubscribers) await sleep(50);
    })(), 30_000, 'every subscriber to be watching');
    const pad = 'p'.repeat(sizes.ssePutBytes);
    const writing = (async () => {
      for (let i = 0; i < sizes.ssePuts; i += 10) {
        await Promise.all(Array.from({ length: Math.min(10, sizes.ssePuts - i) }, (_, j) => call(server.url, 'PUT', `/v1/spaces/blobs/objects/e${i + j}`, { body: { s: pad } })));
      }
    })();
    const seen = await observe(server, 6, async () => (await call(server.url, 'GET', '/healthz')).status);
    await writing;
    seen.bufferedMax = Math.max(seen.bufferedMax, await metric(server, 'spacekv_reply_buffer_bytes'));
    destroyAll(subscribers);
    assert.ok(await alive(server), `the server died:\n${server.output()}`);
    await server.kill();
    return seen;
  }

  it('SSE subscribers that never read share one replyBufferBytesMax, and /healthz answers throughout', { timeout: TEST_TIMEOUT_MS }, async () => {
    const budget = 4 * MiB;
    const seen = await sse(SIZES, budget);
    report('sse-unread', seen);
    // Past the budget no stream takes more; the streams that saw room in the same turn add one page each at most.
    const most = budget + 2 * MiB;
    assert.ok(seen.bufferedMax <= most, `buffered ${seen.bufferedMax} bytes, past ${most}`);
    assert.ok(seen.rssMax < RSS_BUDGET_BYTES, `RSS ${seen.rssMax} past the budget ${RSS_BUDGET_BYTES}`);
    assert.deepEqual(new Set(seen.answers), new Set([200]));
  });

  it('negative control: with replyBufferBytesMax switched off, unread event streams hold more than the budget', { timeout: TEST_TIMEOUT_MS }, async () => {
    const seen = await sse(SHORT_SIZES, OFF);
    assert.ok(seen.bufferedMax > 6 * MiB, `switched off, the streams held only ${seen.bufferedMax} bytes`);
  });

  async function budgetCase(budget: number): Promise<{ refused: { status: number; text: string }; after: number }> {
    const server = await serve({ sendBufferBytesMax: CONNECTION_BYTES_MAX, replyBufferBytesMax: budget });
    await withBlobs(server);
    const abusers = await Promise.all(Array.from({ length: 4 }, () => neverReading(server, pipelinedGets(SHORT_SIZES.pipelinedGets))));
    await withTimeout((async () => {
      while (await metric(server, 'spacekv_reply_buffer_bytes') < 2 * MiB) await sleep(50);
    })(), 30_000, 'the abusers to fill their buffers');
    const refused = await call(server.url, 'GET', '/v1/spaces/blobs/objects/small');
    const health = await call(server.url, 'GET', '/healthz');
    assert.equal(health.status, 200, 'healthz is never refused for the budget');
    destroyAll(abusers);
    await withTimeout((async () => {
      while (await metric(server, 'spacekv_reply_buffer_bytes') > 0) await sleep(50);
    })(), 30_000, 'the closed connections to give their bytes back');
    const after = (await call(server.url, 'GET', '/v1/spaces/blobs/objects/small')).status;
    await server.kill();
    return { refused, after };
  }

  it('past replyBufferBytesMax new work answers overloaded naming the limit, and is served again once the buffers drain', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { refused, after } = await budgetCase(2 * MiB);
    assert.equal(refused.status, 503, refused.text);
    const { error } = JSON.parse(refused.text) as { error: { code: string; limit?: string } };
    assert.deepEqual([error.code, error.limit], ['overloaded', 'replyBufferBytesMax']);
    assert.equal(after, 200, 'the budget came back when the abusers went away');
  });

  it('negative control: with replyBufferBytesMax switched off, the same request is served', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { refused } = await budgetCase(OFF);
    assert.equal(refused.status, 200, refused.text);
  });

  /** Puts per WebSocket frame while the log is filled, and frames the writer leaves unanswered at most. */
  const REPLAY_FRAME_PUTS = 1000;
  const REPLAY_WRITE_WINDOW = 4;

  /** Pages per replay stream: a small page size gives many pages of cheap reads. */
  const REPLAY_PAGE_CHANGES = 64;

  /**
   * Replays `sizes.replayStreams` streams from seq 0 while /healthz is asked one request after
   * another. Figures: the most log pages the server read in one turn of its event loop (its own
   * count, so a test process that is slow to ask again does not inflate it), the most pages read
   * between two consecutive answers of /healthz (what a client saw: it includes this process's own
   * delays), and the pages read in all once the closed streams were released.
   */
  async function replay(sizes: typeof SIZES, pagesPerTurn: number): Promise<{ mostPagesInOneTurn: number; longestHoldSeen: number; pagesAtEnd: number; streamPages: number; fullPages: number }> {
    const server = await serve({ watchLogPagesPerTurnMax: pagesPerTurn, watchPageChangesMax: REPLAY_PAGE_CHANGES });
    const created = await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space log key k attributes int n' } });
    assert.equal(created.status, 201, created.text);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, [...SUBPROTOCOLS]);
    await new Promise((resolve) => ws.once('message', resolve));
    // Written as a well-behaved client writes: a few frames unanswered at a time, so the log fills
    // at the writer's pace. (All 400 frames of the long run sent at once were not all answered
    // within 300 s on a loaded machine; windowed, the same 400,000 puts take about 30 s.)
    let sent = 0;
    let answered = 0;
    let refused = 0;
    const sendMore = (): void => {
      while (sent < sizes.loggedChanges && sent - answered < REPLAY_WRITE_WINDOW * REPLAY_FRAME_PUTS) {
        const count = Math.min(REPLAY_FRAME_PUTS, sizes.loggedChanges - sent);
        const first = sent;
        ws.send(JSON.stringify(Array.from({ length: count }, (_, j) => ({ id: first + j, op: 'put', space: 'log', key: `k${first + j}`, attributes: { n: first + j } }))));
        sent += count;
      }
    };
    const written = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as unknown;
        const answers = (Array.isArray(frame) ? frame : [frame]) as { ok?: boolean }[];
        answered += answers.length;
        refused += answers.filter((answer) => answer.ok !== true).length;
        if (answered >= sizes.loggedChanges) resolve();
        else sendMore();
      });
    });
    sendMore();
    await withTimeout(written, TEST_TIMEOUT_MS / 2, 'the log to be written');
    assert.equal(refused, 0, 'every put of the log was written');
    ws.close();
    type WatchHealth = { fallbackPages: number; mostLogPagesInOneTurn: number; watchers: number };
    const watch = async (): Promise<WatchHealth> =>
      (JSON.parse((await call(server.url, 'GET', '/healthz')).text) as { parts: { watch: WatchHealth } }).parts.watch;
    const before = (await watch()).fallbackPages;
    const streamPages = Math.ceil(sizes.loggedChanges / REPLAY_PAGE_CHANGES);
    const fullPages = streamPages * sizes.replayStreams;
    // Streams from seq 0 whose filter matches nothing: nothing is sent, so nothing pauses them.
    const streams = await Promise.all(Array.from({ length: sizes.replayStreams }, () =>
      neverReading(server, 'GET /v1/events?space=log&key=nothing&since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')));
    let longestHoldSeen = 0;
    let last = before;
    for (let asked = 0; asked < 200; asked++) {
      const now = (await watch()).fallbackPages;
      longestHoldSeen = Math.max(longestHoldSeen, now - last);
      last = now;
      if (now - before >= fullPages / 4) break;
    }
    destroyAll(streams); // work for a stream that went away must stop
    await withTimeout((async () => {
      while ((await watch()).watchers > 0) await sleep(20);
    })(), 120_000, 'the closed streams to be released');
    await sleep(200);
    const end = await watch();
    const pagesAtEnd = end.fallbackPages - before;
    assert.ok(await alive(server), `the server died:\n${server.output()}`);
    await server.kill();
    return { mostPagesInOneTurn: end.mostLogPagesInOneTurn, longestHoldSeen, pagesAtEnd, streamPages, fullPages };
  }

  it('replaying a long log from seq 0 leaves the server responsive, and stops for streams that closed', { timeout: TEST_TIMEOUT_MS }, async () => {
    const figures = await replay(SIZES, 1);
    console.log(`# abuse log-replay${LONG ? ' (long)' : ''}: ${JSON.stringify(figures)}`);
    recordFigures('abuse-log-replay', figures);
    assert.ok(figures.mostPagesInOneTurn < figures.streamPages / 2, `one turn of the loop read ${figures.mostPagesInOneTurn} log pages`);
    assert.ok(figures.pagesAtEnd < figures.fullPages, `the closed streams read all ${figures.fullPages} pages`);
  });

  it('negative control: with watchLogPagesPerTurnMax switched off, a replay holds the loop until it ends', { timeout: TEST_TIMEOUT_MS }, async () => {
    const figures = await replay(SHORT_SIZES, OFF);
    assert.ok(figures.mostPagesInOneTurn >= figures.streamPages, `switched off, the longest turn read only ${figures.mostPagesInOneTurn} pages`);
  });

  const SHORT_IDLE_MS = 1500;
  // Long enough that the first idle sockets are still open when the last of the flood connects (the
  // cap must be full for the extra connection to be refused): the long flood takes seconds to open.
  const IDLE_MS = LONG ? 10_000 : SHORT_IDLE_MS;

  /**
   * Fill the connection cap with sockets that send nothing, while a keep-alive client connected
   * before them asks /healthz every few hundred ms; then one connection more. `wait`: whether to
   * wait for the server to close the idle sockets (or just wait 3 x `idleMs` and count). The wait stays
   * well under requestHeadersMs (30 s), which also ends a connection that never sends a request.
   */
  async function idleFlood(sizes: typeof SIZES, idleMs: number, limits: Readonly<Record<string, number>>, wait: boolean): Promise<{ refusal: string; closedByServer: number; answers: number[] }> {
    const server = await serve(limits);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ask = (): Promise<number> => new Promise((resolve, reject) => {
      http.get(`${server.url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
    const answers = [await ask()];
    let asking = true;
    const asker = (async () => {
      while (asking) {
        answers.push(await ask());
        await sleep(200);
      }
    })();
    const idle = await neverReadingMany(server, sizes.idleSockets - 1, '');
    let closedByServer = 0;
    for (const socket of idle) socket.once('end', () => closedByServer++).resume();
    const extra = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    let refusal = '';
    extra.on('data', (chunk) => (refusal += String(chunk))).on('error', () => {});
    await Promise.race([new Promise((resolve) => extra.once('end', resolve)), sleep(idleMs / 2)]);
    extra.destroy();
    if (wait) {
      await withTimeout((async () => {
        while (closedByServer < idle.length) await sleep(100);
      })(), idleMs * 20, 'the server to close the idle sockets');
    } else {
      await sleep(idleMs * 3);
    }
    asking = false;
    await asker;
    agent.destroy();
    destroyAll(idle);
    assert.ok(await alive(server), `the server died:\n${server.output()}`);
    await server.kill();
    return { refusal, closedByServer, answers };
  }

  it('past connectionsMax a new connection is refused 503 overloaded; idle connections are closed after connectionIdleMs', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { refusal, closedByServer, answers } = await idleFlood(SIZES, IDLE_MS, { connectionsMax: SIZES.idleSockets, connectionIdleMs: IDLE_MS }, true);
    assert.match(refusal, /^HTTP\/1\.1 503 /, refusal);
    assert.match(refusal, /"code":"overloaded".*"limit":"connectionsMax"/);
    assert.deepEqual(new Set(answers), new Set([200]), 'the client connected before the flood was answered throughout');
    assert.equal(closedByServer, SIZES.idleSockets - 1, 'every idle socket was closed by the server');
  });

  it('negative control: with connectionsMax and connectionIdleMs switched off, the extra connection is taken and idle ones stay', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { refusal, closedByServer } = await idleFlood(SHORT_SIZES, SHORT_IDLE_MS, { connectionsMax: 1_000_000, connectionIdleMs: 1_000_000_000 }, false);
    assert.equal(refusal, '', 'nothing refused the extra connection');
    assert.equal(closedByServer, 0);
  });

  /** A request that never ends: `head` sent at once, then `drip` now and then, so the socket is never idle. */
  async function slowRequest(limits: Readonly<Record<string, number>>, head: string, drip: string): Promise<string> {
    const server = await serve(limits);
    await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space slow key k attributes string s' } });
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += String(chunk))).on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(head);
    const dripping = setInterval(() => socket.write(drip), 200);
    await Promise.race([new Promise((resolve) => socket.once('close', resolve)), sleep(5000)]);
    clearInterval(dripping);
    socket.destroy();
    assert.equal((await call(server.url, 'GET', '/healthz')).status, 200, 'others are served');
    await server.kill();
    return answer;
  }

  const SLOW_HEADERS = ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: y\r\n'] as const;
  const SLOW_BODY = ['PUT /v1/spaces/slow/objects/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"s":"', 'y'] as const;

  it('a client that never finishes its headers is closed after requestHeadersMs with request_timeout', { timeout: TEST_TIMEOUT_MS }, async () => {
    const answer = await slowRequest({ requestHeadersMs: 1000 }, ...SLOW_HEADERS);
    assert.match(answer, /^HTTP\/1\.1 408 /, answer);
    assert.match(answer, /"code":"request_timeout"/);
  });

  it('a client that never finishes its body is closed after requestReceiveMs with request_timeout', { timeout: TEST_TIMEOUT_MS }, async () => {
    const answer = await slowRequest({ requestReceiveMs: 1500, requestHeadersMs: 1000 }, ...SLOW_BODY);
    assert.match(answer, /^HTTP\/1\.1 408 /, answer);
    assert.match(answer, /"code":"request_timeout"/);
  });

  it('negative control: with requestHeadersMs and requestReceiveMs switched off, the dripping clients are never cut off', { timeout: TEST_TIMEOUT_MS }, async () => {
    const off = { requestHeadersMs: 1_000_000_000, requestReceiveMs: 1_000_000_000 };
    assert.equal(await slowRequest(off, ...SLOW_HEADERS), '');
    assert.equal(await slowRequest(off, ...SLOW_BODY), '');
  });

  async function oversizedFrame(requestBytesMax: number): Promise<{ code: number; replied: boolean }> {
    const server = await serve({ requestBytesMax });
    // The big object is not what this case sends; it must fit the small requestBytesMax's PUT.
    await withBlobs(server, SHORT_SIZES.objectBytes);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, [...SUBPROTOCOLS]);
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('message', resolve));
    let replied = false;
    ws.on('message', () => (replied = true));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ id: 1, op: 'put', space: 'blobs', key: 'huge', attributes: { s: 'x'.repeat(8 * MiB) } }));
    const code = await Promise.race([closed, (async () => {
      await withTimeout((async () => {
        while (!replied) await sleep(20);
      })(), 30_000, 'an answer or a close');
      return 0;
    })()]);
    ws.terminate();
    assert.equal(await smallGet(server)(), 200, 'others are served');
    assert.ok(await alive(server));
    await server.kill();
    return { code, replied };
  }

  it('a WebSocket frame past requestBytesMax closes with 1009, not a bare TCP close', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { code } = await oversizedFrame(512 * KiB);
    assert.equal(code, 1009);
  });

  it('negative control: with requestBytesMax above the frame, the frame is read and answered', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { code, replied } = await oversizedFrame(16 * MiB);
    assert.deepEqual([code, replied], [0, true]);
  });

  /** A peer that reads nothing (so answers no ping) for a while: how its connection ended, or 0 if it is still open. */
  async function silentPeer(heartbeatMs: number): Promise<{ code: number; liveOpen: boolean }> {
    const server = await serve({}, ['--heartbeat-interval-ms', String(heartbeatMs)]);
    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, [...SUBPROTOCOLS]);
      ws.on('error', () => {});
      await new Promise((resolve) => ws.once('message', resolve));
      return ws;
    };
    const dead = await open();
    const live = await open();
    const socket = (dead as unknown as { _socket: net.Socket })._socket;
    socket.pause(); // reads no ping, so answers none
    await sleep(1000);
    const closed = new Promise<number>((resolve) => dead.once('close', (code) => resolve(code)));
    socket.resume();
    const code = await Promise.race([closed, sleep(1000).then(() => 0)]);
    const liveOpen = live.readyState === WebSocket.OPEN;
    dead.terminate();
    live.terminate();
    await server.kill();
    return { code, liveOpen };
  }

  it('a WebSocket peer that stops answering pings is disconnected; one that answers stays', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.deepEqual(await silentPeer(200), { code: 1006, liveOpen: true }, 'terminated by the server (no close frame), the other kept');
  });

  it('negative control: with a heartbeat slower than the silence, the silent peer stays connected', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.deepEqual(await silentPeer(600_000), { code: 0, liveOpen: true });
  });
});
