// Proves per-key order over REST (docs/architecture.md §4.3): requests pipelined on one HTTP/1.1 connection,
// all written before any answer is read, take effect in the order sent per key and are answered in
// request order: a GET after a PUT sees the PUT, a GET after a DELETE sees it gone, 100 pipelined
// add-1 PATCHes answer 1..100 in sequence and a GET after them reads 100, PUT-then-GET pairs over
// several keys each read the value just written, and GETs of other keys, which the engine answers
// before the PUTs before them commit, still leave after those PUTs' replies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { call, expectOk, objectPath } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/timeout.js';

let srv: TestServer;
before(async () => {
  srv = await startTestServer('pipelining');
  expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space pipe key k attributes int n' } }), 201);
});
after(async () => {
  await srv.stop();
});

interface PipelinedRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

interface PipelinedReply {
  readonly status: number;
  readonly body: { readonly ok: boolean; readonly key?: string; readonly version?: number; readonly attributes?: { readonly n?: number }; readonly error?: { readonly code: string } };
}

function encode(request: PipelinedRequest, host: string): string {
  const body = request.body === undefined ? '' : JSON.stringify(request.body);
  const headers = { host, ...(body ? { 'content-type': 'application/json' } : {}), 'content-length': String(Buffer.byteLength(body)), ...request.headers };
  return `${request.method} ${request.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** Parse complete responses off the front of `buffer`; returns them and what is left. */
function parseReplies(buffer: Buffer): { replies: PipelinedReply[]; rest: Buffer } {
  const replies: PipelinedReply[] = [];
  let rest = buffer;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    assert.ok(Number.isInteger(length), `a response with a content-length: ${head}`);
    if (rest.length < end + 4 + length) break;
    const status = Number(head.slice(9, 12));
    const body = JSON.parse(rest.subarray(end + 4, end + 4 + length).toString('utf8')) as PipelinedReply['body'];
    replies.push({ status, body });
    rest = rest.subarray(end + 4 + length);
  }
  return { replies, rest };
}

/** Write every request in one go on one fresh connection, then read the answers in order. */
async function pipeline(requests: readonly PipelinedRequest[]): Promise<PipelinedReply[]> {
  const { hostname, port } = new URL(srv.url);
  const socket = net.connect(Number(port), hostname);
  try {
    return await withTimeout(new Promise<PipelinedReply[]>((resolve, reject) => {
      let pending: Buffer = Buffer.alloc(0);
      const replies: PipelinedReply[] = [];
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`connection closed after ${replies.length} of ${requests.length} answers`)));
      socket.on('data', (chunk: Buffer) => {
        const parsed = parseReplies(Buffer.concat([pending, chunk]));
        pending = parsed.rest;
        replies.push(...parsed.replies);
        if (replies.length >= requests.length) resolve(replies);
      });
      socket.write(requests.map((r) => encode(r, `${hostname}:${port}`)).join(''));
    }), 15_000, `${requests.length} pipelined answers`);
  } finally {
    socket.destroy();
  }
}

const at = (key: string): string => objectPath('pipe', key);

test('a pipelined GET sees the PUT before it; a GET after DELETE sees it gone', async () => {
  const replies = await pipeline([
    { method: 'PUT', path: at('a'), body: { n: 1 } },
    { method: 'GET', path: at('a') },
    { method: 'PATCH', path: at('a'), body: { mutations: [{ add: { n: 41 } }] } },
    { method: 'GET', path: at('a') },
    { method: 'DELETE', path: at('a') },
    { method: 'GET', path: at('a') },
    { method: 'PUT', path: at('a'), body: { n: 7 }, headers: { 'if-none-match': '*' } },
    { method: 'PUT', path: at('a'), body: { n: 8 }, headers: { 'if-none-match': '*' } },
    { method: 'GET', path: at('a') },
  ]);
  assert.deepEqual(replies.map((r) => r.status), [201, 200, 200, 200, 200, 404, 201, 412, 200]);
  assert.equal(replies[1]?.body.attributes?.n, 1);
  assert.equal(replies[3]?.body.attributes?.n, 42);
  assert.equal(replies[5]?.body.error?.code, 'not_found');
  assert.equal(replies[7]?.body.error?.code, 'exists');
  assert.equal(replies[8]?.body.attributes?.n, 7);
});

test('100 pipelined add-1 PATCHes are answered 1..100 in order, and a GET after them reads 100', async () => {
  const replies = await pipeline([
    { method: 'PUT', path: at('counter'), body: { n: 0 } },
    ...Array.from({ length: 100 }, () => ({ method: 'PATCH', path: at('counter'), body: { mutations: [{ add: { n: 1 } }] } })),
    { method: 'GET', path: at('counter') },
  ]);
  assert.equal(replies[0]?.status, 201);
  const values = replies.slice(1, 101).map((r) => r.body.attributes?.n);
  assert.deepEqual(values, Array.from({ length: 100 }, (_, i) => i + 1));
  const versions = replies.slice(1, 101).map((r) => r.body.version ?? 0);
  assert.ok(versions.every((v, i) => i === 0 || v > (versions[i - 1] as number)), 'versions increase in the order sent');
  assert.equal(replies[101]?.body.attributes?.n, 100);
});

test('PUT k, GET k, pipelined for many keys and values: each GET reads the PUT just before it', async () => {
  const requests: PipelinedRequest[] = [];
  for (let i = 0; i < 30; i++) {
    requests.push({ method: 'PUT', path: at(`k${i % 5}`), body: { n: i } });
    requests.push({ method: 'GET', path: at(`k${i % 5}`) });
  }
  const replies = await pipeline(requests);
  const reads = replies.filter((_, i) => i % 2 === 1).map((r) => (r.status === 200 ? r.body.attributes?.n : `HTTP ${r.status}`));
  assert.deepEqual(reads, Array.from({ length: 30 }, (_, i) => i));
});

test('replies leave in request order even when a later GET of another key is answered first', async () => {
  expectOk(await call(srv.url, 'PUT', at('steady'), { body: { n: 5 } }), 201);
  const requests: PipelinedRequest[] = [];
  for (let i = 0; i < 20; i++) {
    requests.push({ method: 'PUT', path: at(`fresh${i}`), body: { n: i } });
    requests.push({ method: 'GET', path: at('steady') });
    requests.push({ method: 'GET', path: at(`never${i}`) });
  }
  const replies = await pipeline(requests);
  const expected = Array.from({ length: 20 }, () => [201, 200, 404]).flat();
  assert.deepEqual(replies.map((r) => r.status), expected);
  assert.deepEqual(replies.filter((_, i) => i % 3 === 0).map((r) => r.body.key), Array.from({ length: 20 }, (_, i) => `fresh${i}`));
  assert.ok(replies.filter((_, i) => i % 3 === 1).every((r) => r.body.key === 'steady' && r.body.attributes?.n === 5));
});
