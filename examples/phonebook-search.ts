/**
 * HyperDex's quick start phonebook, searched: the space with secondary indexes declared in its DSL,
 * searches by attribute (equality, range, prefix, regex), a search paged transparently by the
 * client, a sorted search, counts (explain says whether an index answered), then an index added to
 * the loaded space online, and group operations.
 *
 *     node examples/dist/phonebook-search.js [url]
 */
import { type SpacekvClient, connect } from '@spacekv/client';
import { dropSpace, runIfMain, serverUrl } from './common.js';

export const PHONEBOOK_DSL = `
space phonebook
key username
attributes
   string first,
   string last,
   int phone
index first, last
`;

const PEOPLE: readonly (readonly [string, string, string, number])[] = [
  ['jsmith1', 'John', 'Smith', 6075551024],
  ['jd', 'John', 'Doe', 6075557878],
  ['wbrown', 'Will', 'Brown', 6075553456],
  ['bjones', 'Brian', 'Jones', 6075550000],
  ['msmith', 'Mary', 'Smith', 6075559999],
];

export interface PhonebookSummary {
  /** Usernames of every John (HyperDex's `c.search('phonebook', {'first': 'John'})`). */
  readonly johns: readonly string[];
  /** Usernames with a phone number in [6075551000, 6075558000). */
  readonly phoneRange: readonly string[];
  /** Last names starting with 'Sm' or matching /^J.n/, via an `or`. */
  readonly smOrJn: readonly string[];
  /** Every username with a generated entry, paged 7 at a time by the client. */
  readonly generatedCount: number;
  /** The three largest phone numbers' usernames. */
  readonly topPhones: readonly string[];
  readonly smithCount: number;
  readonly smithPlan: string;
  readonly phonePlanBefore: string;
  readonly phonePlanAfter: string;
  readonly renamed: { readonly matched: number; readonly changed: number };
  readonly removed: { readonly matched: number; readonly changed: number };
}

async function keys(it: AsyncIterable<{ key: unknown }>): Promise<string[]> {
  const out: string[] = [];
  for await (const o of it) out.push(String(o.key));
  return out;
}

function planText(plan: { kind: string; attribute?: string }): string {
  return plan.kind === 'index' ? `index on ${plan.attribute}` : 'scan';
}

export async function main(url: string, log: (line: string) => void = console.log): Promise<PhonebookSummary> {
  const db: SpacekvClient = await connect(url);
  try {
    await dropSpace(db, 'phonebook');
    await db.addSpace(PHONEBOOK_DSL);
    await Promise.all(PEOPLE.map(([username, first, last, phone]) => db.put('phonebook', username, { first, last, phone })));
    await db.window(Array.from({ length: 40 }, (_, i) => i), 16, (i) => db.put('phonebook', `gen${String(i).padStart(2, '0')}`, { first: 'Gen', last: `L${i}`, phone: 6075560000 + i }));

    const johns = await keys(db.search('phonebook', { first: 'John' }));
    log(`search first = John: ${johns.join(', ')}`);
    const phoneRange = await keys(db.search('phonebook', { phone: { gte: 6075551000, lt: 6075558000 }, first: { ne: 'Gen' } }));
    log(`search phone in [6075551000, 6075558000): ${phoneRange.join(', ')}`);
    const smOrJn = await keys(db.search('phonebook', { or: [{ last: { prefix: 'Sm' } }, { last: { regex: '^J.n' } }] }));
    log(`search last prefix Sm or regex ^J.n: ${smOrJn.join(', ')}`);
    const generated = await keys(db.search('phonebook', { first: 'Gen' }, { limit: 7 }));
    log(`search first = Gen, pages of 7: ${generated.length} objects`);
    const top = await db.sortedSearch('phonebook', { first: { ne: 'Gen' } }, 'phone', { order: 'desc', limit: 3 });
    const topPhones = top.map((o) => String(o.key));
    log(`the three largest phone numbers: ${topPhones.join(', ')}`);
    const smithCount = await db.count('phonebook', { last: 'Smith' });
    const smithPlan = planText(await db.explain('phonebook', { last: 'Smith' }, 'count'));
    log(`count last = Smith: ${smithCount} (${smithPlan})`);

    const phonePlanBefore = planText(await db.explain('phonebook', { phone: 6075551024 }));
    await db.addIndex('phonebook', 'phone');
    const phonePlanAfter = planText(await db.explain('phonebook', { phone: 6075551024 }));
    log(`search phone = 6075551024: ${phonePlanBefore} before add_index, ${phonePlanAfter} after`);

    const renamed = await db.groupMutate('phonebook', { first: 'Gen' }, [{ set: { first: 'Generated' } }]);
    log(`group_mutate first Gen -> Generated: matched ${renamed.matched}, changed ${renamed.changed}`);
    const removed = await db.groupDel('phonebook', { first: 'Generated' });
    log(`group_del first = Generated: matched ${removed.matched}, changed ${removed.changed}`);
    await db.rmSpace('phonebook'); // leave the server as we found it
    return { johns, phoneRange, smOrJn, generatedCount: generated.length, topPhones, smithCount, smithPlan, phonePlanBefore, phonePlanAfter, renamed, removed };
  } finally {
    await db.close();
  }
}

runIfMain(import.meta.url, async () => {
  await main(serverUrl());
});
