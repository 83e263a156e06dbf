// Proves the operational endpoints answer: /healthz is 200 "ok"; /metrics is Prometheus text that,
// after some requests, carries spacekv_requests_total (by front, op and outcome) and the group-commit
// histogram spacekv_commit_batch_size, and how long each thread was busy; /v1/openapi.json lists exactly the routes the server
// registers: the test keeps its own list, checks it against the router (fastify's route table,
// built the way server.ts builds it) and against the document, method by method.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '@spacekv/core';
import { pino } from 'pino';
import { Engine } from '../../src/engine/engine.js';
import { BrowserGuard } from '../../src/front/browser-guard.js';
import { buildHttpApp } from '../../src/front/http/app.js';
import { OutputBudget } from '../../src/front/output-budget.js';
import { ChangeFeed } from '../../src/events/change-feed.js';
import { Metrics } from '../../src/metrics.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { call, expectError, expectOk, json, objectPath } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

/** Every route of the REST front, as `METHOD path` in OpenAPI's `{param}` spelling. */
const ROUTES = [
  'GET /healthz',
  'GET /v1/events',
  'GET /v1/backup',
  'GET /metrics',
  'GET /v1/openapi.json',
  'GET /v1/spaces',
  'POST /v1/spaces',
  'GET /v1/spaces/{space}',
  'DELETE /v1/spaces/{space}',
  'GET /v1/spaces/{space}/objects/{key}',
  'PUT /v1/spaces/{space}/objects/{key}',
  'PATCH /v1/spaces/{space}/objects/{key}',
  'DELETE /v1/spaces/{space}/objects/{key}',
  'GET /v1/spaces/{space}/objects/{key}/attributes/{attribute}',
  'PUT /v1/spaces/{space}/objects/{key}/attributes/{attribute}',
  'POST /v1/ops',
  'POST /v1/tx',
  'GET /v1/spaces/{space}/objects',
  'POST /v1/spaces/{space}/search',
  'POST /v1/spaces/{space}/count',
  'POST /v1/spaces/{space}/delete',
  'POST /v1/spaces/{space}/mutate',
  'POST /v1/spaces/{space}/indexes',
  'DELETE /v1/spaces/{space}/indexes/{attribute}',
  'GET /v1/tokens',
  'POST /v1/tokens',
  'DELETE /v1/tokens/{id}',
  'GET /console',
  'GET /console/assets/{file}',
].sort();

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

let srv: TestServer;
/** When the server began to start: no thread of its store can have been busy for longer. */
let startedAt = 0;
before(async () => {
  startedAt = performance.now();
  srv = await startTestServer('endpoints');
});
after(async () => {
  await srv.stop();
});

test('GET /healthz → 200 ok', async () => {
  const health = expectOk<{ status: string }>(await call(srv.url, 'GET', '/healthz'), 200);
  assert.equal(health.status, 'ok');
});

test('GET /metrics carries spacekv_requests_total and spacekv_commit_batch_size after some requests', async () => {
  expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space m key k attributes int n' } }), 201);
  await Promise.all(Array.from({ length: 20 }, (_, i) => call(srv.url, 'PUT', objectPath('m', `k${i}`), { body: { n: i } })));
  expectOk(await call(srv.url, 'GET', objectPath('m', 'k1')), 200);
  expectError(await call(srv.url, 'GET', objectPath('m', 'absent')), 404, 'not_found');

  const reply = await call(srv.url, 'GET', '/metrics');
  assert.equal(reply.status, 200);
  assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/);
  const text = reply.text;
  assert.match(text, /^# TYPE spacekv_requests_total counter$/m);
  assert.match(text, /^spacekv_requests_total\{front="http",op="put",outcome="ok"\} 20$/m);
  assert.match(text, /^spacekv_requests_total\{front="http",op="get",outcome="ok"\} 1$/m);
  assert.match(text, /^spacekv_requests_total\{front="http",op="get",outcome="not_found"\} 1$/m);
  assert.match(text, /^# TYPE spacekv_commit_batch_size histogram$/m);
  // Every write was in some batch: the batch sizes add up to at least the 21 writes (20 puts and add_space).
  const sum = /^spacekv_commit_batch_size_sum (\d+)$/m.exec(text);
  assert.ok(sum, 'spacekv_commit_batch_size_sum is exposed');
  assert.ok(Number(sum[1]) >= 21, `batch sizes sum to ${sum[1]}`);
  assert.match(text, /^spacekv_write_queue_depth \d+$/m);
});

test('the test\'s route list is the router\'s route table', async () => {
  const dir = makeTempDir('routes');
  try {
    const store = new SqliteStore(dir, DEFAULT_LIMITS);
    const engine = new Engine({ store, limits: DEFAULT_LIMITS });
    const logger = pino({ level: 'silent' });
    const feed = new ChangeFeed(store, DEFAULT_LIMITS, logger);
    const gate = { guard: new BrowserGuard({ listenHost: '127.0.0.1', allowedHosts: [], corsOrigins: [] }), metricsPublic: false };
    const { app } = buildHttpApp({ engine, metrics: new Metrics(() => 0), feed, logger, health: () => ({ ok: true, detail: 'test' }), gate, output: new OutputBudget(DEFAULT_LIMITS.replyBufferBytesMax) });
    await app.ready();
    const registered = routesFromTree(app.printRoutes({ commonPrefix: false }));
    await app.close();
    assert.deepEqual(registered, ROUTES);
  } finally {
    removeDir(dir);
  }
});

test('GET /v1/openapi.json lists every route the server registers, and no other', async () => {
  const doc = json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(await call(srv.url, 'GET', '/v1/openapi.json'));
  assert.match(doc.openapi, /^3\.1\./);
  const documented = Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((m) => HTTP_METHODS.has(m)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  assert.deepEqual(documented, ROUTES);
});

test('every listed route is live on the running server (none answers no_route)', async () => {
  expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space probe key k attributes int n' } }), 201);
  // The console's assets exist under their build's names only: take one from its page.
  const asset = /\/console\/assets\/([^"]+)"/.exec((await call(srv.url, 'GET', '/console')).text)?.[1] ?? 'none';
  for (const route of ROUTES) {
    const [method, path] = route.split(' ') as [string, string];
    // An event stream never ends; watching a space that does not exist answers at once (404
    // unknown_space, not no_route), which is all this needs.
    const query = path === '/v1/events' ? '?space=no-such-space' : '';
    const concrete = `${path.replace('{space}', 'probe').replace('{key}', 'probe').replace('{attribute}', 'n').replace('{file}', asset)}${query}`;
    const reply = await call(srv.url, method, concrete, method === 'GET' || method === 'DELETE' ? {} : { body: {} });
    if (reply.status === 404) assert.notEqual(json<{ error: { code: string } }>(reply).error.code, 'no_route', route);
  }
});

/**
 * Turn fastify's printRoutes tree ("├── /v1/spaces (POST, GET, HEAD)", children indented by 4)
 * into `METHOD path` lines, leaving out the HEAD routes fastify adds for every GET.
 */
function routesFromTree(tree: string): string[] {
  const stack: { depth: number; path: string }[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│├└─\s]*)(\S+)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length;
    while (stack.length > 0 && (stack[stack.length - 1] as { depth: number }).depth >= depth) stack.pop();
    const path = `${stack[stack.length - 1]?.path ?? ''}${match[2] ?? ''}`;
    stack.push({ depth, path });
    for (const method of (match[3] ?? '').split(', ').filter((m) => m.length > 0 && m !== 'HEAD')) {
      routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

test('GET /metrics says how long the event loop, the SQLite writer and the search threads were busy', async () => {
  const busy = async (): Promise<Record<string, number>> => {
    const text = (await call(srv.url, 'GET', '/metrics')).text;
    assert.match(text, /^# TYPE spacekv_thread_busy_seconds_total counter$/m);
    return Object.fromEntries([...text.matchAll(/^spacekv_thread_busy_seconds_total\{thread="(\w+)"\} (\S+)$/gm)].map(([, thread, value]) => [thread, Number(value)]));
  };
  const earlier = await busy();
  expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space busy key k attributes string s' } }), 201);
  await Promise.all(Array.from({ length: 200 }, (_, i) => call(srv.url, 'PUT', objectPath('busy', `k${i}`), { body: { s: 'x'.repeat(100) } })));
  expectOk(await call(srv.url, 'GET', '/v1/spaces/busy/objects?limit=100'), 200); // a list page runs on a search thread
  const later = await busy();
  const upTo = (performance.now() - startedAt) / 1000;
  assert.deepEqual(Object.keys(later).sort(), ['event_loop', 'search', 'writer']);
  for (const thread of ['writer', 'search', 'event_loop']) {
    assert.ok((later[thread] ?? 0) > (earlier[thread] ?? 0), `${thread}: busy time grew with the work (${earlier[thread]} -> ${later[thread]})`);
  }
  for (const thread of ['writer', 'search']) assert.ok((later[thread] ?? 0) <= upTo, `${thread}: busy ${later[thread]} s, at most the ${upTo} s since the server started`);
  assert.ok((later.event_loop ?? 0) <= performance.now() / 1000, 'the event loop was busy no longer than the process has run');
});
