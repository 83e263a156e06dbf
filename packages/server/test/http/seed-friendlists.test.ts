// Proves the HyperDex friendlists tutorial (shared seed 004) works over REST, as the tutorial runs
// it: the space is created from the tutorial's exact DSL (as {"schema": ...} JSON and as application/x-spacekv-schema),
// John Smith, John Doe and Brian Jones are put, friendships are added both ways with concurrent
// set_add PATCHes, every object reads back with the expected friend set (missing attributes read as
// their defaults), a friend's name is fetched through the set, `space rt key x` is added and removed
// again (rm_space) taking its objects with it, `space userlocks key username` works as a key-only
// space, and the tutorial's cleanup removes the spaces, after which friendlists is created anew from
// the tutorial's multi-line DSL sent as application/x-spacekv-schema, empty.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ObjectBody, type WrittenBody, call, expectError, expectOk, objectPath } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

const FRIENDLISTS_DSL = 'space friendlists key username attributes string first, string last, set(string) friends';
/** The tutorial's multi-line form of the same schema. */
const FRIENDLISTS_DSL_MULTILINE = `
space friendlists
key username
attributes
   string first,
   string last,
   set(string) friends
`;

interface SpaceBody {
  readonly ok: true;
  readonly space: { readonly name: string; readonly key: { readonly name: string; readonly type: string }; readonly attributes: readonly { readonly name: string; readonly type: string }[] };
}

const EXPECTED_SCHEMA = {
  name: 'friendlists',
  key: { name: 'username', type: 'string' },
  attributes: [
    { name: 'first', type: 'string' },
    { name: 'last', type: 'string' },
    { name: 'friends', type: 'set(string)' },
  ],
};

let srv: TestServer;
before(async () => {
  srv = await startTestServer('seed-friendlists');
});
after(async () => {
  await srv.stop();
});

async function get(key: string): Promise<ObjectBody> {
  return expectOk<ObjectBody>(await call(srv.url, 'GET', objectPath('friendlists', key)), 200);
}

async function setAdd(key: string, friend: string): Promise<WrittenBody> {
  return expectOk<WrittenBody>(await call(srv.url, 'PATCH', objectPath('friendlists', key), { body: { mutations: [{ set_add: { friends: friend } }] } }), 200);
}

test('the friendlists tutorial over REST', async (t) => {
  await t.test('add_space from the exact seed DSL as {"schema": ...} → 201 with the parsed schema', async () => {
    const created = expectOk<SpaceBody>(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: FRIENDLISTS_DSL } }), 201);
    assert.deepEqual(created.space, EXPECTED_SCHEMA);
    const described = expectOk<SpaceBody>(await call(srv.url, 'GET', '/v1/spaces/friendlists'), 200);
    assert.deepEqual(described.space, EXPECTED_SCHEMA);
  });

  await t.test('adding it again (the multi-line application/x-spacekv-schema form) → 409 space_exists', async () => {
    expectError(await call(srv.url, 'POST', '/v1/spaces', { body: FRIENDLISTS_DSL_MULTILINE, contentType: 'application/x-spacekv-schema' }), 409, 'space_exists');
  });

  await t.test('put John Smith, John Doe and Brian Jones → 201 each, versions increasing', async () => {
    const people: readonly [string, string, string][] = [['jsmith1', 'John', 'Smith'], ['jd', 'John', 'Doe'], ['bjones1', 'Brian', 'Jones']];
    let lastVersion = 0;
    for (const [username, first, last] of people) {
      const reply = await call(srv.url, 'PUT', objectPath('friendlists', username), { body: { first, last } });
      const written = expectOk<WrittenBody>(reply, 201);
      assert.equal(written.key, username);
      assert.equal(written.created, true);
      assert.ok(written.version > lastVersion, `versions increase: ${written.version} after ${lastVersion}`);
      assert.equal(reply.headers.get('etag'), `"${written.version}"`);
      lastVersion = written.version;
    }
    const jsmith = await get('jsmith1');
    assert.deepEqual(jsmith.attributes, { first: 'John', last: 'Smith', friends: [] }, 'a missing set reads as the empty set');
  });

  await t.test('set_add friendships both ways, concurrently, as the async tutorial does', async () => {
    const adds: readonly [string, string][] = [
      ['jsmith1', 'bjones1'], ['bjones1', 'jsmith1'],
      ['jsmith1', 'jd'], ['jd', 'jsmith1'],
    ];
    const results = await Promise.all(adds.map(([key, friend]) => setAdd(key, friend)));
    for (const written of results) assert.equal(written.created, false);
    // set_add is idempotent: adding a friend twice leaves one element.
    const again = await setAdd('jd', 'jsmith1');
    assert.deepEqual(again.attributes, { first: 'John', last: 'Doe', friends: ['jsmith1'] });
  });

  await t.test('get them back with the expected sets', async () => {
    assert.deepEqual((await get('jsmith1')).attributes, { first: 'John', last: 'Smith', friends: ['bjones1', 'jd'] });
    assert.deepEqual((await get('jd')).attributes, { first: 'John', last: 'Doe', friends: ['jsmith1'] });
    assert.deepEqual((await get('bjones1')).attributes, { first: 'Brian', last: 'Jones', friends: ['jsmith1'] });
  });

  await t.test("fetch the first names of John Smith's friends in parallel: Brian, John", async () => {
    const { friends } = (await get('jsmith1')).attributes;
    assert.ok(Array.isArray(friends));
    const firsts = await Promise.all((friends as string[]).map(async (username) => (await get(username)).attributes.first));
    assert.deepEqual(firsts.sort(), ['Brian', 'John']);
  });

  await t.test('set_remove takes a friend out again', async () => {
    const written = expectOk<WrittenBody>(
      await call(srv.url, 'PATCH', objectPath('friendlists', 'jsmith1'), { body: { mutations: [{ set_remove: { friends: 'jd' } }] } }),
      200,
    );
    assert.deepEqual(written.attributes, { first: 'John', last: 'Smith', friends: ['bjones1'] });
  });

  await t.test('space rt key x: added as application/x-spacekv-schema DSL, used, then rm_space', async () => {
    const created = expectOk<SpaceBody>(await call(srv.url, 'POST', '/v1/spaces', { body: 'space rt key x', contentType: 'application/x-spacekv-schema' }), 201);
    assert.deepEqual(created.space, { name: 'rt', key: { name: 'x', type: 'string' }, attributes: [] });
    expectOk<WrittenBody>(await call(srv.url, 'PUT', objectPath('rt', 'only-a-key'), { body: {} }), 201);
    assert.deepEqual(expectOk<ObjectBody>(await call(srv.url, 'GET', objectPath('rt', 'only-a-key')), 200).attributes, {});

    const removed = expectOk<{ ok: true; space: string; removed: boolean }>(await call(srv.url, 'DELETE', '/v1/spaces/rt'), 200);
    assert.deepEqual(removed, { ok: true, space: 'rt', removed: true });
    expectError(await call(srv.url, 'GET', '/v1/spaces/rt'), 404, 'unknown_space');
    expectError(await call(srv.url, 'GET', objectPath('rt', 'only-a-key')), 404, 'unknown_space');
    expectError(await call(srv.url, 'DELETE', '/v1/spaces/rt'), 404, 'unknown_space');

    // The name is free again, and the new space starts empty.
    expectOk<SpaceBody>(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space rt key x' } }), 201);
    expectError(await call(srv.url, 'GET', objectPath('rt', 'only-a-key')), 404, 'not_found');
  });

  await t.test('space userlocks key username: a key-only space, as in the tutorial', async () => {
    expectOk<SpaceBody>(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: '\nspace userlocks\nkey username\n' } }), 201);
    expectOk(await call(srv.url, 'PUT', objectPath('userlocks', 'jsmith1'), { headers: { 'if-none-match': '*' } }), 201);
    expectError(await call(srv.url, 'PUT', objectPath('userlocks', 'jsmith1'), { headers: { 'if-none-match': '*' } }), 412, 'exists');
  });

  await t.test('list_spaces shows friendlists, rt and userlocks; friendlists is untouched by all of this', async () => {
    const listed = expectOk<{ ok: true; spaces: readonly { name: string }[] }>(await call(srv.url, 'GET', '/v1/spaces'), 200);
    assert.deepEqual(listed.spaces.map((s) => s.name).sort(), ['friendlists', 'rt', 'userlocks']);
    assert.deepEqual((await get('bjones1')).attributes, { first: 'Brian', last: 'Jones', friends: ['jsmith1'] });
  });

  await t.test("the tutorial's cleanup: rm_space friendlists and userlocks; friendlists again from application/x-spacekv-schema DSL starts empty", async () => {
    expectOk(await call(srv.url, 'DELETE', '/v1/spaces/friendlists'), 200);
    expectOk(await call(srv.url, 'DELETE', '/v1/spaces/userlocks'), 200);
    expectError(await call(srv.url, 'GET', objectPath('friendlists', 'jsmith1')), 404, 'unknown_space');
    const created = expectOk<SpaceBody>(await call(srv.url, 'POST', '/v1/spaces', { body: FRIENDLISTS_DSL_MULTILINE, contentType: 'application/x-spacekv-schema' }), 201);
    assert.deepEqual(created.space, EXPECTED_SCHEMA);
    expectError(await call(srv.url, 'GET', objectPath('friendlists', 'jsmith1')), 404, 'not_found');
    const listed = expectOk<{ ok: true; spaces: readonly { name: string }[] }>(await call(srv.url, 'GET', '/v1/spaces'), 200);
    assert.deepEqual(listed.spaces.map((s) => s.name).sort(), ['friendlists', 'rt']);
  });
});
