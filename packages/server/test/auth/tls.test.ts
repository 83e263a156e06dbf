// Proves --tls-cert/--tls-key: with a certificate generated at test time (openssl), the server
// serves HTTPS and WSS on one port; REST over HTTPS and the client over wss:// (trusting the
// certificate through its `ca` option, with a token) work; a client that does not trust the
// certificate is refused at the handshake; plain HTTP on that port gets no answer as HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { connect } from '@spacekv/client';
import { ROOT_SECRET, startAuthServer } from '../helpers/auth.js';
import type { TestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

const dir = makeTempDir('tls');
let cert = '';
let srv: TestServer;

before(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  srv = await startAuthServer('tls', { config: { tls: { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8') } } });
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
