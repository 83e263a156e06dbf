// Proves a body refused for its size is answered, not cut: Node's fetch (undici), which writes the
// whole body before it reads, gets the 413 too_large every time, with a declared length and with a
// streamed one, on new and reused connections, and the server keeps serving. The discarding is
// bounded: a declared length past refusedBodyBytesMax is answered at once and the connection
// closed, and a refused body that stalls is answered after refusedBodyDrainMsMax and closed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { DEFAULT_LIMITS, makeLimits } from '@spacekv/core';
import { call, expectError, expectOk, objectPath } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/timeout.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

const ATTEMPTS = 6;

// A server process of its own: in this process's event loop the client's writes and the server's
// close interleave differently, and the broken pipe does not show.
describe('with the default limits, on a server process', () => {
  let srv: ServerProcess;
  let dataDir = '';
  before(async () => {
    dataDir = makeTempDir('refused-body');
    srv = await spawnServer(['--port', '0', '--data', dataDir]);
    expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space big key k attributes string v' } }), 201);
  });
  after(async () => {
    await killAllChildren();
    removeDir(dataDir);
  });

  test(`fetch sending a body past requestBytesMax reads the 413, ${ATTEMPTS} times in a row`, async () => {
    const body = JSON.stringify({ v: 'x'.repeat(DEFAULT_LIMITS.requestBytesMax + 1024 * 1024) });
    for (let i = 0; i < ATTEMPTS; i++) {
      const response = await fetch(`${srv.url}${objectPath('big', 'a')}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body })
        .catch((err: Error & { cause?: Error }) => assert.fail(`attempt ${i + 1}: ${err.message} (${err.cause?.message}) instead of the 413`));
      assert.equal(response.status, 413, `attempt ${i + 1}`);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'too_large');
    }
    expectError(await call(srv.url, 'GET', objectPath('big', 'a')), 404, 'not_found');
  });

  test('fetch streaming a body past requestBytesMax (no content-length) reads the 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(256 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"v": "'));
        if (sent > DEFAULT_LIMITS.requestBytesMax * 2) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const init = { method: 'PUT', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit;
    const response = await fetch(`${srv.url}${objectPath('big', 'b')}`, init)
      .catch((err: Error & { cause?: Error }) => assert.fail(`${err.message} (${err.cause?.message}) instead of the 413`));
    assert.equal(response.status, 413);
    expectOk(await call(srv.url, 'PUT', objectPath('big', 'c'), { body: { v: 'small' } }), 201);
  });
});

/** Send `head` (and `bodyPart`) on a raw connection, then read until the server closes it. */
async function rawExchange(url: string, head: string, bodyPart: Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined); // a reset after the answer is the point, not a failure
  socket.write(head);
  socket.write(bodyPart);
  await withTimeout(closed, 30_000, 'the server to answer and close the connection');
  return received;
}

describe('with small refused-body bounds', () => {
  let srv: TestServer;
  const limits = makeLimits({ requestBytesMax: 64 * 1024, refusedBodyBytesMax: 256 * 1024, refusedBodyDrainMsMax: 300 });
  before(async () => {
    srv = await startTestServer('refused-body-bounds', { limits });
  });
  after(async () => {
    await srv.stop();
  });

  const head = (length: number): string =>
    `PUT /v1/spaces/big/objects/a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

  test('a declared body past refusedBodyBytesMax is answered 413 at once, without reading it, and the connection closed', async () => {
    const answer = await rawExchange(srv.url, head(limits.refusedBodyBytesMax + 1), Buffer.alloc(0));
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /"code":"too_large"/);
  });

  test('a refused body that stalls is answered 413 after refusedBodyDrainMsMax, and the connection closed', async () => {
    const answer = await rawExchange(srv.url, head(limits.requestBytesMax * 2), Buffer.alloc(limits.requestBytesMax + 1024, 'x'));
    assert.match(answer, /^HTTP\/1\.1 413 /);
  });
});
