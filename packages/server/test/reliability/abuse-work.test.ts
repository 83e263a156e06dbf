// The abuse suite, bounded work per request (issue 13, items 2, 5, 9 and the writer that heals): each
// attack runs against an in-process server while a well-behaved client on its own WebSocket
// connection keeps asking, and asserts what a robust server does: the abusive request gets its
// coded error, the bystander keeps getting answers, the server is still up and its data intact.
// Each has a negative control: the same check, against a server with that bound switched off (a
// limits override, or the writer left dead), must fail, in a cheap form of the blow-up.
// Short in `npm test`; `npm run test:jepsen` (SPACEKV_JEPSEN=long) runs the issue's own sizes.
import { after, test } from 'node:test';
import { createServer } from 'node:http';
import { type AddressInfo, createConnection } from 'node:net';
import assert from 'node:assert/strict';
import { type Limits, makeLimits } from '@spacekv/core';
import { type SpacekvClient, SpacekvError, connect } from '@spacekv/client';
import { call, expectError, expectOk, json, objectPath } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/timeout.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { LONG_RUN, scaled } from './harness/seed.js';

/** The well-behaved client: reads its own key over its own connection until stopped. */
class Bystander {
  answers = 0;
  private running = true;
  private failure: unknown;
  private readonly done: Promise<void>;
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  constructor(private readonly client: SpacekvClient) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.running) {
        const object = await this.client.get('calm', 'me');
        assert.equal(object?.attributes.n, 1, 'the bystander reads its own object intact');
        this.answers++;
        for (const waiter of [...this.waiters]) if (this.answers >= waiter.count) waiter.resolve();
      }
    } catch (err) {
      if (this.running) this.failure = err; // after a failed test the client is closed under it
    }
  }

  /** Resolves once `more` further answers came; a server that stopped answering fails the test. */
  answersMore(more: number): Promise<void> {
    const count = this.answers + more;
    return withTimeout(new Promise<void>((resolve) => this.waiters.push({ count, resolve })), 30_000, `${more} more bystander answers`);
  }

  /** Stop; throws what the bystander met, if it met anything but answers. */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    if (this.failure) throw this.failure;
  }
}

const servers: TestServer[] = [];
const clients: SpacekvClient[] = [];
after(async () => {
  for (const client of clients) await client.close();
  for (const server of servers) await server.stop();
});

interface Setup {
  readonly server: TestServer;
  readonly store: SqliteStore;
  readonly bystander: Bystander;
}

async function setUp(name: string, limits: Limits): Promise<Setup> {
  let store: SqliteStore | undefined;
  const server = await startTestServer(name, { limits, wrapStore: (real) => (store = real as SqliteStore) });
  servers.push(server);
  expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space calm key k attributes int n' } }), 201);
  expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space big key k attributes string s, map(string, int) m' } }), 201);
  expectOk(await call(server.url, 'PUT', objectPath('calm', 'me'), { body: { n: 1 } }), 201);
  const client = await connect(server.url);
  clients.push(client);
  return { server, store: store as SqliteStore, bystander: new Bystander(client) };
}

/** Put one object of about `bytes` bytes in `big`. */
async function putBig(url: string, key: string, bytes: number): Promise<void> {
  expectOk(await call(url, 'PUT', objectPath('big', key), { body: { s: 'x'.repeat(bytes) } }));
}

// ---------------------------------------------------------------------------------------------
// Item 2: a tx of many reads of a large object

interface TxAbuse {
  readonly objectBytes: number;
  readonly gets: number;
}

/** The attack and its checks; throws (an assertion) when the server does not bound the tx's reply. */
async function txOfManyReads({ server, bystander }: Setup, { objectBytes, gets }: TxAbuse): Promise<void> {
  await putBig(server.url, 'huge', objectBytes);
  const ops = Array.from({ length: gets }, () => ({ op: 'get', space: 'big', key: 'huge' }));
  const reply = await call(server.url, 'POST', '/v1/tx', { body: { ops } });
  const error = expectError(reply, 413, 'too_large');
  assert.equal(error.limit, 'txReplyBytesMax');
  await bystander.answersMore(20);
  // The writer survived: writes still commit.
  expectOk(await call(server.url, 'PUT', objectPath('calm', 'after'), { body: { n: 2 } }), 201);
  expectOk(await call(server.url, 'GET', '/healthz'), 200);
}

test('a tx of many reads of a large object is refused too_large (txReplyBytesMax) and the writer lives on', async () => {
  // Short: 200 reads of a 1 MB object (the bound stops it after 16); long: the 10,000.
  const setup = await setUp('abuse-tx', makeLimits());
  await txOfManyReads(setup, { objectBytes: 1024 * 1024 - 100, gets: scaled(200, 10_000) });
  await setup.bystander.stop();
});

test('negative control: with txReplyBytesMax switched off, the same tx answers a reply past the bound', async () => {
  // Cheap form of the blow-up: 100 reads of 16 KB answer 1.6 MB where the bound was 256 KB.
  const bounded = await setUp('abuse-tx-on', makeLimits({ txReplyBytesMax: 256 * 1024 }));
  await txOfManyReads(bounded, { objectBytes: 16 * 1024, gets: 100 });
  await bounded.bystander.stop();
  const unbounded = await setUp('abuse-tx-off', makeLimits({ txReplyBytesMax: 2 ** 40 }));
  await assert.rejects(txOfManyReads(unbounded, { objectBytes: 16 * 1024, gets: 100 }), /HTTP 200/);
  await unbounded.bystander.stop();
});

/**
 * `count` txs, each of `reads` gets of one object of `objectBytes`, pipelined on one client
 * connection, so those sent while a batch is in flight share the next batch. Each tx's outcome:
 * `ok`, or its error's code and limit.
 */
async function pipelinedReadTxs({ server }: Setup, objectBytes: number, reads: number, count: number): Promise<string[]> {
  await putBig(server.url, 'mid', objectBytes);
  const ops = Array.from({ length: reads }, () => ({ op: 'get', space: 'big', key: 'mid' }));
  const client = await connect(server.url);
  clients.push(client);
  const outcomes = await Promise.allSettled(Array.from({ length: count }, () => client.tx({ ops })));
  return outcomes.map((o) => {
    if (o.status === 'fulfilled') return 'ok';
    const error = o.reason as SpacekvError;
    return `${error.code} ${error.details.limit}`;
  });
}

test('past batchReplyBytesMax a tx answers overloaded, and succeeds alone in a later batch', async () => {
  const setup = await setUp('abuse-batch', makeLimits({ txReplyBytesMax: 200 * 1024, batchReplyBytesMax: 300 * 1024 }));
  // Each tx answers 128 KB; a batch holds two of them at most: the others are overloaded.
  const outcomes = await pipelinedReadTxs(setup, 64 * 1024, 2, 12);
  const refused = outcomes.filter((outcome) => outcome !== 'ok');
  for (const outcome of refused) assert.equal(outcome, 'overloaded batchReplyBytesMax');
  assert.ok(refused.length > 0 && refused.length < 12, `some tx, not all, met a full batch: ${refused.length} of 12`);
  const ops = Array.from({ length: 2 }, () => ({ op: 'get', space: 'big', key: 'mid' }));
  expectOk(await call(setup.server.url, 'POST', '/v1/tx', { body: { ops } }), 200);
  await setup.bystander.stop();
});

test('txs refused too_large give their reply bytes back: every one in a batch answers too_large, none overloaded', async () => {
  // Each tx reads 10 objects of 16 KB (160 KB) where txReplyBytesMax is 64 KB: refused after 4 reads.
  // Those 4 reads (64 KB) used to stay charged to the batch, so with batchReplyBytesMax at 150 KB the
  // third such tx of a batch answered overloaded: a retry that can never succeed.
  const setup = await setUp('abuse-batch-refund', makeLimits({ txReplyBytesMax: 64 * 1024, batchReplyBytesMax: 150 * 1024 }));
  const outcomes = await pipelinedReadTxs(setup, 16 * 1024, 10, 24);
  assert.deepEqual(new Set(outcomes), new Set(['too_large txReplyBytesMax']));
  expectOk(await call(setup.server.url, 'PUT', objectPath('calm', 'after'), { body: { n: 2 } }), 201);
  await setup.bystander.stop();
});

// ---------------------------------------------------------------------------------------------
// The writer that heals

/**
 * Kill the writer thread with writes in flight; then, until writes commit again, every /healthz
 * that says ok is followed by a write that commits (health never reports ok while writes cannot
 * succeed), and reads keep answering. Throws when writes never recover within `recoverMs`.
 */
async function killTheWriter({ server, store, bystander }: Setup, heal: boolean, recoverMs: number): Promise<void> {
  const inFlight = Array.from({ length: 20 }, (_, i) => call(server.url, 'PUT', objectPath('calm', `w${i}`), { body: { n: i } }));
  await store.killWriterForTest(heal);
  const health = await store.health();
  assert.equal(health.ok, false, 'the store reports itself not ok as soon as its writer is gone');
  for (const reply of await Promise.all(inFlight)) {
    // Each in-flight write committed, or its outcome is unknown, or it was refused: never a hang or a 500.
    if (reply.status >= 300) assert.ok([503, 504].includes(reply.status), `HTTP ${reply.status} ${reply.text}`);
  }
  await bystander.answersMore(5); // reads go on while the writer is down
  const deadline = Date.now() + recoverMs;
  let round = 0;
  for (;;) {
    const healthz = await call(server.url, 'GET', '/healthz');
    const write = await call(server.url, 'PUT', objectPath('calm', `r${round++}`), { body: { n: round } });
    if (healthz.status === 200) assert.ok(write.status < 300, `/healthz said ok but a write then failed: ${write.text}`);
    else assert.equal(json<{ status: string }>(healthz).status, 'unavailable');
    if (write.status < 300) break;
    expectError(write, 503, 'unavailable');
    if (Date.now() > deadline) assert.fail(`writes did not recover within ${recoverMs} ms of the writer's death`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expectOk(await call(server.url, 'GET', '/healthz'), 200);
  const before = expectOk<{ attributes: { n: number } }>(await call(server.url, 'GET', objectPath('calm', 'me')), 200);
  assert.equal(before.attributes.n, 1, 'data written before the death survived it');
}

test('a writer thread that dies is restarted: writes recover, /healthz tells the truth meanwhile', async () => {
  const setup = await setUp('abuse-writer', makeLimits());
  for (let kill = 0; kill < scaled(3, 30); kill++) await killTheWriter(setup, true, 30_000);
  await setup.bystander.stop();
});

test('negative control: a writer left dead never lets writes recover, and /healthz never says ok', async () => {
  const setup = await setUp('abuse-writer-off', makeLimits());
  await assert.rejects(killTheWriter(setup, false, 1_000), /writes did not recover/);
  await setup.bystander.stop();
});

// ---------------------------------------------------------------------------------------------
// Item 5: a costly regex wherever a predicate runs

/** The pattern: 2,002 instructions, each a step at every character of the input. */
const COSTLY = '(?:.?){1000}y';
type Where = 'writer' | 'search' | 'watch';

/** Read an SSE stream until its first `event: error`, and return that error (or fail on `end`). */
async function sseError(url: string, query: string, trigger: () => Promise<void>): Promise<{ code: string; limit?: string }> {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/events?${query}`, { signal: controller.signal });
  assert.equal(response.status, 200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let triggered = false;
  try {
    for (;;) {
      const { done, value } = await withTimeout(reader.read(), 60_000, 'the SSE stream');
      if (done) assert.fail(`the stream ended without an error event: ${text.slice(-300)}`);
      text += decoder.decode(value, { stream: true });
      if (!triggered && text.includes(': watching')) {
        triggered = true;
        await trigger();
      }
      if (text.includes('event: change')) assert.fail('the costly filter ran and matched (the bound is off)');
      const match = /event: error\ndata: (.*)\n/.exec(text);
      if (match) return JSON.parse(match[1] as string) as { code: string; limit?: string };
    }
  } finally {
    controller.abort();
  }
}

/**
 * Run the costly pattern over a string of `chars` characters where `where` says: a cond_put's
 * condition (writer thread), a count (search thread), an SSE filter (event loop). Asserts the
 * coded refusal; the bystander answers meanwhile and after.
 */
async function costlyRegex({ server, bystander }: Setup, where: Where, chars: number, round = 0): Promise<void> {
  const text = `${'x'.repeat(chars)}y`;
  let error: { code: string; limit?: string };
  if (where === 'watch') {
    const filter = encodeURIComponent(JSON.stringify({ s: { regex: COSTLY } }));
    error = await sseError(server.url, `space=big&if=${filter}`, async () => {
      expectOk(await call(server.url, 'PUT', objectPath('big', 'long'), { body: { s: text } }));
    });
    assert.equal(error.code, 'too_costly', JSON.stringify(error));
  } else {
    expectOk(await call(server.url, 'PUT', objectPath('big', 'long'), { body: { s: text } }));
    const reply = where === 'writer'
      ? await call(server.url, 'POST', '/v1/ops', { body: { op: 'cond_put', space: 'big', key: 'long', if: { s: { regex: COSTLY } }, attributes: { s: 'z' } } })
      : await call(server.url, 'POST', '/v1/spaces/big/count', { body: { where: { s: { regex: COSTLY } } } });
    error = expectError(reply, 422, 'too_costly');
  }
  assert.equal(error.limit, where === 'search' ? 'searchStepsMax' : 'conditionStepsMax');
  await bystander.answersMore(20);
  // A new key each round, so 201 (created) proves this round's write committed.
  expectOk(await call(server.url, 'PUT', objectPath('calm', `after${round}`), { body: { n: 2 } }), 201);
}

for (const where of ['writer', 'search', 'watch'] as const) {
  test(`a costly regex in a ${where === 'writer' ? 'cond_put condition' : where === 'search' ? 'count' : 'watch filter'} is refused too_costly and nobody waits behind it`, async () => {
    // The 1 MB string: two billion steps, half a minute of a thread if it ran. Long: 20 rounds.
    const setup = await setUp(`abuse-regex-${where}`, makeLimits());
    for (let round = 0; round < scaled(1, 20); round++) await costlyRegex(setup, where, 1024 * 1024 - 100, round);
    await setup.bystander.stop();
  });

  test(`negative control: with the step bounds switched off, the costly regex in a ${where} runs to its answer (cheap form: 3 KB)`, async () => {
    const tight = await setUp(`abuse-regex-${where}-on`, makeLimits({ conditionStepsMax: 1_000_000, searchStepsMax: 1_000_000 }));
    await costlyRegex(tight, where, 3000);
    await tight.bystander.stop();
    const off = await setUp(`abuse-regex-${where}-off`, makeLimits({ conditionStepsMax: Number.MAX_SAFE_INTEGER, searchStepsMax: Number.MAX_SAFE_INTEGER }));
    await assert.rejects(costlyRegex(off, where, 3000), /HTTP 20|ran and matched/);
    await off.bystander.stop();
  });
}

// ---------------------------------------------------------------------------------------------
// Item 9: exact keys, through REST and the client

test('a map keeps a __proto__ key through REST and the client; map_set and map_remove of it work', async () => {
  const setup = await setUp('abuse-proto', makeLimits());
  const { url } = setup.server;
  const put = await call(url, 'PUT', objectPath('big', 'pm'), { body: '{"m": {"__proto__": 5, "a": 1, "constructor": 2}}' });
  expectOk(put, 201);
  const read = expectOk<{ attributes: { m: Record<string, number> } }>(await call(url, 'GET', objectPath('big', 'pm')), 200);
  assert.deepEqual(Object.entries(read.attributes.m).sort(), [['__proto__', 5], ['a', 1], ['constructor', 2]]);
  expectOk(await call(url, 'PATCH', objectPath('big', 'pm'), { body: '{"mutations": [{"map_set": {"m": {"__proto__": 9}}}, {"map_remove": {"m": "constructor"}}]}' }), 200);
  const client = await connect(url);
  clients.push(client);
  const viaClient = await client.get('big', 'pm');
  assert.deepEqual(Object.entries(viaClient?.attributes.m as object).sort(), [['__proto__', 9], ['a', 1]]);
  await client.put('big', 'pc', { m: JSON.parse('{"__proto__": 3}') as Record<string, number> });
  assert.deepEqual(Object.entries((await client.get('big', 'pc'))?.attributes.m as object), [['__proto__', 3]]);
  await setup.bystander.stop();
});

// ---------------------------------------------------------------------------------------------
// Item 10: protocol details (the WebSocket's 1009 is proven with the connection bounds)

/** Send raw bytes on a fresh socket and read what comes back until the server closes it. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return withTimeout(new Promise<string>((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(bytes));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { text += chunk; });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  }), 30_000, 'the server to answer and close');
}

/** A raw answer is the catalogue's error: that status, a JSON body with that code. */
function catalogueAnswer(raw: string, status: number, code: string): void {
  assert.match(raw, new RegExp(`^HTTP/1\\.1 ${status} `), raw.slice(0, 200));
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  assert.ok(body.length > 0, `a body, not an empty answer: ${JSON.stringify(raw.slice(0, 200))}`);
  assert.equal((JSON.parse(body) as { error?: { code?: string } }).error?.code, code, `a catalogue body: ${body.slice(0, 200)}`);
}

async function badHeaders(port: number): Promise<void> {
  catalogueAnswer(await rawExchange(port, 'GET /healthz HTTP/1.1\r\n\r\n'), 400, 'bad_request');
  const put = 'PUT /v1/spaces/calm/objects/x HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{"n": 3}';
  catalogueAnswer(await rawExchange(port, put), 417, 'expectation_failed');
}

test('a request without Host, or with an Expect other than 100-continue, gets a catalogue error body', async () => {
  const setup = await setUp('abuse-headers', makeLimits());
  for (let round = 0; round < scaled(1, 200); round++) await badHeaders(setup.server.server.port);
  expectError(await call(setup.server.url, 'GET', objectPath('calm', 'x')), 404, 'not_found'); // the refused put wrote nothing
  await setup.bystander.stop();
});

test('negative control: a bare Node HTTP server (what answered before) fails the same checks', async () => {
  const bare = createServer((_request, response) => response.end('{}'));
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  try {
    await assert.rejects(badHeaders((bare.address() as AddressInfo).port), /a body, not an empty answer|a catalogue body|HTTP\/1\.1 400/);
  } finally {
    bare.close();
  }
});

test('a list cursor handed out before rm_space is refused by a new space of the same name', async () => {
  const setup = await setUp('abuse-cursor', makeLimits());
  const { url } = setup.server;
  const schema = { schema: 'space reborn key k attributes int n' };
  const fill = async () => {
    for (const key of ['a', 'b', 'c']) expectOk(await call(url, 'PUT', objectPath('reborn', key), { body: { n: 1 } }), 201);
  };
  expectOk(await call(url, 'POST', '/v1/spaces', { body: schema }), 201);
  await fill();
  const first = expectOk<{ cursor: string }>(await call(url, 'GET', '/v1/spaces/reborn/objects?limit=1'), 200);
  expectOk(await call(url, 'GET', `/v1/spaces/reborn/objects?limit=1&cursor=${first.cursor}`), 200); // valid while the space lives
  expectOk(await call(url, 'DELETE', '/v1/spaces/reborn'));
  expectOk(await call(url, 'POST', '/v1/spaces', { body: schema }), 201);
  await fill();
  const refused = expectError(await call(url, 'GET', `/v1/spaces/reborn/objects?limit=1&cursor=${first.cursor}`), 400, 'invalid_cursor');
  assert.match(refused.message, /earlier space/);
  // Control: the new incarnation's own cursor pages it, so the refusal is the incarnation's.
  const fresh = expectOk<{ cursor: string }>(await call(url, 'GET', '/v1/spaces/reborn/objects?limit=1'), 200);
  expectOk(await call(url, 'GET', `/v1/spaces/reborn/objects?limit=1&cursor=${fresh.cursor}`), 200);
  await setup.bystander.stop();
});

if (LONG_RUN) {
  test('long: 50 reads of a 1 MB object per tx, 20 at once, never take the writer down', async () => {
    const setup = await setUp('abuse-tx-many', makeLimits());
    await putBig(setup.server.url, 'huge', 1024 * 1024 - 100);
    const ops = Array.from({ length: 50 }, () => ({ op: 'get', space: 'big', key: 'huge' }));
    const replies = await Promise.all(Array.from({ length: 20 }, () => call(setup.server.url, 'POST', '/v1/tx', { body: { ops } })));
    for (const reply of replies) expectError(reply, 413, 'too_large');
    expectOk(await call(setup.server.url, 'PUT', objectPath('calm', 'after'), { body: { n: 2 } }), 201);
    await setup.bystander.stop();
  });
}
