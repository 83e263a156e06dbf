/**
 * Step 8, search (issues 4, 16 and 18): a spacekv server child on the embedded SQLite store holding
 * the searched space (search-data.ts), driven by @spacekv/client, beside raw better-sqlite3
 * answering the same queries from its own table with ordinary indexes on the same columns:
 *
 *  - the online build of the `city`, `age` and `info.city` (a document path) indexes on the loaded space (add_index);
 *  - an indexed equality search returning 100 objects, one at a time: p50/p99 through the client,
 *    on the top-level `city` and on the document path `info.city`, side by side;
 *  - count of an indexed range (half the space) and of an indexed equality, served from the index;
 *  - an unindexed search that scans the whole space, page by page, while a second connection keeps
 *    doing point gets: the server's event-loop delay (perf_hooks.monitorEventLoopDelay in the server,
 *    loop-delay-probe.ts) and the gets' latency meanwhile.
 *
 * Then the same space on the PostgreSQL store, beside raw PostgreSQL (search-postgres.ts); with
 * --variants, the SQLite part on each variant's server beside this build's (search-variants.ts).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type SpacekvClient, connect } from '@spacekv/client';
import { startSpacekvServer } from './child-server.js';
import { int, out } from './report.js';
import {
  LOAD_BATCHES_IN_FLIGHT, LOAD_BATCH_PUTS, type Latency, SEARCH_FULL, SEARCH_TINY, type SearchSizes, buildIndexes, citiesOf, cityOf,
  equalityLatencies, key, latency, loadPeople, ms, spacekvCityQuery, timed, unindexedScan, verdict,
} from './search-data.js';
import { evenRounds, pairsTable } from './paired.js';
import { pgSearchBench, printPgSearch } from './search-postgres.js';
import { searchVariants } from './search-variants.js';
import type { Section, SectionContext } from './section.js';
import { median } from './stats.js';

export const SEARCH_TARGETS = {
  /** Indexed equality search (≤ 100 objects) p50 through the client, ms. */
  indexedSearchP50MsMax: 2,
  /** Server event-loop delay p99 during a full unindexed scan, ms. */
  scanLoopDelayP99MsMax: 10,
} as const;

interface LoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly samples: number;
}

export interface SearchFigures {
  readonly sizes: SearchSizes;
  readonly loadSeconds: number;
  readonly indexBuildSeconds: { readonly city: number; readonly age: number; readonly 'info.city': number };
  readonly search: Latency;
  /** The same equality on the document path `info.city`, through its own index. */
  readonly pathSearch: Latency;
  readonly rawSearch: Latency;
  readonly countRange: { readonly ms: number; readonly rawMs: number; readonly count: number; readonly fromIndex: boolean };
  readonly countEq: { readonly ms: number; readonly rawMs: number; readonly fromIndex: boolean };
  readonly scan: { readonly seconds: number; readonly rawSeconds: number; readonly pages: number; readonly loop: LoopDelay; readonly gets: Latency; readonly getCount: number };
}

/** The same rows in a plain table with ordinary indexes: the raw SQLite side of every ratio. */
function rawDatabase(dir: string, objects: number, cities: number): Database.Database {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE people (key TEXT PRIMARY KEY, city TEXT NOT NULL, age INTEGER NOT NULL, attrs TEXT NOT NULL) STRICT, WITHOUT ROWID;
    CREATE INDEX people_city ON people (city); CREATE INDEX people_age ON people (age);`);
  const insert = db.prepare('INSERT INTO people VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < objects; i++) {
      const city = cityOf(i, cities);
      insert.run(key(i), city, i % 100, JSON.stringify({ city, age: i % 100, name: `n${i}` }));
    }
  })();
  return db;
}

async function equalitySearches(db: SpacekvClient, raw: Database.Database, sizes: SearchSizes): Promise<{ search: Latency; pathSearch: Latency; rawSearch: Latency }> {
  const query = raw.prepare('SELECT key, attrs FROM people WHERE city = ? ORDER BY key LIMIT 100');
  const { city, path, rawCity } = await equalityLatencies(sizes, {
    city: await spacekvCityQuery(db, 'city'),
    path: await spacekvCityQuery(db, 'info.city'),
    rawCity: (c: string) => query.all(c).length,
  });
  return { search: city, pathSearch: path, rawSearch: rawCity };
}

async function countFigures(db: SpacekvClient, raw: Database.Database, sizes: SearchSizes) {
  const range = { age: { lt: 50 } };
  const rangeMs: number[] = [];
  const eqMs: number[] = [];
  let count = 0;
  for (let n = 0; n < sizes.counts; n++) {
    const r = await timed(() => db.count('people', range));
    count = r.value;
    rangeMs.push(r.ms);
    eqMs.push((await timed(() => db.count('people', { city: 'c1' }))).ms);
  }
  const rawRange = raw.prepare('SELECT count(*) FROM people WHERE age < 50').pluck();
  const rawEq = raw.prepare("SELECT count(*) FROM people WHERE city = 'c1'").pluck();
  const rawRangeMs: number[] = [];
  const rawEqMs: number[] = [];
  for (let n = 0; n < sizes.counts; n++) {
    rawRangeMs.push((await timed(() => rawRange.get())).ms);
    rawEqMs.push((await timed(() => rawEq.get())).ms);
  }
  const rangePlan = await db.explain('people', range, 'count');
  const eqPlan = await db.explain('people', { city: 'c1' }, 'count');
  const fromIndex = (plan: { kind: string; counted_from_index?: boolean }) => plan.kind === 'index' && plan.counted_from_index === true;
  return {
    countRange: { ms: median(rangeMs), rawMs: median(rawRangeMs), count, fromIndex: fromIndex(rangePlan) },
    countEq: { ms: median(eqMs), rawMs: median(rawEqMs), fromIndex: fromIndex(eqPlan) },
  };
}

/** Loop-delay figures of the server since the previous call (see loop-delay-probe.ts). */
function probe(pid: number, file: string): Promise<LoopDelay> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      try {
        resolve(JSON.parse(readFileSync(file, 'utf8')) as LoopDelay);
      } catch (err) {
        if (Date.now() - started > 5_000) reject(err as Error);
        else setTimeout(poll, 20);
      }
    };
    setTimeout(poll, 50);
  });
}

async function scanWithGets(url: string, db: SpacekvClient, raw: Database.Database, sizes: SearchSizes, pid: number, file: string) {
  const getter = await connect(url);
  try {
    await probe(pid, file); // start the window afresh
    let scanning = true;
    const getMs: number[] = [];
    const gets = (async () => {
      while (scanning) {
        const i = Math.floor(Math.random() * sizes.objects);
        getMs.push((await timed(() => getter.get('people', key(i)))).ms);
      }
    })();
    const scan = await timed(() => unindexedScan(db));
    scanning = false;
    await gets;
    const loop = await probe(pid, file);
    const rawScan = timed(() => raw.prepare("SELECT count(*) FROM people WHERE json_extract(attrs, '$.name') LIKE '%zz'").pluck().get());
    return { seconds: scan.ms / 1000, rawSeconds: (await rawScan).ms / 1000, pages: scan.value, loop, gets: latency(getMs), getCount: getMs.length };
  } finally {
    await getter.close();
  }
}

export async function searchBench(root: string, sizes: SearchSizes): Promise<SearchFigures> {
  const cities = citiesOf(sizes);
  const probeFile = join(root, 'loop-delay.json');
  process.env.SPACEKV_LOOP_PROBE_FILE = probeFile;
  const server = await startSpacekvServer(join(root, 'search'), { nodeArgs: ['--import', fileURLToPath(new URL('./loop-delay-probe.js', import.meta.url))] });
  let db: SpacekvClient | undefined;
  try {
    db = await connect(server.url);
    const loadSeconds = await loadPeople(db, sizes.objects, cities);
    const indexBuildSeconds = await buildIndexes(db, ['city', 'age', 'info.city'] as const);
    const raw = rawDatabase(join(root, 'raw-search'), sizes.objects, cities);
    try {
      const searches = await equalitySearches(db, raw, sizes);
      const counts = await countFigures(db, raw, sizes);
      const scan = await scanWithGets(server.url, db, raw, sizes, server.pid, probeFile);
      return { sizes, loadSeconds, indexBuildSeconds, ...searches, ...counts, scan };
    } finally {
      raw.close();
    }
  } finally {
    await db?.close();
    await server.stop();
  }
}

export function printSearch(f: SearchFigures): void {
  const s = f.sizes;
  out(`[8] search: ${int(s.objects)} objects loaded through the client in ${f.loadSeconds.toFixed(1)} s (tx batches of ${int(LOAD_BATCH_PUTS)} puts, `
    + `${LOAD_BATCHES_IN_FLIGHT} in flight); raw SQLite: the same rows, plain table with ordinary indexes`);
  out(`    add_index online on the loaded space: city ${f.indexBuildSeconds.city.toFixed(1)} s, age ${f.indexBuildSeconds.age.toFixed(1)} s, `
    + `info.city (a document path) ${f.indexBuildSeconds['info.city'].toFixed(1)} s`);
  out(`    indexed equality search, 100 objects, 1 in flight (${int(s.searches)} searches): p50 ${ms(f.search.p50Ms)} ms, p99 ${ms(f.search.p99Ms)} ms; `
    + `raw SQLite p50 ${ms(f.rawSearch.p50Ms)} ms (ratio ${(f.search.p50Ms / f.rawSearch.p50Ms).toFixed(1)}x) `
    + `[target p50 < ${SEARCH_TARGETS.indexedSearchP50MsMax} ms: ${verdict(f.search.p50Ms < SEARCH_TARGETS.indexedSearchP50MsMax)}]`);
  out(`    the same on the document path info.city (its own index): p50 ${ms(f.pathSearch.p50Ms)} ms, p99 ${ms(f.pathSearch.p99Ms)} ms; `
    + `ratio to the top-level attribute ${(f.pathSearch.p50Ms / f.search.p50Ms).toFixed(2)}x `
    + `[target p50 < ${SEARCH_TARGETS.indexedSearchP50MsMax} ms: ${verdict(f.pathSearch.p50Ms < SEARCH_TARGETS.indexedSearchP50MsMax)}]`);
  out(`    count of an indexed range (${int(f.countRange.count)} objects): ${ms(f.countRange.ms)} ms, served from the index: ${f.countRange.fromIndex ? 'yes' : 'NO'}; `
    + `raw SQLite ${ms(f.countRange.rawMs)} ms (ratio ${(f.countRange.ms / f.countRange.rawMs).toFixed(1)}x)`);
  out(`    count of an indexed equality: ${ms(f.countEq.ms)} ms, served from the index: ${f.countEq.fromIndex ? 'yes' : 'NO'}; raw SQLite ${ms(f.countEq.rawMs)} ms`);
  out(`    unindexed search scanning all ${int(s.objects)} objects (${f.scan.pages} pages): ${f.scan.seconds.toFixed(2)} s; raw SQLite full scan ${f.scan.rawSeconds.toFixed(2)} s `
    + `(ratio ${(f.scan.seconds / f.scan.rawSeconds).toFixed(1)}x)`);
  out(`      meanwhile ${int(f.scan.getCount)} point gets at 1 in flight: p50 ${ms(f.scan.gets.p50Ms)} ms, p99 ${ms(f.scan.gets.p99Ms)} ms; `
    + `server event-loop delay p50 ${ms(f.scan.loop.p50Ms)} ms, p99 ${ms(f.scan.loop.p99Ms)} ms, max ${ms(f.scan.loop.maxMs)} ms `
    + `[target p99 < ${SEARCH_TARGETS.scanLoopDelayP99MsMax} ms: ${verdict(f.scan.loop.p99Ms < SEARCH_TARGETS.scanLoopDelayP99MsMax)}]`);
}

function searchSizes(c: SectionContext): SearchSizes {
  const preset = c.options.tiny ? SEARCH_TINY : SEARCH_FULL;
  return { ...preset, objects: c.options.searchObjects ?? preset.objects };
}

export const searchSection: Section = {
  id: 'search',
  title: 'Step 8: search over 1,000,000 objects on SQLite and on PostgreSQL, beside raw SQLite and raw PostgreSQL',
  byDefault: true,
  async run(c) {
    const sizes = searchSizes(c);
    printSearch(await searchBench(c.root, sizes));
    printPgSearch(await pgSearchBench(c.root, c.options.ycsb.postgresUrl, sizes, c.problems));
    if (c.options.variants.length === 0) return;
    const paired = await searchVariants(c.root, sizes, c.options.variants, c.options.rounds, c.problems);
    c.report.add(`### Server variants beside this build\n\n${evenRounds(c.options.rounds)} rounds (an even number), each on a fresh SQLite server of this build and one of the variant that load the searched space and build its indexes `
      + `(the default first in odd rounds), then run the same searches, counts and scans in ABBA slices; the median of the per-round ratios and their range. `
      + `The load and the index builds, measured once per round, are judged on couples of rounds (1 and 2, 3 and 4, ...), each side first once in a couple: `
      + `a couple's ratio is the geometric mean of its two rounds'. The PostgreSQL part is not paired.\n\n${pairsTable(paired)}`);
  },
};

/** The PostgreSQL half of step 8 alone: its figures without the SQLite half's load of a million objects first (about 17 minutes on 2 cores). */
export const searchPostgresSection: Section = {
  id: 'search-postgres',
  title: 'Step 8 on PostgreSQL only: indexed search over 1,000,000 objects beside raw PostgreSQL',
  byDefault: false,
  async run(c) {
    printPgSearch(await pgSearchBench(c.root, c.options.ycsb.postgresUrl, searchSizes(c), c.problems));
  },
};
