// Proves every REST route and every WebSocket operation of a server that requires tokens refuses a
// request without a token (401 `unauthenticated`, with WWW-Authenticate on REST), refuses a token
// without the needed scope (403 `forbidden`) without changing anything, and serves the same request
// with a token of exactly the needed scope. The matrix is checked against the server's own route
// table (the OpenAPI document) and the operation catalogue, so a new route or operation cannot
// land unguarded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATION_NAMES } from '@spacekv/core';
import { call, expectError, expectOk, json, objectPath } from '../helpers/http.js';
import { ROOT_SECRET, type Scope, WsPeer, bearer, createToken, startAuthServer } from '../helpers/auth.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;
const root = bearer(ROOT_SECRET);
/** A valid token for another space only: lacks the scope of every case. */
let otherSpace: string;

/** Valid tokens without the scope `grant` needs: another space's, and one with every right but the granted ones on every space. */
async function wrongTokens(grant: Scope): Promise<string[]> {
  const rights = ['read', 'write', 'admin', 'watch'].filter((r) => !(grant.ops ?? []).includes(r));
  return [otherSpace, (await createToken(srv.url, { ops: rights })).token];
}

async function rootCall(method: string, path: string, body?: unknown): Promise<void> {
  expectOk(await call(srv.url, method, path, { body, headers: root }));
}

before(async () => {
  srv = await startAuthServer('auth-matrix');
  for (const dsl of ['space m key k attributes int n, string s', 'space m2 key k attributes int n', 'space other key k attributes int n', 'space mb key k attributes bytes b']) {
    await rootCall('POST', '/v1/spaces', { schema: dsl });
  }
  await rootCall('PUT', objectPath('m', 'k1'), { n: 1 });
  otherSpace = (await createToken(srv.url, { spaces: ['other'] })).token;
});
after(async () => {
  await srv?.stop();
});

interface RestCase {
  /** The route as the OpenAPI document names it. */
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  /** The body's content type when it is a string sent as it is. */
  readonly contentType?: string;
  /** Exactly the scope the request needs. */
  readonly grant: Scope;
  readonly status: number;
  /** Run with the root secret before the case. */
  readonly prepare?: () => Promise<unknown>;
  /** Holds after the refused attempts, before the granted one: nothing changed. */
  readonly unchanged?: () => Promise<void>;
}

const M = { ops: ['read'], spaces: ['m'] };
const REST_CASES: readonly RestCase[] = [
  { route: 'GET /v1/spaces', method: 'GET', path: '/v1/spaces', grant: { ops: ['read'] }, status: 200 },
  {
    route: 'POST /v1/spaces', method: 'POST', path: '/v1/spaces', body: { schema: 'space added key k' }, grant: { ops: ['admin'], spaces: ['added'] }, status: 201,
    unchanged: async () => expectError(await call(srv.url, 'GET', '/v1/spaces/added', { headers: root }), 404, 'unknown_space') && undefined,
  },
  { route: 'GET /v1/spaces/{space}', method: 'GET', path: '/v1/spaces/m', grant: M, status: 200 },
  {
    route: 'DELETE /v1/spaces/{space}', method: 'DELETE', path: '/v1/spaces/gone', grant: { ops: ['admin'], spaces: ['gone'] }, status: 200,
    prepare: () => rootCall('POST', '/v1/spaces', { schema: 'space gone key k' }),
    unchanged: async () => void expectOk(await call(srv.url, 'GET', '/v1/spaces/gone', { headers: root }), 200),
  },
  { route: 'GET /v1/spaces/{space}/objects/{key}', method: 'GET', path: objectPath('m', 'k1'), grant: M, status: 200 },
  {
    route: 'PUT /v1/spaces/{space}/objects/{key}', method: 'PUT', path: objectPath('m', 'k2'), body: { n: 2 }, grant: { ops: ['write'], spaces: ['m'] }, status: 201,
    unchanged: async () => void expectError(await call(srv.url, 'GET', objectPath('m', 'k2'), { headers: root }), 404, 'not_found'),
  },
  {
    route: 'GET /v1/spaces/{space}/objects/{key}/attributes/{attribute}', method: 'GET', path: `${objectPath('mb', 'k1')}/attributes/b`, grant: { ops: ['read'], spaces: ['mb'] }, status: 200,
    prepare: () => rootCall('PUT', objectPath('mb', 'k1'), { b: 'AAAA' }),
  },
  {
    route: 'PUT /v1/spaces/{space}/objects/{key}/attributes/{attribute}', method: 'PUT', path: `${objectPath('mb', 'k2')}/attributes/b`, body: 'bytes',
    contentType: 'application/octet-stream', grant: { ops: ['write'], spaces: ['mb'] }, status: 201,
    unchanged: async () => void expectError(await call(srv.url, 'GET', objectPath('mb', 'k2'), { headers: root }), 404, 'not_found'),
  },
  {
    route: 'PATCH /v1/spaces/{space}/objects/{key}', method: 'PATCH', path: objectPath('m', 'k1'), body: { mutations: [{ add: { n: 1 } }] },
    grant: { ops: ['read', 'write'], spaces: ['m'] }, status: 200,
    unchanged: async () => assert.equal(json<{ attributes: { n: number } }>(await call(srv.url, 'GET', objectPath('m', 'k1'), { headers: root })).attributes.n, 1),
  },
  {
    route: 'DELETE /v1/spaces/{space}/objects/{key}', method: 'DELETE', path: objectPath('m', 'k3'), grant: { ops: ['write'], spaces: ['m'], keys: 'k3' }, status: 200,
    prepare: () => rootCall('PUT', objectPath('m', 'k3'), { n: 3 }),
    unchanged: async () => void expectOk(await call(srv.url, 'GET', objectPath('m', 'k3'), { headers: root }), 200),
  },
  {
    route: 'POST /v1/ops', method: 'POST', path: '/v1/ops', body: { op: 'cond_put', space: 'm', key: 'k1', if: { n: { gte: 0 } }, attributes: { s: 'x' } },
    grant: { ops: ['write'], spaces: ['m'] }, status: 200,
  },
  {
    route: 'POST /v1/tx', method: 'POST', path: '/v1/tx',
    body: { ops: [{ op: 'get', space: 'm', key: 'k1' }, { op: 'put', space: 'm2', key: 'a', attributes: { n: 1 } }] },
    grant: { ops: ['read', 'write'], spaces: ['m', 'm2'] }, status: 200,
  },
  { route: 'GET /v1/spaces/{space}/objects', method: 'GET', path: '/v1/spaces/m/objects', grant: M, status: 200 },
  { route: 'POST /v1/spaces/{space}/search', method: 'POST', path: '/v1/spaces/m/search', body: { where: {} }, grant: M, status: 200 },
  { route: 'POST /v1/spaces/{space}/count', method: 'POST', path: '/v1/spaces/m/count', body: { where: {} }, grant: M, status: 200 },
  {
    route: 'POST /v1/spaces/{space}/delete', method: 'POST', path: '/v1/spaces/m/delete', body: { where: { n: { gte: 100 } } },
    grant: { ops: ['read', 'write'], spaces: ['m'] }, status: 200,
  },
  {
    route: 'POST /v1/spaces/{space}/mutate', method: 'POST', path: '/v1/spaces/m/mutate', body: { where: { n: { gte: 100 } }, mutations: [{ add: { n: 1 } }] },
    grant: { ops: ['read', 'write'], spaces: ['m'] }, status: 200,
  },
  { route: 'POST /v1/spaces/{space}/indexes', method: 'POST', path: '/v1/spaces/m/indexes', body: { attribute: 'n' }, grant: { ops: ['admin'], spaces: ['m'] }, status: 200 },
  { route: 'DELETE /v1/spaces/{space}/indexes/{attribute}', method: 'DELETE', path: '/v1/spaces/m/indexes/n', grant: { ops: ['admin'], spaces: ['m'] }, status: 200 },
  { route: 'GET /v1/events', method: 'GET', path: '/v1/events?space=m', grant: { ops: ['watch'], spaces: ['m'] }, status: 200 },
  { route: 'GET /metrics', method: 'GET', path: '/metrics', grant: { ops: ['read'] }, status: 200 },
  { route: 'GET /v1/backup', method: 'GET', path: '/v1/backup', grant: { ops: ['admin'] }, status: 200 },
  { route: 'GET /v1/tokens', method: 'GET', path: '/v1/tokens', grant: { ops: ['admin'] }, status: 200 },
  { route: 'POST /v1/tokens', method: 'POST', path: '/v1/tokens', body: { label: 'made' }, grant: { ops: ['admin'] }, status: 201 },
];
/** Routes anyone may call: liveness, the API's description, and the console's page and assets (no data). */
const PUBLIC_ROUTES = ['GET /healthz', 'GET /v1/openapi.json', 'GET /console', 'GET /console/assets/{file}'];

/** One request; an event stream is read only to its status, then cut. */
async function send(c: Pick<RestCase, 'method' | 'path' | 'body' | 'contentType'>, token: string | undefined): Promise<{ status: number; text: string; headers: Headers }> {
  if (c.path.startsWith('/v1/events')) {
    const abort = new AbortController();
    const response = await fetch(`${srv.url}${c.path}`, { headers: bearer(token), signal: abort.signal });
    const text = response.ok ? '' : await response.text();
    abort.abort();
    return { status: response.status, text, headers: response.headers };
  }
  return call(srv.url, c.method, c.path, { body: c.body, headers: bearer(token), ...(c.contentType ? { contentType: c.contentType } : {}) });
}

test('every REST route: no token → 401 with WWW-Authenticate; a token without the scope → 403 and nothing changes; the exact scope → served', async (t) => {
  const routes = Object.entries(json<{ paths: Record<string, Record<string, unknown>> }>(await call(srv.url, 'GET', '/v1/openapi.json')).paths)
    .flatMap(([path, item]) => Object.keys(item).filter((m) => m !== 'parameters').map((m) => `${m.toUpperCase()} ${path}`));
  const covered = new Set([...REST_CASES.map((c) => c.route), ...PUBLIC_ROUTES, 'DELETE /v1/tokens/{id}']);
  assert.deepEqual(routes.filter((r) => !covered.has(r)), [], 'every route of the server is in the matrix');

  for (const c of REST_CASES) {
    await t.test(c.route, async () => {
      await c.prepare?.();
      const none = await send(c, undefined);
      expectError(none, 401, 'unauthenticated');
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="spacekv"$/);
      const garbage = await send(c, 'skv1_not-a-token');
      expectError(garbage, 401, 'unauthenticated');
      assert.match(garbage.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      for (const token of await wrongTokens(c.grant)) expectError(await send(c, token), 403, 'forbidden');
      await c.unchanged?.();
      const granted = await createToken(srv.url, c.grant);
      const served = await send(c, granted.token);
      assert.equal(served.status, c.status, `${c.route} with ${JSON.stringify(c.grant)}: ${served.text.slice(0, 300)}`);
    });
  }

  await t.test('DELETE /v1/tokens/{id}', async () => {
    const victim = await createToken(srv.url, {});
    const path = `/v1/tokens/${victim.id}`;
    expectError(await call(srv.url, 'DELETE', path), 401, 'unauthenticated');
    for (const token of await wrongTokens({ ops: ['admin'] })) expectError(await call(srv.url, 'DELETE', path, { headers: bearer(token) }), 403, 'forbidden');
    expectOk(await call(srv.url, 'GET', '/v1/spaces', { headers: bearer(victim.token) }), 200); // not revoked by the refused attempts
    const admin = await createToken(srv.url, { ops: ['admin'] });
    expectOk(await call(srv.url, 'DELETE', path, { headers: bearer(admin.token) }), 200);
  });

  await t.test('public routes: /healthz answers liveness without a token and its detail only with one', async () => {
    const open = expectOk<Record<string, unknown>>(await call(srv.url, 'GET', '/healthz'), 200);
    assert.deepEqual(open, { status: 'ok' });
    const detailed = expectOk<Record<string, unknown>>(await call(srv.url, 'GET', '/healthz', { headers: root }), 200);
    assert.equal(typeof detailed.detail, 'string');
    expectOk(await call(srv.url, 'GET', '/v1/openapi.json'), 200);
  });
});

interface WsCase {
  readonly op: Readonly<Record<string, unknown>>;
  readonly grant: Scope;
  readonly prepare?: () => Promise<unknown>;
}

const SERVED = new Set(['ok', 'not_found', 'exists', 'cmp_fail']);
const WRITE_M = { ops: ['write'], spaces: ['m'] };
const READ_WRITE_M = { ops: ['read', 'write'], spaces: ['m'] };
const WS_CASES: readonly WsCase[] = [
  { op: { op: 'get', space: 'm', key: 'k1' }, grant: M },
  { op: { op: 'get_partial', space: 'm', key: 'k1', select: ['n'] }, grant: M },
  { op: { op: 'put', space: 'm', key: 'w1', attributes: { n: 1 } }, grant: WRITE_M },
  { op: { op: 'put_if_not_exist', space: 'm', key: 'w2', attributes: { n: 1 } }, grant: WRITE_M },
  { op: { op: 'get_and_put', space: 'm', key: 'w3', attributes: { n: 1 } }, grant: READ_WRITE_M },
  { op: { op: 'cond_put', space: 'm', key: 'k1', if: { n: { gte: 0 } }, attributes: { s: 'y' } }, grant: WRITE_M },
  { op: { op: 'cond_put_or_create', space: 'm', key: 'k1', if: { n: { gte: 0 } }, attributes: { s: 'z' } }, grant: WRITE_M },
  { op: { op: 'compare_and_swap', space: 'm', key: 'w4', version: 0, attributes: { n: 1 } }, grant: WRITE_M },
  { op: { op: 'del', space: 'm', key: 'd1' }, grant: WRITE_M, prepare: () => rootCall('PUT', objectPath('m', 'd1'), { n: 1 }) },
  { op: { op: 'cond_del', space: 'm', key: 'd2', if: { n: 1 } }, grant: WRITE_M, prepare: () => rootCall('PUT', objectPath('m', 'd2'), { n: 1 }) },
  { op: { op: 'get_and_del', space: 'm', key: 'd3' }, grant: READ_WRITE_M, prepare: () => rootCall('PUT', objectPath('m', 'd3'), { n: 1 }) },
  { op: { op: 'mutate', space: 'm', key: 'k1', mutations: [{ add: { n: 1 } }] }, grant: READ_WRITE_M },
  { op: { op: 'add_space', schema: 'space wsadded key k' }, grant: { ops: ['admin'], spaces: ['wsadded'] } },
  { op: { op: 'rm_space', space: 'wsgone' }, grant: { ops: ['admin'], spaces: ['wsgone'] }, prepare: () => rootCall('POST', '/v1/spaces', { schema: 'space wsgone key k' }) },
  { op: { op: 'list_spaces' }, grant: { ops: ['read'] } },
  { op: { op: 'describe_space', space: 'm' }, grant: M },
  { op: { op: 'tx', checks: [{ space: 'm2', key: 'wsnone', exists: false }], ops: [{ op: 'put', space: 'm', key: 'tx1', attributes: { n: 1 } }] }, grant: { ops: ['read', 'write'], spaces: ['m', 'm2'] } },
  { op: { op: 'search', space: 'm', where: {} }, grant: M },
  { op: { op: 'sorted_search', space: 'm', where: {}, sort_by: 'n', limit: 5 }, grant: M },
  { op: { op: 'count', space: 'm', where: {} }, grant: M },
  { op: { op: 'list', space: 'm', prefix: 'k' }, grant: { ops: ['read'], spaces: ['m'], keys: 'k' } },
  { op: { op: 'group_del', space: 'm', where: { n: { gte: 1000 } } }, grant: READ_WRITE_M },
  { op: { op: 'group_mutate', space: 'm', where: { n: { gte: 1000 } }, mutations: [{ add: { n: 1 } }] }, grant: READ_WRITE_M },
  { op: { op: 'add_index', space: 'm2', attribute: 'n' }, grant: { ops: ['admin'], spaces: ['m2'] } },
  { op: { op: 'rm_index', space: 'm2', attribute: 'n' }, grant: { ops: ['admin'], spaces: ['m2'] } },
  { op: { op: 'watch', space: 'm', prefix: 'k' }, grant: { ops: ['watch'], spaces: ['m'], keys: 'k' } },
];

test('every WebSocket operation: no hello → unauthenticated; a token without the scope → forbidden; the exact scope → served', async (t) => {
  assert.deepEqual([...OPERATION_NAMES, 'watch'].filter((name) => !WS_CASES.some((c) => c.op.op === name)), [], 'every operation is in the matrix');
  const anonymous = await WsPeer.open(srv.url);
  try {
    for (const c of WS_CASES) {
      await t.test(String(c.op.op), async () => {
        await c.prepare?.();
        assert.equal(WsPeer.outcome(await anonymous.request(c.op)), 'unauthenticated');
        for (const token of await wrongTokens(c.grant)) {
          const peer = await WsPeer.open(srv.url, token);
          assert.equal(WsPeer.outcome(await peer.request(c.op)), 'forbidden');
          peer.close();
        }
        const granted = await WsPeer.open(srv.url, (await createToken(srv.url, c.grant)).token);
        try {
          // Served: a success, or the operation's own result (a failed condition is an answer, not a refusal).
          assert.ok(SERVED.has(WsPeer.outcome(await granted.request(c.op))), `${String(c.op.op)} with ${JSON.stringify(c.grant)}`);
        } finally {
          granted.close();
        }
      });
    }
  } finally {
    anonymous.close();
  }
});

test('a tx is refused when any one space it touches is outside the token, and then applies nothing', async () => {
  const onlyM = (await createToken(srv.url, { ops: ['read', 'write'], spaces: ['m'] })).token;
  const tx = { ops: [{ op: 'put', space: 'm', key: 'txa', attributes: { n: 1 } }, { op: 'put', space: 'other', key: 'txa', attributes: { n: 1 } }] };
  expectError(await call(srv.url, 'POST', '/v1/tx', { body: tx, headers: bearer(onlyM) }), 403, 'forbidden');
  expectError(await call(srv.url, 'GET', objectPath('m', 'txa'), { headers: root }), 404, 'not_found');
  // A check alone on a foreign space is a read of it: refused too.
  const check = { checks: [{ space: 'other', key: 'x', exists: false }], ops: [{ op: 'put', space: 'm', key: 'txa', attributes: { n: 1 } }] };
  expectError(await call(srv.url, 'POST', '/v1/tx', { body: check, headers: bearer(onlyM) }), 403, 'forbidden');
});

test('a key-prefix token reaches only keys under its prefix, and no search of the whole space', async () => {
  const scoped = (await createToken(srv.url, { ops: ['read', 'write'], spaces: ['m'], keys: 'user1/' })).token;
  expectOk(await call(srv.url, 'PUT', objectPath('m', 'user1/a'), { body: { n: 1 }, headers: bearer(scoped) }), 201);
  expectError(await call(srv.url, 'PUT', objectPath('m', 'user2/a'), { body: { n: 1 }, headers: bearer(scoped) }), 403, 'forbidden');
  expectError(await call(srv.url, 'GET', objectPath('m', 'k1'), { headers: bearer(scoped) }), 403, 'forbidden');
  expectError(await call(srv.url, 'POST', '/v1/spaces/m/search', { body: { where: {} }, headers: bearer(scoped) }), 403, 'forbidden');
  expectOk(await call(srv.url, 'GET', '/v1/spaces/m/objects?prefix=user1/', { headers: bearer(scoped) }), 200);
  expectError(await call(srv.url, 'GET', '/v1/spaces/m/objects?prefix=user', { headers: bearer(scoped) }), 403, 'forbidden');
});

test('no request reaches the token records: they read as no space, are never listed, and cannot be created by name', async () => {
  expectError(await call(srv.url, 'GET', objectPath('_spacekv_tokens', 'root'), { headers: root }), 404, 'unknown_space');
  expectError(await call(srv.url, 'POST', '/v1/spaces/_spacekv_tokens/search', { body: { where: {} }, headers: root }), 404, 'unknown_space');
  const spaces = json<{ spaces: { name: string }[] }>(await call(srv.url, 'GET', '/v1/spaces', { headers: root })).spaces.map((s) => s.name);
  assert.ok(!spaces.some((name) => name.startsWith('_spacekv')), `listed: ${spaces.join(', ')}`);
  expectError(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space _spacekv_x key k' }, headers: root }), 400, 'invalid_schema');
  const listed = json<{ tokens: Record<string, unknown>[] }>(await call(srv.url, 'GET', '/v1/tokens', { headers: root })).tokens;
  assert.ok(listed.length > 0 && listed.every((record) => !('root_key' in record) && !('rootKey' in record)), 'token list shows no secret');
});
