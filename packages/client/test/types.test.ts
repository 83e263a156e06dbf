/**
 * Proves, at compile time, that the typed layer (defineSpace + TypedSpace) rejects what does not fit
 * the declared schema: an unknown attribute in put, a value of the wrong type, set_add on an
 * attribute that is not a set, add on a string attribute, a set_add element of the wrong type, a
 * key of the wrong type, a document path that the declared shape lacks or a value of the wrong type
 * there, and accepts the valid forms with the types it infers (any path below a document without a shape). tsc builds this file
 * with the other tests, so a `@ts-expect-error` line that no longer errs, or a valid form that no
 * longer compiles, fails the build. The runtime test only makes the file run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AttributesOf, type KeyOf, type TypedSpace, defineSpace, schemaJsonOf, t } from '../src/index.js';

const people = defineSpace('people', {
  key: 'username',
  attributes: {
    first: t.string(),
    age: t.int(),
    score: t.float(),
    active: t.bool(),
    friends: t.set(t.string()),
    lucky: t.set(t.int()),
    visits: t.list(t.int()),
    ratings: t.map(t.string(), t.int()),
    profile: t.document<{ readonly bio: string }>(),
  },
});

const ticks = defineSpace('ticks', { key: 'id', keyType: 'int', attributes: { label: t.string() } });

type People = typeof people;
type Ticks = typeof ticks;
const points = defineSpace('points', { key: 'x', keyType: 'float', attributes: { name: t.string() } });
type Points = typeof points;
const looseDocs = defineSpace('loose', { key: 'k', attributes: { info: t.document() } });
type Loose = typeof looseDocs;

/** Never called: it exists for the compiler. */
export async function validForms(space: TypedSpace<People>, tickSpace: TypedSpace<Ticks>, loose: TypedSpace<Loose>): Promise<void> {
  await space.put('jj', { first: 'John', age: 30, score: 1.5, active: true, friends: ['jd'], visits: [1, 2], ratings: { a: 1 } });
  await space.put('jj', { age: 2n ** 60n }); // ints may be bigint
  await space.put('jj', { profile: { bio: 'hi' } });
  await space.put('jj', { 'profile.bio': 'hi' }); // a document path, typed by the shape
  await space.mutate('jj', [{ append: { 'profile.bio': '!' } }, { document_unset: { 'profile.bio': true } }]);
  for await (const found of space.search({ 'profile.bio': { prefix: 'h' } })) void found;
  await space.sortedSearch({}, 'profile.bio');
  await loose.put('a', { 'info.anything.at.all': [1, 'x'] }); // a document without a shape takes any path
  await loose.mutate('a', [{ add: { 'info.visits': 1 } }, { rpush: { 'info.list': 'x' } }]);
  await space.mutate('jj', [
    { set_add: { friends: 'jd' } },
    { set_add: { lucky: 7 } },
    { set_union: { friends: ['a', 'b'] } },
    { add: { age: 1 } },
    { mul: { score: 2 } },
    { and: { age: 3 } },
    { append: { first: 'x' } },
    { rpush: { visits: 3 } },
    { map_set: { ratings: { b: 2 } } },
    { map_remove: { ratings: 'b' } },
    { set: { first: 'Johnny' } },
    { unset: { profile: true } },
  ], { if: { age: { gte: 18, lt: 65 }, first: 'John', or: [{ active: true }, { friends: { contains: 'jd' } }] } });
  await space.condPut('jj', { first: { prefix: 'Jo' } }, { active: false });

  const obj = await space.get('jj');
  if (obj) {
    const names: string[] = obj.attributes.friends;
    const lucky: (number | bigint)[] = obj.attributes.lucky;
    const age: number | bigint = obj.attributes.age;
    const first: string = obj.attributes.first;
    const score: number = obj.attributes.score;
    const active: boolean = obj.attributes.active;
    const ratings: Record<string, number | bigint> = obj.attributes.ratings;
    const bio: string = obj.attributes.profile.bio;
    const key: string = obj.key;
    const version: number = obj.version;
    void [names, lucky, age, first, score, active, ratings, bio, key, version];
  }
  const partial = await space.getPartial('jj', ['first', 'age']);
  const partialFirst: string | undefined = partial?.attributes.first;
  void partialFirst;
  const mutated = await space.mutate('jj', [{ add: { age: 1 } }]);
  const newAge: number | bigint = mutated.attributes.age;
  void newAge;

  await tickSpace.put(1, { label: 'one' });
  await tickSpace.put(2n ** 62n, { label: 'big' });
  const tick = await tickSpace.get(1);
  const tickKey: number | bigint | undefined = tick?.key;
  void tickKey;

  const attributes: AttributesOf<People> = {
    first: '', age: 0, score: 0, active: false, friends: [], lucky: [], visits: [], ratings: {}, profile: { bio: '' },
  };
  const peopleKey: KeyOf<People> = 'jj';
  const tickKeyType: KeyOf<Ticks> = 5n;
  void [attributes, peopleKey, tickKeyType];
}

/** Never called: every line after a `@ts-expect-error` must fail to compile. */
export async function invalidForms(space: TypedSpace<People>, tickSpace: TypedSpace<Ticks>): Promise<void> {
  // An unknown attribute in put.
  // @ts-expect-error 'nickname' is not an attribute of people
  await space.put('jj', { nickname: 'x' });
  // A wrong value type: a number into a string attribute.
  // @ts-expect-error first is a string
  await space.put('jj', { first: 1 });
  // @ts-expect-error friends is a set of strings, not a string
  await space.put('jj', { friends: 'jd' });
  // @ts-expect-error active is a bool
  await space.put('jj', { active: 'yes' });
  // set_add on an attribute that is not a set.
  // @ts-expect-error first is not a set
  await space.mutate('jj', [{ set_add: { first: 'x' } }]);
  // @ts-expect-error visits is a list, not a set
  await space.mutate('jj', [{ set_add: { visits: 1 } }]);
  // add on a string attribute.
  // @ts-expect-error first is a string; add takes numbers
  await space.mutate('jj', [{ add: { first: 1 } }]);
  // @ts-expect-error and is for ints, score is a float
  await space.mutate('jj', [{ and: { score: 1 } }]);
  // A wrong element type for set_add.
  // @ts-expect-error friends holds strings
  await space.mutate('jj', [{ set_add: { friends: 1 } }]);
  // @ts-expect-error lucky holds ints
  await space.mutate('jj', [{ set_add: { lucky: 'seven' } }]);
  // Document paths are typed from the declared shape.
  // @ts-expect-error profile.bio is a string
  await space.put('jj', { 'profile.bio': 1 });
  // @ts-expect-error the shape has no profile.age
  await space.put('jj', { 'profile.age': 1 });
  // @ts-expect-error add takes numbers, profile.bio is a string
  await space.mutate('jj', [{ add: { 'profile.bio': 1 } }]);
  // @ts-expect-error a path into first, which is not a document
  await space.search({ 'first.x': 'y' });
  // A key of the wrong type.
  // @ts-expect-error ticks is int-keyed
  await tickSpace.get('one');
  // @ts-expect-error ticks is int-keyed
  await tickSpace.put('one', { label: 'x' });
  // @ts-expect-error people is string-keyed
  await space.get(1);
  // A condition on an unknown attribute, or of the wrong type.
  // @ts-expect-error no attribute 'nickname'
  await space.condPut('jj', { nickname: 'x' }, { first: 'y' });
  // @ts-expect-error age is an int
  await space.mutate('jj', [{ add: { age: 1 } }], { if: { age: { gte: 'eighteen' } } });

  const obj = await space.get('jj');
  if (obj) {
    // @ts-expect-error first is a string
    const wrong: number = obj.attributes.first;
    // @ts-expect-error friends is string[]
    const wrongSet: number[] = obj.attributes.friends;
    // @ts-expect-error no attribute 'nickname'
    const unknown: string = obj.attributes.nickname;
    void [wrong, wrongSet, unknown];
  }
  const partial = await space.getPartial('jj', ['first']);
  // @ts-expect-error age was not selected
  void partial?.attributes.age;
  // @ts-expect-error getPartial takes declared attribute names only
  await space.getPartial('jj', ['nickname']);
  // Searches are typed by attribute like conditions.
  // @ts-expect-error age is an int
  await space.count({ age: { gte: 'old' } });
  // @ts-expect-error friends holds strings
  await space.groupDel({ friends: { contains: 7 } });
  // @ts-expect-error no attribute 'nickname'
  for await (const found of space.search({ nickname: 'x' })) void found;
  // @ts-expect-error a set has no order to sort by
  await space.sortedSearch({}, 'friends');
  for await (const found of space.search({ age: { gte: 18 }, friends: { contains: 'jd' } })) {
    // @ts-expect-error first is a string
    const wrongFound: number = found.attributes.first;
    void wrongFound;
  }
  // @ts-expect-error 'nickname' is not an attribute to index
  defineSpace('bad', { key: 'k', attributes: { a: t.string() }, indexes: ['nickname'] });
}

/** Never called: valid search forms compile and infer the attribute types. */
export async function validSearches(space: TypedSpace<People>): Promise<void> {
  for await (const found of space.search({ first: { prefix: 'J' }, or: [{ age: { lt: 30 } }, { lucky: { contains: 7 } }] }, { limit: 10 })) {
    const first: string = found.attributes.first;
    void first;
  }
  const top = await space.sortedSearch({ active: true }, 'score', { order: 'desc', limit: 3 });
  const count: number = await space.count({ ratings: { contains: 'x' } });
  const outcome = await space.groupMutate({ age: { gte: 65 } }, [{ add: { age: 1 } }]);
  void [top, count, outcome.matched];
  defineSpace('ok', { key: 'k', attributes: { a: t.string() }, indexes: ['a'] });
}

/** Never called: a float key is a number, read and written; a string or a bigint is not one. */
export async function floatKeyForms(pointSpace: TypedSpace<Points>): Promise<void> {
  await pointSpace.put(1.5, { name: 'one and a half' });
  const point = await pointSpace.get(-2e-3);
  const key: number | undefined = point?.key;
  const keyType: KeyOf<Points> = 0.1;
  void [key, keyType];
  // @ts-expect-error points is float-keyed: a key is a number, not its text
  await pointSpace.get('1.5');
  // @ts-expect-error a float key is a double, never a bigint
  await pointSpace.put(2n, { name: 'two' });
  const read = await pointSpace.get(1);
  // @ts-expect-error the key read back is a number, not number | bigint
  const wide: bigint | undefined = read?.key;
  void wide;
}

describe('compile-time types', () => {
  it('compiled (the checks above are in the build); the declarations carry the schema', () => {
    assert.equal(typeof validForms, 'function');
    assert.equal(typeof invalidForms, 'function');
    assert.equal(typeof validSearches, 'function');
    assert.equal(typeof floatKeyForms, 'function');
    assert.deepEqual(schemaJsonOf(points).key, { name: 'x', type: 'float' });
    assert.deepEqual(schemaJsonOf(ticks), { name: 'ticks', key: { name: 'id', type: 'int' }, attributes: [{ name: 'label', type: 'string' }] });
    assert.deepEqual(schemaJsonOf(people).attributes.map((a) => a.type), [
      'string', 'int', 'float', 'bool', 'set(string)', 'set(int)', 'list(int)', 'map(string, int)', 'document',
    ]);
  });
});
