/**
 * What step 8 does alike on every store: the searched space (`objects` objects; `city` with
 * objects/100 distinct values, so an equality matches 100; `age` 0-99; `name` unindexed; `info`, a
 * document whose `info.city` is the same city), its load through the client in batched transactions,
 * and the timing of indexed equality searches beside a raw peer's equivalent query.
 */
import type { SpacekvClient } from '@spacekv/client';
import { median, percentile } from './stats.js';

export interface SearchSizes {
  /** Objects in the space. */
  readonly objects: number;
  /** Equality searches timed (and the same count of raw queries). */
  readonly searches: number;
  /** Timed repetitions of each count. */
  readonly counts: number;
  /**
   * Counts of an indexed range per paired round (--variants). 200 at 200,000 objects is about a second:
   * with 5 a round lasted about 26 ms, a few of the server's 10 ms CPU ticks, and its ratios spanned 0.63-1.51.
   */
  readonly pairedCounts: number;
}

export const SEARCH_FULL: SearchSizes = { objects: 1_000_000, searches: 2_000, counts: 5, pairedCounts: 200 };
export const SEARCH_TINY: SearchSizes = { objects: 2_000, searches: 50, counts: 2, pairedCounts: 4 };

export const MATCHES_PER_CITY = 100;
/**
 * The load writes in batches: one `tx` of this many puts (one seq, one commit), a few in flight,
 * so that a million objects load in a minute or two instead of a put's round trip each.
 */
export const LOAD_BATCH_PUTS = 1_000;
export const LOAD_BATCHES_IN_FLIGHT = 4;

export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export const key = (i: number): string => `u${String(i).padStart(8, '0')}`;
export const cityOf = (i: number, cities: number): string => `c${i % cities}`;
export const citiesOf = (sizes: SearchSizes): number => Math.max(1, Math.floor(sizes.objects / MATCHES_PER_CITY));

export function latency(samples: readonly number[]): Latency {
  return { p50Ms: median(samples), p99Ms: percentile(samples, 99) };
}

export async function timed<T>(run: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

/** Create the space and fill it with `objects` objects; returns the seconds the load took. */
export async function loadPeople(db: SpacekvClient, objects: number, cities: number): Promise<number> {
  await db.addSpace('space people key k attributes string city, int age, string name, document info');
  const put = (i: number) => ({
    op: 'put', space: 'people', key: key(i),
    attributes: { city: cityOf(i, cities), age: i % 100, name: `n${i}`, info: { city: cityOf(i, cities), since: 2000 + (i % 20) } },
  });
  const batches = Array.from({ length: Math.ceil(objects / LOAD_BATCH_PUTS) }, (_, b) => b * LOAD_BATCH_PUTS);
  const { ms } = await timed(() => db.window(batches, LOAD_BATCHES_IN_FLIGHT, (first) =>
    db.tx({ ops: Array.from({ length: Math.min(LOAD_BATCH_PUTS, objects - first) }, (_, n) => put(first + n)) })));
  return ms / 1000;
}

/** add_index on the loaded space, online; the seconds each build took, by attribute. */
export async function buildIndexes<A extends string>(db: SpacekvClient, attributes: readonly A[]): Promise<Record<A, number>> {
  const seconds = {} as Record<A, number>;
  for (const attribute of attributes) seconds[attribute] = (await timed(() => db.addIndex('people', attribute))).ms / 1000;
  return seconds;
}

/** One kind of equality query on a city: resolves with how many objects it found. */
export type CityQuery = (city: string) => Promise<number> | number;

/** A spacekv equality search on `attribute` (a top-level name or a document path), which must use its index. */
export async function spacekvCityQuery(db: SpacekvClient, attribute: string): Promise<CityQuery> {
  const plan = await db.explain('people', { [attribute]: 'c0' });
  if (plan.kind !== 'index') throw new Error(`an equality on ${attribute} must use its index, the plan is ${JSON.stringify(plan)}`);
  return async (city) => (await db.searchPage('people', { [attribute]: city }, { limit: MATCHES_PER_CITY })).objects.length;
}

/** An unindexed search (a regex on `name`) paged through to its end: it scans the whole space. Resolves with its pages. */
export async function unindexedScan(db: SpacekvClient): Promise<number> {
  let pages = 0;
  let cursor: string | undefined;
  do {
    const page = await db.searchPage('people', { name: { regex: 'zz$' } }, { limit: 100, ...(cursor === undefined ? {} : { cursor }) });
    cursor = page.cursor;
    pages++;
  } while (cursor !== undefined);
  return pages;
}

/**
 * p50/p99 of `sizes.searches` rounds, each query once per round on the same random city, one at a
 * time: interleaved, so load from the rest of the machine falls on every query alike and the ratios
 * between them hold. Every answer must hold the city's 100 objects.
 */
export async function equalityLatencies<N extends string>(sizes: SearchSizes, queries: Readonly<Record<N, CityQuery>>): Promise<Record<N, Latency>> {
  const cities = citiesOf(sizes);
  const expected = Math.min(MATCHES_PER_CITY, sizes.objects);
  const names = Object.keys(queries) as N[];
  const samples = new Map<N, number[]>(names.map((name) => [name, []]));
  for (let n = 0; n < sizes.searches; n++) {
    const city = `c${Math.floor(Math.random() * cities)}`;
    for (const name of names) {
      const { value, ms } = await timed(() => queries[name](city));
      if (value !== expected) throw new Error(`${name}: the search for city ${city} found ${value} objects, expected ${expected}`);
      samples.get(name)?.push(ms);
    }
  }
  return Object.fromEntries(names.map((name) => [name, latency(samples.get(name) ?? [])])) as Record<N, Latency>;
}

export const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(0));
export const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
