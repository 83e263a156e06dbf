/**
 * Proves the client's typed errors (docs/architecture.md §3: a failed condition is a result, the client turns
 * it into a typed rejection): ExistsError and CmpFailError carry the object's current version,
 * NotFoundError on writes to an absent key, reads of an absent key resolve null, UnknownSpaceError
 * for a space that does not exist; every error is a SpacekvError with its catalogue code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CmpFailError, ExistsError, NotFoundError, type SpacekvClient, SpacekvError, UnknownSpaceError, connect,
} from '../src/index.js';
import { type TestServer, closeClient, startTestServer, teardown, withTimeout } from './support.js';

type ErrorClass = abstract new (...args: never[]) => SpacekvError;

/** Await `promise`, expecting it to reject with `Class` and `code`; returns the error. */
async function rejection(promise: Promise<unknown>, Class: ErrorClass, code: string): Promise<SpacekvError> {
  let caught: unknown;
  try {
    await withTimeout(promise, 5_000, `a ${code} rejection`);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Class, `expected a ${Class.name}, got ${String(caught)}`);
  assert.ok(caught instanceof SpacekvError && caught instanceof Error);
  assert.equal(caught.code, code);
  assert.equal(caught.name, Class.name);
  assert.ok(caught.message.length > 0, 'the error has a message');
  return caught;
}

describe('typed errors', () => {
  let server: TestServer;
  let db: SpacekvClient;

  before(async () => {
    server = await startTestServer();
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    await db.addSpace('space users key name attributes string first, int age, set(string) tags');
  });

  after(async () => {
    await teardown(() => closeClient(db), () => server?.stop());
  });

  it('putIfNotExist on a present key rejects with ExistsError carrying the current version', async () => {
    const written = await db.put('users', 'ann', { first: 'Ann' });
    const error = await rejection(db.putIfNotExist('users', 'ann', { first: 'Other' }), ExistsError, 'exists');
    assert.equal(error.details.version, written.version);
    assert.equal((await db.get('users', 'ann'))?.attributes.first, 'Ann', 'nothing was applied');
  });

  it('compareAndSwap on a stale version rejects with CmpFailError carrying the current version', async () => {
    const first = await db.put('users', 'bob', { age: 1 });
    const second = await db.put('users', 'bob', { age: 2 });
    const error = await rejection(db.compareAndSwap('users', 'bob', first.version, { age: 99 }), CmpFailError, 'cmp_fail');
    assert.equal(error.details.version, second.version);
    const swapped = await db.compareAndSwap('users', 'bob', second.version, { age: 3 });
    assert.ok(swapped.version > second.version);
  });

  it('a conditional mutate or put whose condition fails rejects with CmpFailError and the current version', async () => {
    const written = await db.put('users', 'cy', { age: 17 });
    const mutateError = await rejection(db.mutate('users', 'cy', [{ add: { age: 1 } }], { if: { age: { gte: 18 } } }), CmpFailError, 'cmp_fail');
    assert.equal(mutateError.details.version, written.version);
    const putError = await rejection(db.condPut('users', 'cy', { first: 'Someone' }, { age: 40 }), CmpFailError, 'cmp_fail');
    assert.equal(putError.details.version, written.version);
    assert.equal((await db.get('users', 'cy'))?.attributes.age, 17);
  });

  it('mutate, del and compareAndSwap of an absent key reject with NotFoundError', async () => {
    await rejection(db.mutate('users', 'nobody', [{ add: { age: 1 } }]), NotFoundError, 'not_found');
    await rejection(db.atomicAdd('users', 'nobody', { age: 1 }), NotFoundError, 'not_found');
    await rejection(db.setAdd('users', 'nobody', { tags: 'x' }), NotFoundError, 'not_found');
    await rejection(db.del('users', 'nobody'), NotFoundError, 'not_found');
    await rejection(db.compareAndSwap('users', 'nobody', 1, { age: 1 }), NotFoundError, 'not_found');
    assert.equal(await db.get('users', 'nobody'), null, 'the failed mutations created nothing');
  });

  it('get and getPartial of an absent key resolve null', async () => {
    assert.equal(await db.get('users', 'absent'), null);
    assert.equal(await db.getPartial('users', 'absent', ['first']), null);
  });

  it('operations on a space that does not exist reject with UnknownSpaceError', async () => {
    await rejection(db.get('nope', 'k'), UnknownSpaceError, 'unknown_space');
    await rejection(db.put('nope', 'k', { a: 1 }), UnknownSpaceError, 'unknown_space');
    await rejection(db.mutate('nope', 'k', [{ add: { a: 1 } }]), UnknownSpaceError, 'unknown_space');
    await rejection(db.describeSpace('nope'), UnknownSpaceError, 'unknown_space');
    await rejection(db.rmSpace('nope'), UnknownSpaceError, 'unknown_space');
  });

  it('invalid input rejects with a SpacekvError of its catalogue code', async () => {
    const wrongType = await rejection(db.put('users', 'dan', { age: 'old' }), SpacekvError, 'invalid_value');
    assert.equal(wrongType.details.attribute, 'age');
    await rejection(db.put('users', 'dan', { height: 1 }), SpacekvError, 'unknown_attribute');
    await rejection(db.put('users', '', { age: 1 }), SpacekvError, 'invalid_key');
    await rejection(db.mutate('users', 'ann', [{ set_add: { age: 1 } }]), SpacekvError, 'invalid_mutation');
    await rejection(db.addSpace('space users key name'), SpacekvError, 'space_exists');
  });

  it('a failed operation in a pipeline does not disturb the others', async () => {
    await db.put('users', 'eve', { age: 1 });
    const results = await withTimeout(Promise.allSettled([
      db.atomicAdd('users', 'eve', { age: 1 }),
      db.putIfNotExist('users', 'eve', { age: 100 }),
      db.atomicAdd('users', 'eve', { age: 1 }),
      db.get('nope', 'eve'),
      db.get('users', 'eve'),
    ]), 5_000, 'the pipeline');
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    const last = results[4];
    assert.ok(last?.status === 'fulfilled');
    assert.equal(last.value?.attributes.age, 3);
  });
});
