/**
 * Proves the client reads like HyperDex's Python client against a real server over the WebSocket
 * protocol: a HyperDex schema file's partitioning clauses come back as warnings; the HyperDex-named
 * aliases (atomicAdd, stringAppend, listLpush, mapAdd, mapStringAppend, documentRename, ...) send
 * the mutation HyperDex means, on attributes and on document paths; condPutOrCreate creates or
 * conditionally puts; rmIndex drops an index (explain turns to a scan, answers stay); and the same
 * rm_index and add_space warnings reach REST.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CmpFailError, type SpacekvClient, SpacekvError, connect } from '../src/index.js';
import { type TestServer, closeClient, startTestServer, teardown } from './support.js';

describe('client: HyperDex names', () => {
  let server: TestServer;
  let db: SpacekvClient;

  before(async () => {
    server = await startTestServer();
    db = await connect(server.url);
  });
  after(() => teardown(() => closeClient(db), () => server?.stop()));

  it('a HyperDex schema loads with warnings for what spacekv ignores', async () => {
    const reply = await fetch(`${server.url}/v1/spaces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-spacekv-schema' },
      body: 'space hd key k attribute string name, int n, map(string, string) tags, map(string, int) counts, list(string) l, document info\n'
        + 'subspace name create 4 partitions tolerate 1 failure',
    });
    assert.equal(reply.status, 201);
    const body = (await reply.json()) as { warnings?: string[] };
    assert.equal(body.warnings?.length, 3);
  });

  it('aliases send the mutation HyperDex means, on attributes and on document paths', async () => {
    await db.put('hd', 'a', { name: 'b', 'info.visits': 1 });
    await db.atomicAdd('hd', 'a', { n: 5, 'info.visits': 2 });
    await db.stringAppend('hd', 'a', { name: 'c' });
    await db.stringPrepend('hd', 'a', { name: 'a' });
    await db.listLpush('hd', 'a', { l: 'x' });
    await db.mapAdd('hd', 'a', { tags: { k: 'v' } });
    await db.mapStringAppend('hd', 'a', { tags: { k: '!' } });
    await db.mapAtomicAdd('hd', 'a', { counts: { hits: 3 } });
    await db.documentRename('hd', 'a', { 'info.visits': 'info.seen' });
    const after = await db.get('hd', 'a');
    assert.deepEqual(after?.attributes, { name: 'abc', n: 5, tags: { k: 'v!' }, counts: { hits: 3 }, l: ['x'], info: { seen: 3 } });
    await db.documentUnset('hd', 'a', { 'info.seen': true });
    assert.deepEqual((await db.getPartial('hd', 'a', ['info', 'info.seen']))?.attributes, { info: {}, 'info.seen': null });
    await assert.rejects(db.atomicAdd('hd', 'a', { n: 1 }, { if: { name: 'zzz' } }), (err: unknown) => err instanceof CmpFailError);
  });

  it('condPutOrCreate creates an absent object, and puts an existing one only if the condition holds', async () => {
    const created = await db.condPutOrCreate('hd', 'c', { n: 1 }, { n: 10 });
    assert.equal(created.created, true);
    await assert.rejects(db.condPutOrCreate('hd', 'c', { n: 1 }, { n: 20 }), (err: unknown) => err instanceof CmpFailError);
    await db.condPutOrCreate('hd', 'c', { n: 10 }, { n: 20 });
    assert.equal((await db.get('hd', 'c'))?.attributes.n, 20);
  });

  it('rmIndex drops an index on a document path; REST DELETE .../indexes/:attribute does the same', async () => {
    for (let i = 0; i < 20; i++) await db.put('hd', `p${i}`, { 'info.team': i % 2 ? 'red' : 'blue' });
    await db.addIndex('hd', 'info.team');
    assert.deepEqual(await db.explain('hd', { 'info.team': 'red' }), { kind: 'index', attribute: 'info.team' });
    assert.equal(await db.count('hd', { 'info.team': 'red' }), 10);
    const described = await db.rmIndex('hd', 'info.team');
    assert.equal(described.indexes, undefined);
    assert.deepEqual(await db.explain('hd', { 'info.team': 'red' }), { kind: 'scan' });
    assert.equal(await db.count('hd', { 'info.team': 'red' }), 10);
    await db.addIndex('hd', 'n');
    const reply = await fetch(`${server.url}/v1/spaces/hd/indexes/n`, { method: 'DELETE' });
    assert.equal(reply.status, 200);
    assert.equal((await db.describeSpace('hd')).indexes, undefined);
    await assert.rejects(db.rmIndex('nope', 'n'), (err: unknown) => err instanceof SpacekvError && err.code === 'unknown_space');
  });
});
