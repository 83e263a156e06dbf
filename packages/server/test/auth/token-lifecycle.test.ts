// Proves what a token holder relies on over its life: an attenuated token never grants more than
// its parent (whatever caveats are added, and with none removed: a stripped or altered token does
// not verify); an expired token is refused; a revoked one is refused at once, on REST, on an open
// WebSocket, and by an open watch, which ends at its next event, and on a keep-alive connection
// that sent the same token before (each request is judged by its own token); a watch or SSE stream never
// carries an event of a space its token cannot read; the client connects with { token }.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { importMacaroon } from 'macaroon';
import { connect, SpacekvError } from '@spacekv/client';
import { attenuateToken, decodeToken, mintToken } from '../../src/auth/token-format.js';
import { call, expectError, expectOk, objectPath } from '../helpers/http.js';
import { ROOT_SECRET, WsPeer, bearer, createToken, startAuthServer } from '../helpers/auth.js';
import type { TestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/timeout.js';

let srv: TestServer;
const root = bearer(ROOT_SECRET);

before(async () => {
  srv = await startAuthServer('auth-life');
  for (const dsl of ['space pub key k attributes int n', 'space secret key k attributes int n']) {
    expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: dsl }, headers: root }), 201);
  }
});
after(async () => {
  await srv?.stop();
});

test('an attenuated token never exceeds its parent: added caveats only narrow, and a stripped one does not verify', async () => {
  const parent = (await createToken(srv.url, { ops: ['read', 'write'], spaces: ['pub'] })).token;
  const readOnly = attenuateToken(parent, ['ops = read']);
  expectOk(await call(srv.url, 'GET', '/v1/spaces/pub/objects?limit=1', { headers: bearer(readOnly) }), 200);
  expectError(await call(srv.url, 'PUT', objectPath('pub', 'a'), { body: { n: 1 }, headers: bearer(readOnly) }), 403, 'forbidden');
  // A caveat that would widen (every space, every right) cannot: the parent's still hold.
  const widened = attenuateToken(parent, ['spaces = *', 'ops = read,write,admin,watch']);
  expectError(await call(srv.url, 'GET', objectPath('secret', 'a'), { headers: bearer(widened) }), 403, 'forbidden');
  expectError(await call(srv.url, 'DELETE', '/v1/spaces/pub', { headers: bearer(widened) }), 403, 'forbidden');
  // Removing the child's caveat means rebuilding the chain without its key: it does not verify.
  const decoded = decodeToken(readOnly);
  const forged = mintToken(decoded.id, Buffer.alloc(32, 7), decoded.caveats.slice(0, -1));
  expectError(await call(srv.url, 'PUT', objectPath('pub', 'a'), { body: { n: 1 }, headers: bearer(forged) }), 401, 'unauthenticated');
  // A byte flipped anywhere in the token: refused too.
  const flipped = `${readOnly.slice(0, -6)}${readOnly.slice(-6, -5) === 'A' ? 'B' : 'A'}${readOnly.slice(-5)}`;
  expectError(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(flipped) }), 401, 'unauthenticated');
  // An unknown caveat is not ignored: the token is refused.
  expectError(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(attenuateToken(parent, ['time < soon'])) }), 401, 'unauthenticated');
});

/** `token` (skv2_, the macaroon's v2 binary form) as tokens were minted before it: skv1_ and the v2 JSON form. */
function asJsonForm(token: string): string {
  const macaroon = importMacaroon(new Uint8Array(Buffer.from(token.slice('skv2_'.length), 'base64url'))) as unknown as { exportJSON(): object };
  return `skv1_${Buffer.from(JSON.stringify(macaroon.exportJSON())).toString('base64url')}`;
}

test('tokens are the compact binary form (sent on every REST request), and tokens of the earlier JSON form still work and attenuate', async () => {
  const { token } = await createToken(srv.url, { ops: ['read', 'write'], spaces: ['pub'] });
  assert.match(token, /^skv2_[A-Za-z0-9_-]+$/);
  const legacy = asJsonForm(token);
  assert.ok(token.length < legacy.length * 0.7, `${token.length} characters, the JSON form ${legacy.length}`);
  expectOk(await call(srv.url, 'PUT', objectPath('pub', 'legacy'), { body: { n: 1 }, headers: bearer(legacy) }), 201);
  expectError(await call(srv.url, 'GET', objectPath('secret', 'a'), { headers: bearer(legacy) }), 403, 'forbidden');
  // Attenuating an earlier token gives a token of the current form, never wider than its parent.
  const readOnly = attenuateToken(legacy, ['ops = read']);
  assert.match(readOnly, /^skv2_/);
  expectOk(await call(srv.url, 'GET', objectPath('pub', 'legacy'), { headers: bearer(readOnly) }), 200);
  expectError(await call(srv.url, 'PUT', objectPath('pub', 'legacy'), { body: { n: 2 }, headers: bearer(readOnly) }), 403, 'forbidden');
  // The JSON form's signature altered: refused like any other.
  const decoded = JSON.parse(Buffer.from(legacy.slice(5), 'base64url').toString()) as { s64: string };
  const altered = { ...decoded, s64: `${decoded.s64.slice(0, -2)}${decoded.s64.endsWith('AA') ? 'BB' : 'AA'}` };
  expectError(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(`skv1_${Buffer.from(JSON.stringify(altered)).toString('base64url')}`) }), 401, 'unauthenticated');
});

test('a token is read exactly as minted: one with a character outside base64url is refused, though it decodes to the same bytes', async () => {
  const { token } = await createToken(srv.url, { ops: ['read'], spaces: ['pub'] });
  expectOk(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(token) }), 200);
  for (const minted of [token, asJsonForm(token)]) {
    expectOk(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(minted) }), 200);
    for (const stray of ['.', '!']) {
      const variant = `${minted.slice(0, 12)}${stray}${minted.slice(12)}`;
      assert.deepEqual(Buffer.from(variant.slice(5), 'base64url'), Buffer.from(minted.slice(5), 'base64url'));
      expectError(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(variant) }), 401, 'unauthenticated');
    }
  }
});

test('an expired token is refused, and a token that expires while a WebSocket is open is refused from then on', async () => {
  const parent = (await createToken(srv.url, { ops: ['read'], spaces: ['pub'] })).token;
  const past = attenuateToken(parent, [`expires = ${new Date(Date.now() - 1000).toISOString()}`]);
  expectError(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(past) }), 401, 'unauthenticated');
  const expiresAt = Date.now() + 1500;
  const soon = attenuateToken(parent, [`expires = ${new Date(expiresAt).toISOString()}`]);
  const peer = await WsPeer.open(srv.url, soon);
  const healthDetail = async (): Promise<boolean> => 'detail' in (JSON.parse((await call(srv.url, 'GET', '/healthz', { headers: bearer(soon) })).text) as object);
  try {
    assert.equal(WsPeer.outcome(await peer.request({ op: 'describe_space', space: 'pub' })), 'ok');
    assert.equal(await healthDetail(), true, '/healthz shows its detail to a valid token');
    await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 50));
    assert.equal(WsPeer.outcome(await peer.request({ op: 'describe_space', space: 'pub' })), 'unauthenticated');
    // The token is still in the server's cache, verified while it held: expired, it shows nothing more.
    assert.equal(await healthDetail(), false, '/healthz shows no detail to an expired token');
  } finally {
    peer.close();
  }
});

test('a revoked token is refused at once: REST, an open WebSocket, and an open watch (which ends), including tokens attenuated from it', async () => {
  const { id, token } = await createToken(srv.url, { ops: ['read', 'write', 'watch'], spaces: ['pub'] });
  const child = attenuateToken(token, ['ops = read']);
  expectOk(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(child) }), 200);
  const peer = await WsPeer.open(srv.url, token);
  try {
    const watch = await peer.request({ op: 'watch', space: 'pub' });
    assert.equal(WsPeer.outcome(watch), 'ok');
    expectOk(await call(srv.url, 'DELETE', `/v1/tokens/${id}`, { headers: root }), 200);
    expectError(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(token) }), 401, 'unauthenticated');
    expectError(await call(srv.url, 'GET', '/v1/spaces/pub', { headers: bearer(child) }), 401, 'unauthenticated');
    assert.equal(WsPeer.outcome(await peer.request({ op: 'put', space: 'pub', key: 'r', attributes: { n: 1 } })), 'unauthenticated');
    // The watch's next event is not delivered: the watch ends, saying why.
    expectOk(await call(srv.url, 'PUT', objectPath('pub', 'after-revoke'), { body: { n: 1 }, headers: root }), 201);
    await withTimeout((async () => {
      while (!peer.frames.some((f) => f.type === 'watch_end')) await new Promise((resolve) => setTimeout(resolve, 10));
    })(), 10_000, 'the watch ends after the revocation');
    assert.ok(!peer.frames.some((f) => f.type === 'changes'), 'no change reached the revoked watch');
    const end = peer.frames.find((f) => f.type === 'watch_end') as { error: { code: string } };
    assert.equal(end.error.code, 'unauthenticated');
  } finally {
    peer.close();
  }
});

/** A request on `agent` (one keep-alive connection): its status and body, and whether it reused the connection. */
function onConnection(agent: Agent, method: string, path: string, token: string): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${srv.url}${path}`, { agent, method, headers: bearer(token) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, reused: request.reusedSocket }));
    });
    request.on('error', reject);
    request.end();
  });
}

test('on one keep-alive connection, each request is judged by its own token, and a revocation holds at the next request', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const wide = await createToken(srv.url, { ops: ['read'], spaces: ['pub', 'secret'] });
    const narrow = attenuateToken(wide.token, ['spaces = pub']);
    assert.equal((await onConnection(agent, 'GET', '/v1/spaces/secret', wide.token)).status, 200);
    const switched = await onConnection(agent, 'GET', '/v1/spaces/secret', narrow);
    assert.ok(switched.reused, 'the same connection');
    assert.equal(switched.status, 403, 'another token on the same connection grants only what it grants');
    assert.equal((await onConnection(agent, 'GET', '/v1/spaces/secret', wide.token)).status, 200);
    assert.ok('detail' in JSON.parse((await onConnection(agent, 'GET', '/healthz', wide.token)).body), 'a valid token sees the detail');
    expectOk(await call(srv.url, 'DELETE', `/v1/tokens/${wide.id}`, { headers: root }), 200);
    const revoked = await onConnection(agent, 'GET', '/v1/spaces/secret', wide.token);
    assert.ok(revoked.reused, 'the same connection');
    assert.equal(revoked.status, 401);
    // Public, but its detail is for token holders: a revoked token on the same connection sees none.
    assert.deepEqual(JSON.parse((await onConnection(agent, 'GET', '/healthz', wide.token)).body), { status: 'ok' });
  } finally {
    agent.destroy();
  }
});

test('watch and SSE streams carry only spaces the token may watch; a watch of everything needs every space', async () => {
  const pubOnly = (await createToken(srv.url, { ops: ['watch'], spaces: ['pub'] })).token;
  const peer = await WsPeer.open(srv.url, pubOnly);
  const abort = new AbortController();
  try {
    assert.equal(WsPeer.outcome(await peer.request({ op: 'watch' })), 'forbidden');
    assert.equal(WsPeer.outcome(await peer.request({ op: 'watch', space: 'secret' })), 'forbidden');
    expectError(await call(srv.url, 'GET', '/v1/events?space=secret', { headers: bearer(pubOnly) }), 403, 'forbidden');
    expectError(await call(srv.url, 'GET', '/v1/events', { headers: bearer(pubOnly) }), 403, 'forbidden');
    assert.equal(WsPeer.outcome(await peer.request({ op: 'watch', space: 'pub' })), 'ok');
    // EventSource sends no headers: the token rides in the query.
    const sse = await fetch(`${srv.url}/v1/events?space=pub&token=${encodeURIComponent(pubOnly)}`, { signal: abort.signal });
    assert.equal(sse.status, 200);
    for (let i = 0; i < 5; i++) {
      expectOk(await call(srv.url, 'PUT', objectPath('secret', `s${i}`), { body: { n: i }, headers: root }));
      expectOk(await call(srv.url, 'PUT', objectPath('pub', `p${i}`), { body: { n: i }, headers: root }));
    }
    const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    await withTimeout((async () => {
      while ((text.match(/event: change/g) ?? []).length < 5) text += new TextDecoder().decode((await reader.read()).value);
    })(), 10_000, 'the SSE stream delivers the five pub changes');
    await withTimeout((async () => {
      while (peer.frames.filter((f) => f.type === 'changes').flatMap((f) => f.changes as unknown[]).length < 5) await new Promise((resolve) => setTimeout(resolve, 10));
    })(), 10_000, 'the WebSocket watch delivers the five pub changes');
    assert.ok(!text.includes('"space":"secret"'), 'no secret event on SSE');
    const spaces = peer.frames.filter((f) => f.type === 'changes').flatMap((f) => (f.changes as { space: string }[]).map((c) => c.space));
    assert.deepEqual([...new Set(spaces)], ['pub']);
  } finally {
    abort.abort();
    peer.close();
  }
});

test('the client connects with { token }, and a refused token fails connect with unauthenticated', async () => {
  const token = (await createToken(srv.url, { ops: ['read'], spaces: ['pub'] })).token;
  const db = await connect(srv.url, { token });
  try {
    assert.equal((await db.describeSpace('pub')).name, 'pub');
    await assert.rejects(db.put('pub', 'x', { n: 1 }), (err: unknown) => err instanceof SpacekvError && err.code === 'forbidden');
  } finally {
    await db.close();
  }
  const anonymous = await connect(srv.url, { reconnect: false });
  try {
    await assert.rejects(anonymous.describeSpace('pub'), (err: unknown) => err instanceof SpacekvError && err.code === 'unauthenticated');
  } finally {
    await anonymous.close();
  }
  await assert.rejects(connect(srv.url, { token: 'skv1_bogus', reconnect: false }), (err: unknown) => err instanceof SpacekvError && err.code === 'unauthenticated');
});
