/**
 * Step 12, catalog cost (issue 13 item 8): point reads and catalog operations on a server holding
 * few spaces and on one holding many (10 and 10,000; tiny: 10 and 100), in one run. For each: the
 * latency of point gets at 1 in flight, of `add_space` and `rm_space`, and of the first get after
 * each of them (with a table per space, every catalog operation was DDL, and the connections that
 * read next re-parsed the whole schema first: 1.2-1.6 s at 10,000 spaces). The figures should not
 * depend on the number of spaces. With --variants, each variant's server beside this build's, for
 * each number of spaces, paired round by round (the gets, and the catalog operations).
 */
import { join } from 'node:path';
import { type SpacekvClient, connect } from '@spacekv/client';
import type { ChildServer } from './child-server.js';
import { type PairRow, type Sample, describePairs, joinSlices, pairsOf, pairsTable, slicedRound } from './paired.js';
import { CpuMeter } from './proc-stats.js';
import { table } from './markdown.js';
import { int, out, printColumns } from './report.js';
import type { Section } from './section.js';
import { median, percentile } from './stats.js';
import { DEFAULT_SERVER, type ServerVariant } from './variants.js';

export interface CatalogSizes {
  /** The spaces present in each run, fewest first. */
  readonly spaces: readonly number[];
  readonly gets: number;
  /** add_space + rm_space pairs measured. */
  readonly catalogOps: number;
}

/**
 * 400 catalog pairs and 10,000 gets: with 30 pairs, a round lasted about 0.1 s, its server CPU was a
 * few clock ticks (ratios of 0.667 or 1.500) and a control pair of identical servers read 0.875-1.152;
 * with 200 pairs and 5,000 gets in one block per side, the control's medians still read 0.948-1.014 (2026-12-06).
 */
export const CATALOG_FULL: CatalogSizes = { spaces: [10, 10_000], gets: 10_000, catalogOps: 400 };
export const CATALOG_TINY: CatalogSizes = { spaces: [10, 100], gets: 200, catalogOps: 4 };

const OBJECTS = 1_000;
const CREATE_IN_FLIGHT = 64;

interface Figures {
  readonly spaces: number;
  readonly getP50Us: number;
  readonly getP99Us: number;
  readonly addSpaceMs: number;
  readonly rmSpaceMs: number;
  /** Median and largest latency of the first get after a catalog operation. */
  readonly getAfterMedianMs: number;
  readonly getAfterMaxMs: number;
  /** The gets, and the catalog operations with the get after each, as throughput and server CPU (for the variants' pairs). */
  readonly gets: Sample;
  readonly catalogOps: Sample;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/** A server holding `spaces` spaces (and OBJECTS objects in s0), started as `variant` says, with a client on it. */
interface Prepared {
  readonly server: ChildServer;
  readonly client: SpacekvClient;
  readonly spaces: number;
}

async function prepare(dataDir: string, spaces: number, variant: ServerVariant): Promise<Prepared> {
  // The variant's own limits come after, so bounds-off lifts spacesMax too.
  const { server, token } = await variant.start(dataDir, { serveArgs: ['--limit', `spacesMax=${spaces + 10}`] }, ['s*', 'extra*']);
  const c = await connect(server.url, token === undefined ? {} : { token }).catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  for (let from = 0; from < spaces; from += CREATE_IN_FLIGHT) {
    await Promise.all(Array.from({ length: Math.min(CREATE_IN_FLIGHT, spaces - from) }, (_, i) => c.addSpace(`space s${from + i} key k attributes string v`)));
  }
  for (let from = 0; from < OBJECTS; from += 250) {
    await c.tx({ ops: Array.from({ length: 250 }, (_, i) => ({ op: 'put', space: 's0', key: `k${from + i}`, attributes: { v: 'x'.repeat(100) } })) });
  }
  return { server, client: c, spaces };
}

async function release(p: Prepared): Promise<void> {
  await p.client.close();
  await p.server.stop();
}

/** The gets and catalog operations on a prepared server; `tag` keeps the names of its extra spaces apart from an earlier measurement's. */
async function measure(p: Prepared, sizes: CatalogSizes, tag = ''): Promise<Figures> {
  const c = p.client;
  const gets: number[] = [];
  let cpu = new CpuMeter(p.server.pid);
  for (let i = 0; i < sizes.gets; i++) gets.push(await timed(() => c.get('s0', `k${(i * 7919) % OBJECTS}`)));
  const getsCpu = cpu.seconds();
  const adds: number[] = [];
  const rms: number[] = [];
  const after: number[] = [];
  cpu = new CpuMeter(p.server.pid);
  for (let i = 0; i < sizes.catalogOps; i++) {
    adds.push(await timed(() => c.addSpace(`space extra${tag}${i} key k attributes string v`)));
    after.push(await timed(() => c.get('s0', `k${i}`)));
    rms.push(await timed(() => c.rmSpace(`extra${tag}${i}`)));
    after.push(await timed(() => c.get('s0', `k${i + 1}`)));
  }
  const catalogCpu = cpu.seconds();
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  const catalogMs = sum(adds) + sum(rms) + sum(after);
  return {
    spaces: p.spaces,
    getP50Us: percentile(gets, 50) * 1000,
    getP99Us: percentile(gets, 99) * 1000,
    addSpaceMs: median(adds),
    rmSpaceMs: median(rms),
    getAfterMedianMs: median(after),
    getAfterMaxMs: Math.max(...after),
    gets: { opsPerSec: sizes.gets / (sum(gets) / 1000), serverCpuUsPerOp: (getsCpu * 1e6) / sizes.gets },
    // One "operation" is an add_space, an rm_space and the get after each.
    catalogOps: { opsPerSec: sizes.catalogOps / (catalogMs / 1000), serverCpuUsPerOp: (catalogCpu * 1e6) / sizes.catalogOps },
  };
}

/**
 * Slices per side and round. Gets at 1 in flight are latency-bound, and on a shared 2-core machine
 * their rate moves by tens of percent within a second: alternating slices put such a swing on both
 * sides alike (paired.ts).
 */
const SLICES = 4;

/** What a variant's pair compares: the gets, and the catalog operations, of one side's slices joined. */
type PairedFigures = Pick<Figures, 'gets' | 'catalogOps'>;

function joined(slices: readonly Figures[]): PairedFigures {
  return { gets: joinSlices(slices.map((f) => f.gets)), catalogOps: joinSlices(slices.map((f) => f.catalogOps)) };
}

/**
 * Each variant beside this build, for each number of spaces: a server of each prepared once (the
 * spaces made, the objects written), then `rounds` paired rounds on the two, each cut in slices.
 */
async function catalogVariants(root: string, sizes: CatalogSizes, variants: readonly ServerVariant[], rounds: number): Promise<PairRow[]> {
  out(`[12] server variants beside this build, ${rounds} paired round${rounds === 1 ? '' : 's'} of ${SLICES} ABBA slices each, on servers prepared once (ratio per round, median and range):`);
  const slice: CatalogSizes = { ...sizes, gets: Math.max(1, Math.floor(sizes.gets / SLICES)), catalogOps: Math.max(1, Math.floor(sizes.catalogOps / SLICES)) };
  const rows: PairRow[] = [];
  for (const [index, variant] of variants.entries()) {
    for (const spaces of sizes.spaces) {
      const base = await prepare(join(root, `catalog-${index}-${spaces}-default`), spaces, DEFAULT_SERVER);
      try {
        const other = await prepare(join(root, `catalog-${index}-${spaces}-variant`), spaces, variant);
        try {
          const pairs: { base: PairedFigures; variant: PairedFigures }[] = [];
          for (let round = 1; round <= rounds; round++) {
            const slices = await slicedRound(round, SLICES, (side, n) => measure(side === 'default' ? base : other, slice, `r${round}s${n}x`));
            pairs.push({ base: joined(slices.base), variant: joined(slices.variant) });
          }
          for (const [what, figure] of [['point gets', (f: PairedFigures) => f.gets], ['add_space + rm_space (+ a get after each)', (f: PairedFigures) => f.catalogOps]] as const) {
            const step = `${what}, ${int(spaces)} spaces`;
            out(describePairs(`    ${step}`, variant, pairsOf(pairs, figure)));
            rows.push({ step, variant, pairs: pairsOf(pairs, figure) });
          }
        } finally {
          await release(other);
        }
      } finally {
        await release(base);
      }
    }
  }
  return rows;
}

export const catalogSection: Section = {
  id: 'catalog',
  title: 'Catalog cost: reads and add_space/rm_space with few and many spaces',
  byDefault: true,
  async run({ root, options, report }) {
    const sizes = options.tiny ? CATALOG_TINY : CATALOG_FULL;
    out(`\n[12] catalog cost: point gets (1 in flight) and add_space / rm_space with ${sizes.spaces.map(int).join(' and ')} spaces present`);
    const figures: Figures[] = [];
    for (const spaces of sizes.spaces) {
      const prepared = await prepare(join(root, `catalog-${spaces}`), spaces, DEFAULT_SERVER);
      try {
        figures.push(await measure(prepared, sizes));
      } finally {
        await release(prepared);
      }
    }
    const header = ['spaces', 'get p50 µs', 'get p99 µs', 'add_space ms (median)', 'rm_space ms (median)', 'first get after, median ms', 'first get after, max ms'];
    const rows = figures.map((f) => [
      int(f.spaces), int(f.getP50Us), int(f.getP99Us), f.addSpaceMs.toFixed(2), f.rmSpaceMs.toFixed(2), f.getAfterMedianMs.toFixed(2), f.getAfterMaxMs.toFixed(2),
    ]);
    printColumns([header, ...rows]);
    report.add(`${sizes.gets} point gets of 1 KiB-ish objects at 1 in flight, then ${sizes.catalogOps} add_space + rm_space pairs, each followed by a get, over one WebSocket client.\n\n${table(header, rows)}`);
    if (options.variants.length === 0) return;
    const paired = await catalogVariants(root, sizes, options.variants, options.rounds);
    report.add(`### Server variants beside this build\n\nPer number of spaces, a server of this build and one of the variant, each prepared once, then ${options.rounds} rounds `
      + `of the same gets and catalog operations on each, in ${SLICES} ABBA slices per side; the median of the per-round ratios and their range (throughput: over the time the client waited for the answers).\n\n${pairsTable(paired)}`);
  },
};
