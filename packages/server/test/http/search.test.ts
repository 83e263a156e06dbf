// Proves the REST search routes (docs/architecture.md §5): POST /v1/spaces/:space/search pages with cursors and
// becomes a sorted_search with sort_by; /count; /delete and /mutate run group operations; GET
// .../objects lists by prefix and reverse; POST .../indexes builds an index on a space with data,
// after which `?explain=1` reports it and /metrics shows the build's progress; bad queries answer 400
// with stable codes (unknown attribute, wrong type, invalid regex, limit out of range, bad cursor)
// and the server keeps serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, expectError, expectOk } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

interface Page {
  readonly objects: { readonly key: string; readonly version: number; readonly attributes: Record<string, unknown> }[];
  readonly cursor?: string;
  readonly plan?: unknown;
}

let srv: TestServer;

before(async () => {
  srv = await startTestServer('search');
  expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space people key k attributes string last, int age, set(string) tags' } }), 201);
  await Promise.all(Array.from({ length: 30 }, (_, i) => call(srv.url, 'PUT', `/v1/spaces/people/objects/p${String(i).padStart(2, '0')}`, {
    body: { last: i % 3 ? 'Smith' : 'Jones', age: 20 + (i % 6), tags: i % 4 ? [] : ['vip'] },
  })));
});
after(async () => {
  await srv.stop();
});

const post = (path: string, body: unknown) => call(srv.url, 'POST', `/v1/spaces/people/${path}`, { body });

test('search pages by cursor; sort_by makes a sorted_search; count counts', async () => {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = expectOk<Page>(await post('search', { where: { last: 'Jones' }, limit: 4, ...(cursor ? { cursor } : {}) }), 200);
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.cursor;
  } while (cursor);
  assert.deepEqual(keys, ['p00', 'p03', 'p06', 'p09', 'p12', 'p15', 'p18', 'p21', 'p24', 'p27']);
  const sorted = expectOk<Page>(await post('search', { where: { last: 'Jones' }, sort_by: 'age', order: 'desc', limit: 2, select: ['age'] }), 200);
  assert.deepEqual(sorted.objects.map((o) => [o.key, o.attributes]), [['p27', { age: 23 }], ['p21', { age: 23 }]]); // ties: key, descending too
  assert.deepEqual(expectOk(await post('count', { where: { tags: { contains: 'vip' } } }), 200), { ok: true, count: 8 });
});

test('an index built on a space with data is reported by ?explain=1 and in /metrics', async () => {
  assert.deepEqual(expectOk<Page>(await call(srv.url, 'POST', '/v1/spaces/people/search?explain=1', { body: { where: { last: 'Smith' } } }), 200).plan, { kind: 'scan' });
  const built = expectOk<{ space: { indexes: string[] } }>(await post('indexes', { attribute: 'last' }), 200);
  assert.deepEqual(built.space.indexes, ['last']);
  const page = expectOk<Page>(await call(srv.url, 'POST', '/v1/spaces/people/search?explain=1', { body: { where: { last: 'Smith' }, limit: 100 } }), 200);
  assert.deepEqual(page.plan, { kind: 'index', attribute: 'last' });
  assert.equal(page.objects.length, 20);
  const counted = expectOk(await post('count', { where: { last: 'Smith' }, explain: true }), 200);
  assert.deepEqual(counted, { ok: true, count: 20, plan: { kind: 'index', attribute: 'last', counted_from_index: true } });
  const metrics = await call(srv.url, 'GET', '/metrics');
  assert.match(metrics.text, /spacekv_index_build_objects\{space="people",attribute="last"\} 30/);
});

test('group mutate and delete; list by prefix in reverse', async () => {
  assert.deepEqual(expectOk(await post('mutate', { where: { age: 25 }, mutations: [{ set: { last: 'Old' } }] }), 200), { ok: true, matched: 5, changed: 5 });
  assert.deepEqual(expectOk(await post('delete', { where: { last: 'Old' } }), 200), { ok: true, matched: 5, changed: 5 });
  const listed = expectOk<Page>(await call(srv.url, 'GET', '/v1/spaces/people/objects?prefix=p1&reverse=1&limit=3&select='), 200);
  assert.deepEqual(listed.objects.map((o) => [o.key, o.attributes]), [['p19', {}], ['p18', {}], ['p16', {}]]);
  assert.ok(listed.cursor);
  const next = expectOk<Page>(await call(srv.url, 'GET', `/v1/spaces/people/objects?prefix=p1&reverse=1&limit=3&select=&cursor=${listed.cursor}`), 200);
  assert.deepEqual(next.objects.map((o) => o.key), ['p15', 'p14', 'p13']);
});

test('bad queries answer 400 with stable codes, and the server keeps serving', async () => {
  const cases: [string, unknown, string][] = [
    ['search', { where: { nope: 1 } }, 'unknown_attribute'],
    ['search', { where: { age: 'old' } }, 'invalid_predicate'],
    ['search', { where: { last: { regex: '(a' } } }, 'invalid_predicate'],
    ['search', { limit: 0 }, 'invalid_limit'],
    ['search', { limit: 100_000 }, 'invalid_limit'],
    ['search', { cursor: 'bm90IGEgY3Vyc29y' }, 'invalid_cursor'],
    ['search', { space: 'other' }, 'bad_request'],
    ['count', { where: { age: { prefix: 'x' } } }, 'invalid_predicate'],
    ['mutate', { where: {}, mutations: [{ add: { last: 1 } }] }, 'invalid_mutation'],
    ['indexes', { attribute: 'nope' }, 'unknown_attribute'],
  ];
  for (const [path, body, code] of cases) expectError(await post(path, body), 400, code);
  expectError(await call(srv.url, 'GET', '/v1/spaces/people/objects?limit=abc'), 400, 'invalid_limit');
  expectError(await call(srv.url, 'POST', '/v1/spaces/people/search?explain=maybe', { body: {} }), 400, 'bad_request');
  expectError(await call(srv.url, 'POST', '/v1/spaces/nowhere/count', { body: {} }), 404, 'unknown_space');
  assert.equal(expectOk<{ count: number }>(await post('count', {}), 200).count, 25);
});
