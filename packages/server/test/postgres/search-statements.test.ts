// Proves how many round trips a search costs on PostgreSQL (issue 18: indexed search p50 under 3 ms
// over a million objects): a page its first chunk of candidates decides (an indexed equality) is
// read by one statement, the schema beside the candidates, with no transaction; a page that needs
// further chunks, or whose plan names an index the schema no longer has, is read again in one
// snapshot, with the same answer a scan gives.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS, type SearchPlan, type WriteOp, parseSchemaDsl, scalarIndexKey } from '@spacekv/core';
import postgres from 'postgres';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { PgSearcher, type Readers } from '../../src/store/postgres/searcher.js';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';

const missing = await postgresMissing();
const schema = uniqueSchema('search_statements');
after(async () => {
  if (!missing) await dropSchema(schema);
});

/** More objects than a chunk (1,000), so a scan for the last ones needs a second chunk. */
const OBJECTS = 1_500;
/** n of object i: 7 for the last 100 objects only, else i % 5. */
const nOf = (i: number): number => (i >= OBJECTS - 100 ? 7 : i % 5);

function byN(seq: number, n: number, indexed: boolean, limit = 1_000): SearchPlan {
  const key = scalarIndexKey({ kind: 'int' }, n);
  return {
    space: 'items', spaceCreatedSeq: seq, nowMs: Date.now(), keys: {}, order: { by: 'key', reverse: false }, limit, rowsMax: 10_000,
    condition: [{ kind: 'attr', attribute: 'n', op: 'eq', operand: n }] as unknown as SearchPlan['condition'],
    access: indexed ? { index: { attribute: 'n', lower: { key, inclusive: true }, upper: { key, inclusive: true } }, exact: true } : { exact: false },
  };
}

test('a page its first chunk decides is one statement; one that needs more, or names a removed index, is read again in a snapshot', { skip: missing }, async () => {
  const store = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  await store.open();
  const sql = postgres(POSTGRES_URL, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
  const used: string[] = [];
  const readers: Readers = {
    statement: (work) => (used.push('statement'), work(sql)),
    snapshot: (work) => (used.push('snapshot'), sql.begin('isolation level repeatable read read only', work) as never),
  };
  const searched = async (plan: SearchPlan): Promise<{ keys: string[]; used: string[] }> => {
    used.length = 0;
    const page = await searcher.search(readers, plan);
    return { keys: page.objects.map((o) => String(o.key)), used: [...used] };
  };
  const searcher = new PgSearcher(DEFAULT_LIMITS);
  try {
    const [added] = await store.commit([{ op: { op: 'add_space', schema: parseSchemaDsl('space items key k attributes int n index n', DEFAULT_LIMITS) } as WriteOp }]);
    assert.ok(added && 'result' in added);
    const seq = (added.changes[0] as { seq: number }).seq;
    const key = (i: number): string => `k${String(i).padStart(5, '0')}`;
    await store.commit(Array.from({ length: OBJECTS }, (_, i) => ({ op: { op: 'put', space: 'items', key: key(i), attributes: { n: nOf(i) } } as WriteOp, spaceCreatedSeq: seq })));
    const expected = (n: number): string[] => Array.from({ length: OBJECTS }, (_, i) => i).filter((i) => nOf(i) === n).map(key);

    // The first search of the space reads its schema (and so its key type) in a snapshot; from then on, one statement.
    assert.deepEqual(await searched(byN(seq, 3, true)), { keys: expected(3), used: ['snapshot'] });
    assert.deepEqual(await searched(byN(seq, 2, true)), { keys: expected(2), used: ['statement'] }, 'an indexed equality is one statement');
    assert.deepEqual(await searched(byN(seq, 2, false, 10)), { keys: expected(2).slice(0, 10), used: ['statement'] }, 'a scan whose first chunk fills the page');
    // A scan whose matches lie past the first chunk of 1,000 rows: the one statement cannot decide it.
    assert.deepEqual(await searched(byN(seq, 7, false)), { keys: expected(7), used: ['statement', 'snapshot'] });

    const [removed] = await store.commit([{ op: { op: 'rm_index', space: 'items', attribute: 'n' } as WriteOp, spaceCreatedSeq: seq }]);
    assert.ok(removed && 'result' in removed);
    assert.deepEqual(await searched(byN(seq, 4, true)), { keys: expected(4), used: ['statement', 'snapshot'] }, 'a plan naming a removed index scans, in a snapshot');
  } finally {
    await sql.end({ timeout: 1 });
    await store.close();
  }
});
