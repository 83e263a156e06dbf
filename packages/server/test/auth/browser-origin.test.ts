// Proves a server with default settings (loopback, no tokens: the developer's case) is safe from web
// pages, and that --cors-origin and --allowed-host open exactly what they name:
// - a WebSocket upgrade and an SSE request from a foreign Origin are refused (a page cannot drive
//   the server through a socket its browser opens); the server's own origin and listed ones work;
// - a CORS preflight from an unlisted origin is refused, a listed one gets the CORS headers;
// - a text/plain POST (what a page may send cross-site without a preflight) creates nothing;
// - a foreign Host (DNS rebinding: the page's own name resolving to 127.0.0.1) is refused.
// Negative controls: the same requests succeed on a server configured to allow them, so the
// refusals come from the checks, not from something else in the request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import WebSocket from 'ws';
import { SUBPROTOCOLS } from '@spacekv/core';
import { call, expectError, expectOk } from '../helpers/http.js';
import { wsUrl } from '../helpers/auth.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

const EVIL = 'http://evil.example';
const APP = 'https://app.example.com';
let strict: TestServer;
let open: TestServer;

before(async () => {
  strict = await startTestServer('browser-strict', { config: { corsOrigins: [APP] } });
  open = await startTestServer('browser-open', { config: { corsOrigins: ['*'], allowedHosts: ['*'] } });
});
after(async () => {
  await strict?.stop();
  await open?.stop();
});

/** Open a WebSocket with these headers; resolves with the HTTP status of a refused upgrade, or 101. */
function upgrade(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url), [...SUBPROTOCOLS], { headers });
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.on('error', reject);
  });
}

/** A request with a Host header of our choosing (fetch does not let one set Host). */
function withHost(url: string, host: string, path: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

test('a WebSocket upgrade from a foreign origin is refused 403 forbidden_origin; the server\'s own origin and a listed one are accepted', async () => {
  const refused = await upgrade(strict.url, { origin: EVIL });
  assert.equal(refused.status, 403);
  assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'forbidden_origin');
  assert.equal((await upgrade(strict.url, { origin: strict.url })).status, 101, 'same origin');
  assert.equal((await upgrade(strict.url, { origin: APP })).status, 101, 'listed origin');
  assert.equal((await upgrade(strict.url, {})).status, 101, 'no origin: not a browser');
  assert.equal((await upgrade(strict.url, { origin: 'null' })).status, 403, 'the opaque origin of a sandboxed page');
  assert.equal((await upgrade(open.url, { origin: EVIL })).status, 101, 'negative control: --cors-origin * lets it in');
});

test('server-sent events from a foreign origin are refused; a listed origin gets the stream with CORS headers', async () => {
  expectError(await call(strict.url, 'GET', '/v1/events', { headers: { origin: EVIL } }), 403, 'forbidden_origin');
  const abort = new AbortController();
  try {
    const response = await fetch(`${strict.url}/v1/events`, { headers: { origin: APP }, signal: abort.signal });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), APP);
  } finally {
    abort.abort();
  }
});

test('a CORS preflight from an unlisted origin is refused; a listed origin is answered with the CORS headers', async () => {
  const preflight = { 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' };
  const refused = await call(strict.url, 'OPTIONS', '/v1/spaces/x/objects/k', { headers: { origin: EVIL, ...preflight } });
  expectError(refused, 403, 'forbidden_origin');
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  const allowed = await call(strict.url, 'OPTIONS', '/v1/spaces/x/objects/k', { headers: { origin: APP, ...preflight } });
  assert.equal(allowed.status, 204);
  assert.equal(allowed.headers.get('access-control-allow-origin'), APP);
  assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /PUT/);
  const listedGet = await call(strict.url, 'GET', '/v1/spaces', { headers: { origin: APP } });
  assert.equal(listedGet.headers.get('access-control-allow-origin'), APP);
});

test('a cross-site text/plain POST (no preflight in a browser) changes nothing, with or without an Origin', async () => {
  const attack = { body: 'space pwned key k', contentType: 'text/plain' };
  expectError(await call(strict.url, 'POST', '/v1/spaces', { ...attack, headers: { origin: EVIL } }), 403, 'forbidden_origin');
  expectError(await call(strict.url, 'POST', '/v1/spaces', attack), 415, 'unsupported_media_type');
  expectError(await call(open.url, 'POST', '/v1/spaces', { ...attack, headers: { origin: EVIL } }), 415, 'unsupported_media_type');
  expectError(await call(strict.url, 'POST', '/v1/spaces/any/search', { body: '{"where": {}}', contentType: 'text/plain' }), 415, 'unsupported_media_type');
  expectError(await call(strict.url, 'GET', '/v1/spaces/pwned'), 404, 'unknown_space');
  expectError(await call(open.url, 'GET', '/v1/spaces/pwned'), 404, 'unknown_space');
  // The DSL still has a form a non-browser client uses, and that a page cannot send without a preflight.
  expectOk(await call(strict.url, 'POST', '/v1/spaces', { body: 'space fine key k', contentType: 'application/x-spacekv-schema' }), 201);
});

test('a foreign Host (DNS rebinding) is refused 421 forbidden_host on REST and on the WebSocket; loopback names are answered', async () => {
  const rebound = await withHost(strict.url, 'evil.example:7640', '/v1/spaces');
  assert.equal(rebound.status, 421);
  assert.equal((JSON.parse(rebound.body) as { error: { code: string } }).error.code, 'forbidden_host');
  assert.equal((await upgrade(strict.url, { host: 'evil.example' })).status, 421);
  for (const host of ['localhost:1', '127.0.0.1', '[::1]:7640', 'LOCALHOST']) {
    assert.equal((await withHost(strict.url, host, '/v1/spaces')).status, 200, host);
  }
  // The guard remembers the last Host it allowed; a foreign one after allowed ones, and again, is still refused.
  for (const attempt of ['first', 'second']) {
    assert.equal((await withHost(strict.url, 'evil.example:7640', '/v1/spaces')).status, 421, `foreign Host after allowed ones, ${attempt} time`);
  }
  assert.equal((await withHost(open.url, 'evil.example:7640', '/v1/spaces')).status, 200, 'negative control: --allowed-host * answers any Host');
});
