/**
 * Step 8 on PostgreSQL (issue 18): a spacekv server child on the PostgreSQL store, in a schema of
 * its own dropped afterwards, holding the same objects as the SQLite run (search-data.ts), loaded
 * through the client in the same batched transactions; the online build of the `city` and
 * `info.city` indexes; and the indexed equality search through the client on both, beside raw
 * PostgreSQL answering the equivalent queries from a plain table with btree indexes (one on the
 * column, one on the document path's expression) through postgres.js, the driver spacekv uses,
 * interleaved in the same run. Skipped, with a line saying why, when PostgreSQL is not reachable.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';
import { type SpacekvClient, connect } from '@spacekv/client';
import { startSpacekvServer } from './child-server.js';
import { dropSchemas, reachable, withSchema } from './postgres.js';
import { int, out } from './report.js';
import {
  type CityQuery, LOAD_BATCHES_IN_FLIGHT, LOAD_BATCH_PUTS, type Latency, type SearchSizes, buildIndexes, citiesOf, equalityLatencies, loadPeople, ms,
  spacekvCityQuery, verdict,
} from './search-data.js';

/** Issue 18's target: indexed equality search (100 objects) p50 through the client on PostgreSQL, ms. */
export const PG_SEARCH_P50_MS_MAX = 3;

export type PgSearchFigures = {
  readonly sizes: SearchSizes;
  readonly loadSeconds: number;
  readonly indexBuildSeconds: { readonly city: number; readonly 'info.city': number };
  readonly search: Latency;
  readonly pathSearch: Latency;
  readonly rawSearch: Latency;
  readonly rawPathSearch: Latency;
} | { readonly skipped: string };

type Sql = postgres.Sql;

/** The same rows in a plain table, made by one statement server-side, with btree indexes on the city and on the path's expression. */
async function rawTable(sql: Sql, schema: string, sizes: SearchSizes): Promise<void> {
  await sql.unsafe(`CREATE SCHEMA ${schema}`);
  await sql.unsafe(`CREATE TABLE ${schema}.people (key TEXT COLLATE "C" PRIMARY KEY, city TEXT NOT NULL, age INT NOT NULL, attrs TEXT NOT NULL)`);
  // The same keys, cities and attributes as search-data.ts's load.
  await sql.unsafe(`INSERT INTO ${schema}.people
    SELECT 'u' || lpad(i::text, 8, '0'), 'c' || (i % $1), i % 100,
           json_build_object('city', 'c' || (i % $1), 'age', i % 100, 'name', 'n' || i, 'info', json_build_object('city', 'c' || (i % $1), 'since', 2000 + i % 20))::text
    FROM generate_series(0, $2 - 1) AS i`, [citiesOf(sizes), sizes.objects]);
  await sql.unsafe(`CREATE INDEX people_city ON ${schema}.people (city)`);
  await sql.unsafe(`CREATE INDEX people_info_city ON ${schema}.people ((attrs::jsonb #>> '{info,city}'))`);
  await sql.unsafe(`ANALYZE ${schema}.people`);
}

function rawQuery(sql: Sql, schema: string, column: string): CityQuery {
  const text = `SELECT key, attrs FROM ${schema}.people WHERE ${column} = $1 ORDER BY key LIMIT 100`;
  return async (city) => (await sql.unsafe(text, [city], { prepare: true })).length;
}

async function measure(db: SpacekvClient, sql: Sql, rawSchema: string, sizes: SearchSizes) {
  const loadSeconds = await loadPeople(db, sizes.objects, citiesOf(sizes));
  const indexBuildSeconds = await buildIndexes(db, ['city', 'info.city'] as const);
  await rawTable(sql, rawSchema, sizes);
  const l = await equalityLatencies(sizes, {
    city: await spacekvCityQuery(db, 'city'),
    path: await spacekvCityQuery(db, 'info.city'),
    rawCity: rawQuery(sql, rawSchema, 'city'),
    rawPath: rawQuery(sql, rawSchema, "(attrs::jsonb #>> '{info,city}')"),
  });
  return { sizes, loadSeconds, indexBuildSeconds, search: l.city, pathSearch: l.path, rawSearch: l.rawCity, rawPathSearch: l.rawPath };
}

export async function pgSearchBench(root: string, baseUrl: string, sizes: SearchSizes, problems: string[]): Promise<PgSearchFigures> {
  const missing = await reachable(baseUrl);
  if (missing) return { skipped: missing };
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const [storeSchema, rawSchema] = [`bench_search_${tag}`, `bench_search_raw_${tag}`];
  const sql = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    const server = await startSpacekvServer(join(root, 'search-pg'), { serveArgs: ['--store', withSchema(baseUrl, storeSchema)] });
    try {
      const db = await connect(server.url);
      try {
        return await measure(db, sql, rawSchema, sizes);
      } finally {
        await db.close();
      }
    } finally {
      const exit = await server.stop();
      if (exit.code !== 0) problems.push(`search on PostgreSQL: the server did not shut down cleanly (code ${exit.code})\n${exit.stderrTail}`);
    }
  } finally {
    await sql.end({ timeout: 1 });
    await dropSchemas(baseUrl, [storeSchema, rawSchema]);
  }
}

export function printPgSearch(f: PgSearchFigures): void {
  if ('skipped' in f) {
    out(`    on PostgreSQL: SKIPPED: ${f.skipped}`);
    return;
  }
  const target = (l: Latency) => `[target p50 < ${PG_SEARCH_P50_MS_MAX} ms on PostgreSQL: ${verdict(l.p50Ms < PG_SEARCH_P50_MS_MAX)}]`;
  out(`    on PostgreSQL: ${int(f.sizes.objects)} objects loaded through the client in ${f.loadSeconds.toFixed(1)} s `
    + `(${int(f.sizes.objects / f.loadSeconds)} objects/s, the same tx batches of ${int(LOAD_BATCH_PUTS)} puts, ${LOAD_BATCHES_IN_FLIGHT} in flight); `
    + `add_index online: city ${f.indexBuildSeconds.city.toFixed(1)} s, info.city ${f.indexBuildSeconds['info.city'].toFixed(1)} s`);
  out(`    on PostgreSQL, indexed equality search, 100 objects, 1 in flight (${int(f.sizes.searches)} searches): p50 ${ms(f.search.p50Ms)} ms, p99 ${ms(f.search.p99Ms)} ms; `
    + `raw PostgreSQL (btree on the column, postgres.js) p50 ${ms(f.rawSearch.p50Ms)} ms (ratio ${(f.search.p50Ms / f.rawSearch.p50Ms).toFixed(1)}x) ${target(f.search)}`);
  out(`    on PostgreSQL, the same on the document path info.city: p50 ${ms(f.pathSearch.p50Ms)} ms, p99 ${ms(f.pathSearch.p99Ms)} ms; `
    + `raw PostgreSQL (btree on the path's expression) p50 ${ms(f.rawPathSearch.p50Ms)} ms (ratio ${(f.pathSearch.p50Ms / f.rawPathSearch.p50Ms).toFixed(1)}x) ${target(f.pathSearch)}`);
}
