/**
 * Step 8 with --variants: the searched space (search-data.ts) on a SQLite server of this build and
 * on one of each variant, paired round by round. In every round each side starts a fresh server
 * that loads the space and builds its three indexes (the default first in odd rounds), so the load
 * and the index builds are paired per round like the rest instead of being one pair per run; then,
 * with both servers up, the indexed equality searches on `city` and on `info.city`, the count of an
 * indexed range and the unindexed search that scans the whole space run in ABBA slices (paired.ts),
 * so load that changes within the round falls on both sides alike. The PostgreSQL part of step 8
 * is not paired.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type SpacekvClient, connect } from '@spacekv/client';
import type { ChildServer } from './child-server.js';
import { type Pair, type PairRow, type Sample, couplesOf, describePairs, evenRounds, joinSlices, pairedRound, pairsOf, slicedRound } from './paired.js';
import { CpuMeter } from './proc-stats.js';
import { int, out } from './report.js';
import { type CityQuery, MATCHES_PER_CITY, type SearchSizes, buildIndexes, citiesOf, loadPeople, spacekvCityQuery, unindexedScan } from './search-data.js';
import { DEFAULT_SERVER, type ServerVariant } from './variants.js';

const INDEXED = ['city', 'age', 'info.city'] as const;
/** Slices per side and round: each holds a quarter of the searches and counts and one whole scan. */
const SLICES = 4;

interface Loaded {
  readonly server: ChildServer;
  readonly db: SpacekvClient;
  /** The load and the three index builds, as objects per second and the server's CPU per object. */
  readonly load: Sample;
  readonly indexBuilds: Sample;
  /** Equality searches on `city` and on the document path `info.city`, each checked to use its index. */
  readonly city: CityQuery;
  readonly path: CityQuery;
}

interface SliceFigures {
  readonly city: Sample;
  readonly path: Sample;
  readonly countRange: Sample;
  readonly scan: Sample;
}

interface RoundFigures extends SliceFigures {
  readonly load: Sample;
  readonly indexBuilds: Sample;
}

/** `n` calls of `run`, one at a time: calls per second and the server's CPU per call. */
async function sampled(server: ChildServer, n: number, run: (i: number) => Promise<unknown>): Promise<Sample> {
  const cpu = new CpuMeter(server.pid);
  const started = performance.now();
  for (let i = 0; i < n; i++) await run(i);
  return { opsPerSec: n / ((performance.now() - started) / 1000), serverCpuUsPerOp: (cpu.seconds() * 1e6) / n };
}

async function loaded(dir: string, sizes: SearchSizes, variant: ServerVariant): Promise<Loaded> {
  const { server, token } = await variant.start(dir, {}, ['people']);
  try {
    const db = await connect(server.url, token === undefined ? {} : { token });
    const load = await sampled(server, 1, () => loadPeople(db, sizes.objects, citiesOf(sizes)));
    const indexBuilds = await sampled(server, 1, () => buildIndexes(db, INDEXED));
    const perObject = (s: Sample): Sample => ({ opsPerSec: s.opsPerSec * sizes.objects, serverCpuUsPerOp: s.serverCpuUsPerOp / sizes.objects });
    return {
      server, db, load: perObject(load), indexBuilds: perObject(indexBuilds),
      city: await spacekvCityQuery(db, 'city'), path: await spacekvCityQuery(db, 'info.city'),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function release(l: Loaded, problems: string[]): Promise<void> {
  await l.db.close();
  const exit = await l.server.stop();
  if (exit.code !== 0) problems.push(`search: a variant's server did not shut down cleanly (code ${exit.code})\n${exit.stderrTail}`);
}

/** Slice `slice` of a round on one server: its share of the searches (on cities of its own) and counts, and one scan. */
async function slice(l: Loaded, sizes: SearchSizes, slice: number): Promise<SliceFigures> {
  const cities = citiesOf(sizes);
  const expected = Math.min(MATCHES_PER_CITY, sizes.objects);
  const searches = Math.max(1, Math.floor(sizes.searches / SLICES));
  const equality = (attribute: string, query: CityQuery): Promise<Sample> => sampled(l.server, searches, async (i) => {
    const found = await query(`c${((slice * searches + i) * 7919) % cities}`);
    if (found !== expected) throw new Error(`search on ${attribute}: found ${found} objects, expected ${expected}`);
  });
  return {
    city: await equality('city', l.city),
    path: await equality('info.city', l.path),
    countRange: await sampled(l.server, Math.max(1, Math.floor(sizes.pairedCounts / SLICES)), () => l.db.count('people', { age: { lt: 50 } })),
    scan: await sampled(l.server, 1, () => unindexedScan(l.db)),
  };
}

/** One paired round on two fresh servers, stopped and their data removed at its end. */
async function freshRound(dir: (side: string) => string, sizes: SearchSizes, variant: ServerVariant, round: number, problems: string[]): Promise<{ base: RoundFigures; variant: RoundFigures }> {
  const up: Loaded[] = [];
  const start = async (side: 'default' | 'variant'): Promise<Loaded> => {
    const l = await loaded(dir(side), sizes, side === 'default' ? DEFAULT_SERVER : variant);
    up.push(l);
    return l;
  };
  try {
    const servers = await pairedRound(round, () => start('default'), () => start('variant'));
    const slices = await slicedRound(round, SLICES, (side, n) => slice(side === 'default' ? servers.base : servers.variant, sizes, n));
    const figures = (l: Loaded, s: readonly SliceFigures[]): RoundFigures => ({
      load: l.load, indexBuilds: l.indexBuilds,
      city: joinSlices(s.map((f) => f.city)), path: joinSlices(s.map((f) => f.path)),
      countRange: joinSlices(s.map((f) => f.countRange)), scan: joinSlices(s.map((f) => f.scan)),
    });
    return { base: figures(servers.base, slices.base), variant: figures(servers.variant, slices.variant) };
  } finally {
    for (const l of up) await release(l, problems);
    await Promise.all(['default', 'variant'].map((side) => rm(dir(side), { recursive: true, force: true })));
  }
}

export async function searchVariants(root: string, sizes: SearchSizes, variants: readonly ServerVariant[], requestedRounds: number, problems: string[]): Promise<PairRow[]> {
  const rounds = evenRounds(requestedRounds); // the load and the index builds are judged on couples of rounds
  out(`[8] server variants beside this build (SQLite), ${rounds} paired rounds, each on two fresh servers that load ${int(sizes.objects)} objects `
    + `and build the indexes, then search in ${SLICES} ABBA slices (ratio per round, median and range):`);
  const rows: PairRow[] = [];
  const add = (step: string, variant: ServerVariant, pairs: readonly Pair[]): void => {
    out(describePairs(`    ${step}`, variant, pairs));
    rows.push({ step, variant, pairs });
  };
  for (const [index, variant] of variants.entries()) {
    const pairs: { base: RoundFigures; variant: RoundFigures }[] = [];
    for (let round = 1; round <= rounds; round++) {
      pairs.push(await freshRound((side) => join(root, `search-variant-${index}-r${round}-${side}`), sizes, variant, round, problems));
    }
    // Measured once per round, in the order of pairedRound: judged on couples of rounds.
    add('load (tx of 1,000 puts), objects/s', variant, couplesOf(pairsOf(pairs, (f) => f.load)));
    add('add_index of city, age and info.city, objects/s', variant, couplesOf(pairsOf(pairs, (f) => f.indexBuilds)));
    add(`indexed equality search on city (${int(sizes.searches)} searches of 100 objects)`, variant, pairsOf(pairs, (f) => f.city));
    add(`indexed equality search on info.city (${int(sizes.searches)} searches)`, variant, pairsOf(pairs, (f) => f.path));
    add(`count of an indexed range (${int(sizes.pairedCounts)} counts)`, variant, pairsOf(pairs, (f) => f.countRange));
    add(`unindexed search scanning the whole space (${SLICES} scans)`, variant, pairsOf(pairs, (f) => f.scan));
  }
  return rows;
}
