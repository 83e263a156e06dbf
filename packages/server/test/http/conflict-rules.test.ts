// Proves the wrpme conflict rules (shared seed 003) hold over REST, as docs/architecture.md §5 maps them to
// HTTP: create-if-absent (PUT + If-None-Match: *) fails `exists` on a present key and changes
// nothing; a plain PUT (update) always succeeds and the last one wins; get_and_put
// (?return=previous) answers the value it replaced; compare-and-swap (If-Match: "<version>")
// applies only on the current version and otherwise answers `cmp_fail` with that version; the ETag
// is the version; DELETE honours If-Match; 201 means created and 200 updated; a missing key is 404
// `not_found`; and `cond_put` / `cond_del` through POST /v1/ops apply only when their predicate holds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ObjectBody, type Reply, type WrittenBody, call, expectError, expectOk, objectPath } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => {
  srv = await startTestServer('conflict-rules');
  expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space entries key name attributes string value, int n' } }), 201);
});
after(async () => {
  await srv.stop();
});

const path = (key: string): string => objectPath('entries', key);

async function read(key: string): Promise<{ body: ObjectBody; reply: Reply }> {
  const reply = await call(srv.url, 'GET', path(key));
  return { body: expectOk<ObjectBody>(reply, 200), reply };
}

test('GET of a key that was never written → 404 not_found (version 0), no ETag', async () => {
  const reply = await call(srv.url, 'GET', path('never-written'));
  const error = expectError(reply, 404, 'not_found');
  assert.equal(error.version, 0);
  assert.equal(reply.headers.get('etag'), null);
});

test('put fails if the entry already exists (If-None-Match: *): 412 exists, value unchanged', async () => {
  // Client A adds "car" = roadster.
  const created = await call(srv.url, 'PUT', path('car'), { body: { value: 'roadster' }, headers: { 'if-none-match': '*' } });
  const first = expectOk<WrittenBody>(created, 201);
  assert.equal(first.created, true);
  // Client B tries to add "car" = sedan: refused.
  const refused = await call(srv.url, 'PUT', path('car'), { body: { value: 'sedan' }, headers: { 'if-none-match': '*' } });
  const error = expectError(refused, 412, 'exists');
  assert.equal(error.version, first.version, 'exists carries the current version');
  // Client A still reads roadster, at the version it wrote.
  const { body, reply } = await read('car');
  assert.equal(body.attributes.value, 'roadster');
  assert.equal(body.version, first.version);
  assert.equal(reply.headers.get('etag'), `"${first.version}"`);
});

test('update (plain PUT) always succeeds and the last one wins; 201 on create, 200 on update', async () => {
  const a = await call(srv.url, 'PUT', path('stock3'), { body: { value: '503.5' } });
  const created = expectOk<WrittenBody>(a, 201);
  assert.equal(created.created, true);
  const b = await call(srv.url, 'PUT', path('stock3'), { body: { value: '504.5' } });
  const updated = expectOk<WrittenBody>(b, 200);
  assert.equal(updated.created, false);
  assert.ok(updated.version > created.version);
  assert.equal(b.headers.get('etag'), `"${updated.version}"`);
  const { body } = await read('stock3');
  assert.equal(body.attributes.value, '504.5');
  assert.equal(body.version, updated.version);
});

test('PUT is an upsert: attributes it does not name keep their values', async () => {
  expectOk(await call(srv.url, 'PUT', path('upsert'), { body: { value: 'v', n: 7 } }), 201);
  expectOk(await call(srv.url, 'PUT', path('upsert'), { body: { n: 8 } }), 200);
  assert.deepEqual((await read('upsert')).body.attributes, { value: 'v', n: 8 });
});

test('get_and_put (PUT ?return=previous) answers the replaced object, or null when there was none', async () => {
  const fresh = expectOk<WrittenBody>(await call(srv.url, 'PUT', `${path('gp')}?return=previous`, { body: { value: 'one' } }), 201);
  assert.equal(fresh.previous, null);
  const second = expectOk<WrittenBody>(await call(srv.url, 'PUT', `${path('gp')}?return=previous`, { body: { value: 'two' } }), 200);
  assert.deepEqual(second.previous, { version: fresh.version, attributes: { value: 'one', n: 0 } });
  assert.equal((await read('gp')).body.attributes.value, 'two');
});

test('compare_and_swap (If-Match: "<version>") succeeds only on the current version', async () => {
  const v1 = expectOk<WrittenBody>(await call(srv.url, 'PUT', path('cas'), { body: { value: 'v1' } }), 201).version;
  const v2reply = await call(srv.url, 'PUT', path('cas'), { body: { value: 'v2' }, headers: { 'if-match': `"${v1}"` } });
  const v2 = expectOk<WrittenBody>(v2reply, 200).version;
  assert.ok(v2 > v1);
  assert.equal(v2reply.headers.get('etag'), `"${v2}"`);

  // A writer still holding v1 loses, learns the current version, and nothing changes.
  const stale = expectError(await call(srv.url, 'PUT', path('cas'), { body: { value: 'stale' }, headers: { 'if-match': `"${v1}"` } }), 412, 'cmp_fail');
  assert.equal(stale.version, v2);
  const { body, reply } = await read('cas');
  assert.equal(body.attributes.value, 'v2');
  assert.equal(reply.headers.get('etag'), `"${v2}"`);

  // The ETag of a GET is exactly what If-Match takes back; an unquoted version works too.
  const v3 = expectOk<WrittenBody>(await call(srv.url, 'PUT', path('cas'), { body: { value: 'v3' }, headers: { 'if-match': reply.headers.get('etag') ?? '' } }), 200).version;
  expectOk(await call(srv.url, 'PUT', path('cas'), { body: { value: 'v4' }, headers: { 'if-match': String(v3) } }), 200);
  assert.equal((await read('cas')).body.attributes.value, 'v4');
});

test('compare_and_swap on a missing key → 404 not_found, and it creates nothing', async () => {
  expectError(await call(srv.url, 'PUT', path('cas-missing'), { body: { value: 'x' }, headers: { 'if-match': '"1"' } }), 404, 'not_found');
  expectError(await call(srv.url, 'GET', path('cas-missing')), 404, 'not_found');
});

test('DELETE honours If-Match: the wrong version is 412 cmp_fail and keeps the object; the right one deletes', async () => {
  const v = expectOk<WrittenBody>(await call(srv.url, 'PUT', path('del'), { body: { value: 'doomed' } }), 201).version;
  const wrong = expectError(await call(srv.url, 'DELETE', path('del'), { headers: { 'if-match': `"${v + 1000}"` } }), 412, 'cmp_fail');
  assert.equal(wrong.version, v);
  assert.equal((await read('del')).body.attributes.value, 'doomed');
  const deleted = expectOk<{ ok: true; key: string; version: number }>(await call(srv.url, 'DELETE', path('del'), { headers: { 'if-match': `"${v}"` } }), 200);
  assert.equal(deleted.key, 'del');
  assert.ok(deleted.version > v, 'the deletion has its own seq');
  expectError(await call(srv.url, 'GET', path('del')), 404, 'not_found');
  expectError(await call(srv.url, 'DELETE', path('del')), 404, 'not_found');
});

test('DELETE ?return=previous (get_and_del) answers the deleted object', async () => {
  const v = expectOk<WrittenBody>(await call(srv.url, 'PUT', path('gd'), { body: { value: 'last words', n: 3 } }), 201).version;
  const deleted = expectOk<{ ok: true; previous: { version: number; attributes: Record<string, unknown> } }>(
    await call(srv.url, 'DELETE', `${path('gd')}?return=previous`), 200);
  assert.deepEqual(deleted.previous, { version: v, attributes: { value: 'last words', n: 3 } });
  expectError(await call(srv.url, 'GET', path('gd')), 404, 'not_found');
});

test('after a delete, If-None-Match: * creates again (201)', async () => {
  expectOk(await call(srv.url, 'PUT', path('again'), { body: { value: 'a' } }), 201);
  expectOk(await call(srv.url, 'DELETE', path('again')), 200);
  const recreated = expectOk<WrittenBody>(await call(srv.url, 'PUT', path('again'), { body: { value: 'b' }, headers: { 'if-none-match': '*' } }), 201);
  assert.equal(recreated.created, true);
});

test('POST /v1/ops cond_put applies only when its predicate holds', async () => {
  const v = expectOk<WrittenBody>(await call(srv.url, 'PUT', path('cp'), { body: { value: 'roadster', n: 1 } }), 201).version;
  const refused = expectError(await call(srv.url, 'POST', '/v1/ops', {
    body: { op: 'cond_put', space: 'entries', key: 'cp', if: { value: 'sedan' }, attributes: { n: 99 } },
  }), 412, 'cmp_fail');
  assert.equal(refused.version, v);
  assert.equal((await read('cp')).body.attributes.n, 1);

  const applied = expectOk<WrittenBody>(await call(srv.url, 'POST', '/v1/ops', {
    body: { op: 'cond_put', space: 'entries', key: 'cp', if: { value: 'roadster', n: { gte: 1 } }, attributes: { n: 2 } },
  }), 200);
  assert.ok(applied.version > v);
  assert.deepEqual((await read('cp')).body.attributes, { value: 'roadster', n: 2 });

  expectError(await call(srv.url, 'POST', '/v1/ops', {
    body: { op: 'cond_put', space: 'entries', key: 'cp-missing', if: { n: 0 }, attributes: { n: 1 } },
  }), 404, 'not_found');
});

test('POST /v1/ops cond_del deletes only when its predicate holds', async () => {
  expectOk(await call(srv.url, 'PUT', path('cd'), { body: { value: 'keep', n: 5 } }), 201);
  expectError(await call(srv.url, 'POST', '/v1/ops', { body: { op: 'cond_del', space: 'entries', key: 'cd', if: { n: { lt: 5 } } } }), 412, 'cmp_fail');
  assert.equal((await read('cd')).body.attributes.value, 'keep');
  expectOk(await call(srv.url, 'POST', '/v1/ops', { body: { op: 'cond_del', space: 'entries', key: 'cd', if: { n: { lte: 5 } } } }), 200);
  expectError(await call(srv.url, 'GET', path('cd')), 404, 'not_found');
});

test('POST /v1/ops put_if_not_exist and get answer like their REST routes', async () => {
  expectOk(await call(srv.url, 'POST', '/v1/ops', { body: { op: 'put_if_not_exist', space: 'entries', key: 'op', attributes: { value: 'first' } } }), 201);
  expectError(await call(srv.url, 'POST', '/v1/ops', { body: { op: 'put_if_not_exist', space: 'entries', key: 'op', attributes: { value: 'second' } } }), 412, 'exists');
  const got = expectOk<ObjectBody>(await call(srv.url, 'POST', '/v1/ops', { body: { op: 'get', space: 'entries', key: 'op' } }), 200);
  assert.equal(got.attributes.value, 'first');
});

test('conditional headers cannot be combined', async () => {
  expectError(await call(srv.url, 'PUT', path('car'), { body: { value: 'x' }, headers: { 'if-match': '"1"', 'if-none-match': '*' } }), 400, 'bad_request');
  expectError(await call(srv.url, 'PUT', `${path('car')}?return=previous`, { body: { value: 'x' }, headers: { 'if-none-match': '*' } }), 400, 'bad_request');
  assert.equal((await read('car')).body.attributes.value, 'roadster');
});
