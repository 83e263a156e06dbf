/**
 * The tutorial's friendlists again, declared in TypeScript: `defineSpace` gives the space's schema
 * as a value (the server creates or checks it) and as types (the compiler checks attribute names
 * and value types at every call).
 *
 *     node examples/dist/typed-friendlists.js [url]
 */
import { CmpFailError, SchemaDriftError, type SpacekvClient, type TypedSpace, connect, defineSpace, t } from '@spacekv/client';
import { dropSpace, pyList, runIfMain, serverUrl } from './common.js';

export const friendlists = defineSpace('friendlists', {
  key: 'username',
  attributes: { first: t.string(), last: t.string(), friends: t.set(t.string()) },
});

/** The same space name declared differently: the server's space no longer matches it. */
const driftedFriendlists = defineSpace('friendlists', {
  key: 'username',
  attributes: { first: t.string(), last: t.string(), friends: t.list(t.string()) },
});

type Friendlists = TypedSpace<typeof friendlists>;

export interface TypedSummary {
  readonly url: string;
  /** jj as read back: `{ first: 'John', last: 'Jackson', friends: [] }`, typed. */
  readonly jj: { readonly first: string; readonly last: string; readonly friends: readonly string[] };
  readonly jsmith1Friends: readonly string[];
  /** The friends' first names, sorted: `['Brian', 'John', 'John']`. */
  readonly friends: readonly string[];
  /** A mutate whose typed condition did not hold: the error code (`cmp_fail`). */
  readonly conditionFailed: string;
  /** The same mutate with a condition that holds: jd's friends afterwards. */
  readonly jdFriends: readonly string[];
  /** getPartial('jsmith1', ['first']): only the selected attribute. */
  readonly partial: Readonly<Record<string, unknown>>;
  /** What db.space() said when the declaration no longer matched the server (a SchemaDriftError message). */
  readonly drift: string;
}

export async function main(url: string, options: { readonly log?: (line: string) => void } = {}): Promise<TypedSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const db = await connect(url);
  try {
    await dropSpace(db, 'friendlists');
    const people = await db.space(friendlists); // creates the space from the declaration
    log(`space ${people.name} created from its TypeScript declaration`);

    await people.put('jsmith1', { first: 'John', last: 'Smith' });
    await people.put('jd', { first: 'John', last: 'Doe' });
    await people.put('bjones1', { first: 'Brian', last: 'Jones' });

    // Asynchronous: issue, do something else, then wait.
    const pendingJj = people.put('jj', { first: 'John', last: 'Jackson' });
    log(`put jj issued; ${db.outstanding} outstanding`);
    await pendingJj;
    const jjObject = await people.get('jj');
    if (jjObject === null) throw new Error('jj is missing');
    const jj = jjObject.attributes; // { first: string; last: string; friends: string[] }
    log(`jj: ${jj.first} ${jj.last}, friends ${pyList(jj.friends)}`);

    // Bidirectional friendships, all six set_adds in flight at once.
    await Promise.all([
      befriend(people, 'jj', 'jsmith1'),
      befriend(people, 'jsmith1', 'bjones1'),
      befriend(people, 'jsmith1', 'jd'),
    ]);

    const john = await people.get('jsmith1');
    if (john === null) throw new Error('jsmith1 is missing');
    const jsmith1Friends = [...john.attributes.friends].sort(); // string[]: no casts, no checks
    const friendObjects = await Promise.all(jsmith1Friends.map((username) => people.get(username)));
    const friends = friendObjects.map((friend) => friend?.attributes.first ?? '(missing)').sort();
    log(`sorted(friends) = ${pyList(friends)}`);

    // A typed condition: the attribute names and value types are checked by the compiler.
    let conditionFailed = 'none';
    try {
      await people.mutate('jd', [{ set_add: { friends: 'bjones1' } }], { if: { last: 'Smith' } });
    } catch (error) {
      if (!(error instanceof CmpFailError)) throw error;
      conditionFailed = error.code;
      log(`mutate jd if last = 'Smith': ${error.code} (jd is a Doe), current version ${String(error.details.version)}`);
    }
    const jd = await people.mutate('jd', [{ set_add: { friends: 'bjones1' } }], { if: { last: 'Doe', first: { prefix: 'Jo' } } });
    const jdFriends = [...jd.attributes.friends].sort();
    log(`mutate jd if last = 'Doe' and first starts with 'Jo': friends ${pyList(jdFriends)}`);

    const partialObject = await people.getPartial('jsmith1', ['first']);
    const partial = partialObject?.attributes ?? {};
    log(`getPartial jsmith1 [first]: ${JSON.stringify(partial)}`);

    // The declaration drifted from the server's space: db.space() refuses rather than misreading data.
    let drift = 'none';
    try {
      await db.space(driftedFriendlists);
    } catch (error) {
      if (!(error instanceof SchemaDriftError)) throw error;
      drift = error.message;
      log(`declared friends as a list instead: ${error.message}`);
    }

    await db.rmSpace('friendlists');
    return { url, jj, jsmith1Friends, friends, conditionFailed, jdFriends, partial, drift };
  } finally {
    await db.close();
  }
}

/** Both directions of a friendship, issued together. */
async function befriend(people: Friendlists, a: string, b: string): Promise<void> {
  await Promise.all([
    people.mutate(a, [{ set_add: { friends: b } }]),
    people.mutate(b, [{ set_add: { friends: a } }]),
  ]);
}

/**
 * Never called: what the compiler rejects. Each line below fails to type-check without its
 * `@ts-expect-error`, so `tsc -b` proves the typed layer catches these mistakes.
 */
export function compileTimeChecks(people: Friendlists, db: SpacekvClient): void {
  // @ts-expect-error 'age' is not an attribute of friendlists
  void people.put('jsmith1', { age: 42 });
  // @ts-expect-error first is a string, not a number
  void people.put('jsmith1', { first: 42 });
  // @ts-expect-error set_add on a set(string) takes one string, not a list
  void people.mutate('jsmith1', [{ set_add: { friends: ['jd', 'jj'] } }]);
  // @ts-expect-error set_add applies to sets only, and first is a string
  void people.mutate('jsmith1', [{ set_add: { first: 'x' } }]);
  // The untyped client takes any attribute names; the server checks them at run time.
  void db.put('friendlists', 'jsmith1', { age: 42 });
}

runIfMain(import.meta.url, async () => {
  const summary = await main(serverUrl());
  console.log(JSON.stringify(summary, null, 2));
});
