/**
 * Step 8 with --variants: the searched space (search-data.ts) on a SQLite server of this build and
 * on one of each variant, each loaded and indexed once, then paired round by round: the indexed
 * equality searches on `city` and on `info.city`, the count of an indexed range, and the unindexed
 * search that scans the whole space. The load and the index builds happen once per server, so their
 * ratios are of one pair. The PostgreSQL part of step 8 is not paired.
 */
import { join } from 'node:path';
import { type SpacekvClient, connect } from '@spacekv/client';
import type { ChildServer } from './child-server.js';
import { type PairRow, type Sample, describePairs, pairedRounds, pairsOf } from './paired.js';
import { CpuMeter } from './proc-stats.js';
import { int, out } from './report.js';
import { MATCHES_PER_CITY, type SearchSizes, buildIndexes, citiesOf, loadPeople, spacekvCityQuery, unindexedScan } from './search-data.js';
import { DEFAULT_SERVER, type ServerVariant } from './variants.js';

const INDEXED = ['city', 'age', 'info.city'] as const;

interface Loaded {
  readonly server: ChildServer;
  readonly db: SpacekvClient;
  /** The load and the three index builds, as objects per second and the server's CPU per object. */
  readonly load: Sample;
  readonly indexBuilds: Sample;
}

interface RoundFigures {
  readonly city: Sample;
  readonly path: Sample;
  readonly countRange: Sample;
  readonly scan: Sample;
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
    return { server, db, load: perObject(load), indexBuilds: perObject(indexBuilds) };
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

async function round(l: Loaded, sizes: SearchSizes): Promise<RoundFigures> {
  const cities = citiesOf(sizes);
  const expected = Math.min(MATCHES_PER_CITY, sizes.objects);
  const equality = async (attribute: string): Promise<Sample> => {
    const query = await spacekvCityQuery(l.db, attribute);
    return sampled(l.server, sizes.searches, async (i) => {
      const found = await query(`c${(i * 7919) % cities}`);
      if (found !== expected) throw new Error(`search on ${attribute}: found ${found} objects, expected ${expected}`);
    });
  };
  return {
    city: await equality('city'),
    path: await equality('info.city'),
    countRange: await sampled(l.server, sizes.counts, () => l.db.count('people', { age: { lt: 50 } })),
    scan: await sampled(l.server, 1, () => unindexedScan(l.db)),
  };
}

export async function searchVariants(root: string, sizes: SearchSizes, variants: readonly ServerVariant[], rounds: number, problems: string[]): Promise<PairRow[]> {
  out(`[8] server variants beside this build (SQLite), ${int(sizes.objects)} objects loaded and indexed once per server, then ${rounds} paired round${rounds === 1 ? '' : 's'} (ratio per round, median and range):`);
  const rows: PairRow[] = [];
  const add = (step: string, variant: ServerVariant, pairs: PairRow['pairs']): void => {
    out(describePairs(`    ${step}`, variant, pairs));
    rows.push({ step, variant, pairs });
  };
  for (const [index, variant] of variants.entries()) {
    const base = await loaded(join(root, `search-variant-${index}-default`), sizes, DEFAULT_SERVER);
    try {
      const other = await loaded(join(root, `search-variant-${index}-variant`), sizes, variant);
      try {
        add('load (tx of 1,000 puts), objects/s', variant, [{ base: base.load, variant: other.load }]);
        add('add_index of city, age and info.city, objects/s', variant, [{ base: base.indexBuilds, variant: other.indexBuilds }]);
        const pairs = await pairedRounds(rounds, (side) => round(side === 'default' ? base : other, sizes));
        add(`indexed equality search on city (${int(sizes.searches)} searches of 100 objects)`, variant, pairsOf(pairs, (f) => f.city));
        add(`indexed equality search on info.city (${int(sizes.searches)} searches)`, variant, pairsOf(pairs, (f) => f.path));
        add(`count of an indexed range (${int(sizes.counts)} counts)`, variant, pairsOf(pairs, (f) => f.countRange));
        add('unindexed search scanning the whole space', variant, pairsOf(pairs, (f) => f.scan));
      } finally {
        await release(other, problems);
      }
    } finally {
      await release(base, problems);
    }
  }
  return rows;
}
