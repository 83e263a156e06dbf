/**
 * Proves the typed model layer at run time: `client.space(defineSpace(...))` creates the space, a
 * second declaration of the same space (from this client, another, or two racing) succeeds, a
 * declaration that differs (an attribute's type, a missing or extra attribute, the key) rejects
 * with SchemaDriftError naming the difference, and typed get/put/mutate round-trip values of every
 * type (string, int including bigint beyond 2^53, float, bool, bytes, timestamp, document, list,
 * set, map) over an int-keyed space too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SchemaDriftError, type SpacekvClient, SpacekvError, connect, defineSpace, t } from '../src/index.js';
import { type TestServer, closeClient, startTestServer, teardown, withTimeout } from './support.js';

interface Profile {
  readonly bio: string;
  readonly links: readonly { readonly url: string; readonly clicks: number | bigint }[];
  readonly extra: null | boolean;
}

const people = defineSpace('people', {
  key: 'username',
  attributes: {
    name: t.string(),
    age: t.int(),
    score: t.float(),
    active: t.bool(),
    avatar: t.bytes(),
    born: t.timestamp(),
    profile: t.document<Profile>(),
    visits: t.list(t.int()),
    friends: t.set(t.string()),
    ratings: t.map(t.string(), t.int()),
  },
});

const BIG = 2n ** 60n + 7n; // past 2^53: must survive the round trip exactly

async function driftError(promise: Promise<unknown>): Promise<SchemaDriftError> {
  let caught: unknown;
  try {
    await withTimeout(promise, 5_000, 'client.space() of a drifted declaration');
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SchemaDriftError, `expected a SchemaDriftError, got ${String(caught)}`);
  assert.ok(caught instanceof SpacekvError);
  return caught;
}

describe('typed spaces', () => {
  let server: TestServer;
  let db: SpacekvClient;
  let other: SpacekvClient;

  before(async () => {
    server = await startTestServer();
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    other = await withTimeout(connect(server.url), 5_000, 'connect a second client');
  });

  after(async () => {
    await teardown(() => closeClient(db), () => closeClient(other), () => server?.stop());
  });

  it('client.space(def) creates the declared space', async () => {
    await assert.rejects(db.describeSpace('people'), { code: 'unknown_space' });
    const space = await withTimeout(db.space(people), 5_000, 'client.space()');
    assert.equal(space.name, 'people');
    const described = await db.describeSpace('people');
    assert.deepEqual(described.key, { name: 'username', type: 'string' });
    assert.deepEqual(described.attributes.map((a) => [a.name, a.type]), [
      ['name', 'string'], ['age', 'int'], ['score', 'float'], ['active', 'bool'], ['avatar', 'bytes'], ['born', 'timestamp'],
      ['profile', 'document'], ['visits', 'list(int)'], ['friends', 'set(string)'], ['ratings', 'map(string, int)'],
    ]);
  });

  it('a second client.space(def) on the existing space succeeds, from this client and another', async () => {
    await withTimeout(db.space(people), 5_000, 'client.space() again');
    await withTimeout(other.space(people), 5_000, 'client.space() from another client');
  });

  it('two clients declaring a new space at once both succeed', async () => {
    const raced = defineSpace('raced', { key: 'k', attributes: { v: t.int() } });
    const [a, b] = await withTimeout(Promise.all([db.space(raced), other.space(raced)]), 5_000, 'two racing client.space()');
    assert.equal(a.name, 'raced');
    assert.equal(b.name, 'raced');
  });

  it('a declaration whose attribute type differs rejects with SchemaDriftError naming it', async () => {
    const drifted = defineSpace('people', { key: 'username', attributes: { ...people.attributes, age: t.string() } });
    const error = await driftError(db.space(drifted));
    assert.match(error.message, /attribute age: declared string, server has int/);
  });

  it('a declaration missing an attribute, or with one the server lacks, rejects naming it', async () => {
    const { ratings: _ratings, ...fewer } = people.attributes;
    const missing = await driftError(db.space(defineSpace('people', { key: 'username', attributes: fewer })));
    assert.match(missing.message, /attribute ratings: the server has map\(string, int\), not declared/);
    const extra = await driftError(db.space(defineSpace('people', { key: 'username', attributes: { ...people.attributes, nickname: t.string() } })));
    assert.match(extra.message, /attribute nickname: declared string, missing on the server/);
  });

  it('a declaration with a different key rejects naming it', async () => {
    const renamed = await driftError(db.space(defineSpace('people', { key: 'login', attributes: people.attributes })));
    assert.match(renamed.message, /key: declared string login, server has string username/);
    const retyped = await driftError(db.space(defineSpace('people', { key: 'username', keyType: 'int', attributes: people.attributes })));
    assert.match(retyped.message, /key: declared int username, server has string username/);
  });

  it('typed put and get round-trip a value of every type', async () => {
    const space = await db.space(people);
    const attributes = {
      name: 'Zoë \u{1F600}',
      age: BIG,
      score: 3.25,
      active: true,
      avatar: 'AAECAwT/',
      born: '2024-02-29T12:34:56.789Z',
      profile: { bio: 'hi', links: [{ url: 'https://example.com', clicks: 2n ** 55n }], extra: null },
      visits: [3, 1, 2, -(2n ** 62n)],
      friends: ['jd', 'bjones1', 'jd'],
      ratings: { zed: 1, amy: -(2n ** 63n) },
    };
    const written = await space.put('zoe', attributes);
    assert.equal(written.created, true);
    const read = await space.get('zoe');
    assert.ok(read);
    assert.equal(read.key, 'zoe');
    assert.equal(read.version, written.version);
    const a = read.attributes;
    assert.equal(a.name, 'Zoë \u{1F600}');
    assert.equal(a.age, BIG, 'an int past 2^53 comes back as the exact bigint');
    assert.equal(a.score, 3.25);
    assert.equal(a.active, true);
    assert.equal(a.avatar, 'AAECAwT/');
    assert.equal(a.born, '2024-02-29T12:34:56.789Z');
    assert.deepEqual(a.profile, { bio: 'hi', links: [{ url: 'https://example.com', clicks: 2n ** 55n }], extra: null });
    assert.deepEqual(a.visits, [3, 1, 2, -(2n ** 62n)], 'a list keeps its order and its big ints');
    assert.deepEqual(a.friends, ['bjones1', 'jd'], 'a set comes back sorted, without duplicates');
    assert.deepEqual(a.ratings, { amy: -(2n ** 63n), zed: 1 });
    assert.deepEqual(Object.keys(a.ratings), ['amy', 'zed'], 'map keys come back sorted');
  });

  it('unset attributes read as their defaults; a timestamp may be written as epoch milliseconds', async () => {
    const space = await db.space(people);
    // Through the untyped client: t.timestamp() types writes as string only, although model.ts
    // documents epoch milliseconds as a valid write (reported as a typing bug).
    await db.put('people', 'blank', { born: 86_400_000 });
    const read = await space.get('blank');
    assert.ok(read);
    const { profile: _profile, ...rest } = read.attributes;
    assert.deepEqual(rest, {
      name: '', age: 0, score: 0, active: false, avatar: '', born: '1970-01-02T00:00:00.000Z', visits: [], friends: [], ratings: {},
    });
  });

  it('typed mutate applies mutations of every kind in order and returns the new attributes', async () => {
    const space = await db.space(people);
    await space.put('mut', { name: 'M', age: 2n ** 53n, score: 1.5, visits: [1], friends: ['b'], ratings: { a: 1 } });
    const mutated = await space.mutate('mut', [
      { add: { age: 10 } },
      { mul: { score: 2 } },
      { append: { name: 'ax' } },
      { rpush: { visits: 2 } },
      { lpush: { visits: 0 } },
      { set_add: { friends: 'a' } },
      { set_remove: { friends: 'b' } },
      { set_union: { friends: ['c', 'd'] } },
      { map_set: { ratings: { b: 2 } } },
      { map_add: { ratings: { a: 5 } } },
      { set: { active: true } },
    ], { if: { name: 'M', age: { gte: 2n ** 53n } } });
    assert.deepEqual(
      { ...mutated.attributes, profile: undefined },
      {
        name: 'Max', age: 2n ** 53n + 10n, score: 3, active: true, avatar: '', born: mutated.attributes.born, profile: undefined,
        visits: [0, 1, 2], friends: ['a', 'c', 'd'], ratings: { a: 6, b: 2 },
      },
    );
    const read = await space.get('mut');
    assert.equal(read?.version, mutated.version);
    assert.deepEqual(read?.attributes.friends, ['a', 'c', 'd']);
  });

  it('an int-keyed space takes number and bigint keys, and keys past 2^53 round-trip exactly', async () => {
    const ticks = await db.space(defineSpace('ticks', { key: 'id', keyType: 'int', attributes: { label: t.string() } }));
    const bigKey = 2n ** 62n + 3n;
    await ticks.put(bigKey, { label: 'big' });
    await ticks.put(42, { label: 'small' });
    const big = await ticks.get(bigKey);
    assert.equal(big?.key, bigKey);
    assert.equal(big?.attributes.label, 'big');
    const small = await ticks.get(42);
    assert.equal(small?.key, 42);
    assert.equal(await ticks.get(bigKey + 1n), null);
  });

  it('a float-keyed space takes number keys over the WebSocket, lists them by value, and hands back each double exactly, in events too', async () => {
    const points = await db.space(defineSpace('points', { key: 'x', keyType: 'float', attributes: { label: t.string() } }));
    const watch = db.watch({ space: 'points', key: 2 ** 60 });
    const keys = [2 ** 60, 10, 9.5, -0.002, 0.1, 5e-324];
    for (const x of keys) await points.put(x, { label: String(x) });
    await points.put(-0, { label: 'zero' }); // the key 0
    const listed: unknown[] = [];
    for await (const o of db.list('points', { limit: 2 })) listed.push(o.key);
    assert.deepEqual(listed, [-0.002, 0, 5e-324, 0.1, 9.5, 10, 2 ** 60]);
    assert.equal((await points.get(2 ** 60))?.attributes.label, String(2 ** 60));
    assert.equal((await points.get(0))?.attributes.label, 'zero');
    const event = await withTimeout(watch.next(), 15_000, 'the put of 2^60');
    assert.ok(!event.done && Object.is(event.value.key, 2 ** 60), `the event's key is the double 2^60: ${String(event.value?.key)}`);
    await watch.return();
    await assert.rejects(db.get('points', 'NaN'), (err: unknown) => err instanceof SpacekvError && err.code === 'invalid_key');
  });
});
