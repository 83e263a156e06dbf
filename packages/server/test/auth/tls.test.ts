// Proves --tls-cert/--tls-key: with a certificate generated at test time (openssl), the server
// serves HTTPS and WSS on one port; REST over HTTPS and the client over wss:// (trusting the
// certificate through its `ca` option, with a token) work, large values included (putLarge and
// getLarge go over HTTPS, not the WebSocket, and trust the same `ca`); a client that does not trust
// the certificate is refused at the handshake; plain HTTP on that port gets no answer as HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import https from 'node:https';
import { connect } from '@spacekv/client';
import { ROOT_SECRET, startAuthServer } from '../helpers/auth.js';
import { makeTestCertificate } from '../helpers/certificate.js';
import type { TestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

const dir = makeTempDir('tls');
let cert = '';
let srv: TestServer;

before(async () => {
  const tls = makeTestCertificate(dir);
  cert = tls.cert;
  srv = await startAuthServer('tls', { config: { tls } });
});
after(async () => {
  await srv?.stop();
  removeDir(dir);
});

function httpsGet(url: string, path: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(`${url}${path}`, { ...(ca ? { ca } : {}), headers: { authorization: `Bearer ${ROOT_SECRET}` } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

test('REST over HTTPS and the client over WSS share the port; an untrusted certificate is refused', async () => {
  assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await httpsGet(srv.url, '/v1/spaces', cert)).status, 200);
  await assert.rejects(httpsGet(srv.url, '/v1/spaces'), /self-signed|certificate/i);
  const db = await connect(srv.url, { ca: cert, token: ROOT_SECRET, reconnect: false });
  try {
    await db.addSpace('space secure key k attributes int n');
    await db.put('secure', 'a', { n: 1 });
    assert.equal((await db.get('secure', 'a'))?.attributes.n, 1);
  } finally {
    await db.close();
  }
  await assert.rejects(connect(srv.url, { token: ROOT_SECRET, reconnect: false, connectTimeoutMs: 5_000 }));
  const plain = await fetch(srv.url.replace('https:', 'http:') + '/v1/spaces').then((r) => r.status, () => 'refused');
  assert.notEqual(plain, 200, 'plain HTTP is not served on a TLS port');
});

test('the client\'s large values (putLarge, getLarge) go over HTTPS trusting its ca, streamed both ways', async () => {
  const db = await connect(srv.url, { ca: cert, token: ROOT_SECRET, reconnect: false });
  try {
    await db.addSpace('space secure_files key k attributes bytes blob');
    // 3 MiB and a bit, from an async iterable: more than one chunk each way.
    const size = 3 * 1024 * 1024 + 7;
    const block = Buffer.alloc(64 * 1024);
    const hash = createHash('sha256');
    const body = async function* (): AsyncGenerator<Uint8Array> {
      for (let sent = 0; sent < size; sent += block.length) {
        const piece = block.subarray(0, Math.min(block.length, size - sent)).fill(sent % 251);
        hash.update(piece);
        yield Uint8Array.from(piece);
      }
    };
    const written = await db.putLarge('secure_files', 'a', 'blob', body());
    assert.equal(written.created, true);
    const read = await db.getLarge('secure_files', 'a', 'blob');
    const back = createHash('sha256');
    let length = 0;
    for await (const chunk of read.body as unknown as AsyncIterable<Uint8Array>) {
      back.update(chunk);
      length += chunk.length;
    }
    const sha256 = hash.digest('hex');
    assert.deepEqual([read.size, length, read.sha256, back.digest('hex'), read.version], [size, size, sha256, sha256, written.version]);
    const part = await db.getLarge('secure_files', 'a', 'blob', { start: 10, end: 19 });
    assert.equal(part.length, 10);
  } finally {
    await db.close();
  }
});
