/**
 * Proves the client's search API against a real server over the WebSocket protocol: `search`
 * iterates every match across pages (limit smaller than the result), typed through `db.space()`;
 * declared indexes are built when the space is first used and `explain` then reports them;
 * sortedSearch, count, list (prefix, reverse), groupMutate and groupDel answer as the server does;
 * bad queries reject with the catalogue's codes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type SpacekvClient, SpacekvError, connect, defineSpace, t } from '../src/index.js';
import { type TestServer, closeClient, startTestServer, teardown } from './support.js';

const people = defineSpace('people', {
  key: 'username',
  attributes: { last: t.string(), age: t.int(), tags: t.set(t.string()) },
  indexes: ['last', 'tags'],
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof SpacekvError && err.code === code);
}

describe('client search', () => {
  let server: TestServer;
  let db: SpacekvClient;

  before(async () => {
    server = await startTestServer();
    db = await connect(server.url);
    const space = await db.space(defineSpace('people', { key: 'username', attributes: { last: t.string(), age: t.int(), tags: t.set(t.string()) } }));
    await db.window(Array.from({ length: 50 }, (_, i) => i), 64, (i) =>
      space.put(`u${String(i).padStart(2, '0')}`, { last: i % 2 ? 'Smith' : 'Jones', age: 20 + (i % 10), tags: i % 5 ? [] : ['vip'] }));
  });
  after(() => teardown(() => closeClient(db), () => server?.stop()));

  it('declared indexes are built online on first use; search pages transparently and is typed', async () => {
    assert.deepEqual(await db.explain('people', { last: 'Smith' }), { kind: 'scan' });
    const space = await db.space(people);
    assert.deepEqual((await db.describeSpace('people')).indexes, ['last', 'tags']);
    assert.deepEqual(await db.explain('people', { last: 'Smith' }), { kind: 'index', attribute: 'last' });
    assert.deepEqual(await db.explain('people', { tags: { contains: 'vip' } }, 'count'), { kind: 'index', attribute: 'tags', counted_from_index: true });
    const smiths = await collect(space.search({ last: 'Smith' }, { limit: 7 }));
    assert.equal(smiths.length, 25);
    assert.deepEqual(smiths.map((o) => o.key), Array.from({ length: 25 }, (_, i) => `u${String(2 * i + 1).padStart(2, '0')}`));
    const ages: number[] = smiths.map((o) => Number(o.attributes.age));
    assert.ok(ages.every((a) => a >= 20 && a < 30));
    const page = await db.searchPage('people', { age: { gte: 28 } }, { limit: 3, select: ['age'], explain: true });
    assert.equal(page.objects.length, 3);
    assert.deepEqual(page.objects[0]?.attributes, { age: 28 });
    assert.deepEqual(page.plan, { kind: 'scan' });
    assert.ok(page.cursor);
  });

  it('sortedSearch, count and list', async () => {
    const space = await db.space(people);
    const oldest = await space.sortedSearch({ last: 'Jones' }, 'age', { order: 'desc', limit: 3 });
    assert.deepEqual(oldest.map((o) => o.key), ['u48', 'u38', 'u28']);
    assert.equal(await space.count({ tags: { contains: 'vip' } }), 10);
    assert.equal(await db.count('people'), 50);
    const listed = await collect(db.list('people', { prefix: 'u4', reverse: true, limit: 4, select: [] }));
    assert.deepEqual(listed.map((o) => o.key), ['u49', 'u48', 'u47', 'u46', 'u45', 'u44', 'u43', 'u42', 'u41', 'u40']);
    const range = await collect(db.list('people', { start: 'u10', end: 'u13' }));
    assert.deepEqual(range.map((o) => o.key), ['u10', 'u11', 'u12']);
  });

  it('groupMutate and groupDel report matched and changed', async () => {
    const space = await db.space(people);
    assert.deepEqual(await space.groupMutate({ tags: { contains: 'vip' } }, [{ add: { age: 100 } }]), { matched: 10, changed: 10 });
    assert.equal(await space.count({ age: { gte: 100 } }), 10);
    assert.deepEqual(await space.groupDel({ age: { gte: 100 } }), { matched: 10, changed: 10 });
    assert.equal(await db.count('people'), 40);
  });

  it('bad queries reject with stable codes', async () => {
    await rejectsWith(db.count('people', { nope: 1 }), 'unknown_attribute');
    await rejectsWith(db.count('people', { age: 'old' }), 'invalid_predicate');
    await rejectsWith(db.count('people', { last: { regex: '[' } }), 'invalid_predicate');
    await rejectsWith(db.searchPage('people', {}, { limit: 5000 }), 'invalid_limit');
    await rejectsWith(db.searchPage('people', {}, { cursor: '!!' }), 'invalid_cursor');
  });
});
