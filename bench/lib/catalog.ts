/**
 * Step 12, catalog cost (issue 13 item 8): point reads and catalog operations on a server holding
 * few spaces and on one holding many (10 and 10,000; tiny: 10 and 100), in one run. For each: the
 * latency of point gets at 1 in flight, of `add_space` and `rm_space`, and of the first get after
 * each of them (with a table per space, every catalog operation was DDL, and the connections that
 * read next re-parsed the whole schema first: 1.2-1.6 s at 10,000 spaces). The figures should not
 * depend on the number of spaces.
 */
import { join } from 'node:path';
import { type SpacekvClient, connect } from '@spacekv/client';
import { startSpacekvServer } from './child-server.js';
import { table } from './markdown.js';
import { int, out, printColumns } from './report.js';
import type { Section } from './section.js';
import { median, percentile } from './stats.js';

export interface CatalogSizes {
  /** The spaces present in each run, fewest first. */
  readonly spaces: readonly number[];
  readonly gets: number;
  /** add_space + rm_space pairs measured. */
  readonly catalogOps: number;
}

export const CATALOG_FULL: CatalogSizes = { spaces: [10, 10_000], gets: 5_000, catalogOps: 30 };
export const CATALOG_TINY: CatalogSizes = { spaces: [10, 100], gets: 200, catalogOps: 3 };

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
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

async function measure(dataDir: string, spaces: number, sizes: CatalogSizes): Promise<Figures> {
  const server = await startSpacekvServer(dataDir, { serveArgs: ['--limit', `spacesMax=${spaces + 10}`] });
  let client: SpacekvClient | undefined;
  try {
    client = await connect(server.url);
    const c = client;
    for (let from = 0; from < spaces; from += CREATE_IN_FLIGHT) {
      await Promise.all(Array.from({ length: Math.min(CREATE_IN_FLIGHT, spaces - from) }, (_, i) => c.addSpace(`space s${from + i} key k attributes string v`)));
    }
    for (let from = 0; from < OBJECTS; from += 250) {
      await c.tx({ ops: Array.from({ length: 250 }, (_, i) => ({ op: 'put', space: 's0', key: `k${from + i}`, attributes: { v: 'x'.repeat(100) } })) });
    }
    const gets: number[] = [];
    for (let i = 0; i < sizes.gets; i++) gets.push(await timed(() => c.get('s0', `k${(i * 7919) % OBJECTS}`)));
    const adds: number[] = [];
    const rms: number[] = [];
    const after: number[] = [];
    for (let i = 0; i < sizes.catalogOps; i++) {
      adds.push(await timed(() => c.addSpace(`space extra${i} key k attributes string v`)));
      after.push(await timed(() => c.get('s0', `k${i}`)));
      rms.push(await timed(() => c.rmSpace(`extra${i}`)));
      after.push(await timed(() => c.get('s0', `k${i + 1}`)));
    }
    return {
      spaces,
      getP50Us: percentile(gets, 50) * 1000,
      getP99Us: percentile(gets, 99) * 1000,
      addSpaceMs: median(adds),
      rmSpaceMs: median(rms),
      getAfterMedianMs: median(after),
      getAfterMaxMs: Math.max(...after),
    };
  } finally {
    await client?.close();
    await server.stop();
  }
}

export const catalogSection: Section = {
  id: 'catalog',
  title: 'Catalog cost: reads and add_space/rm_space with few and many spaces',
  byDefault: true,
  async run({ root, options, report }) {
    const sizes = options.tiny ? CATALOG_TINY : CATALOG_FULL;
    out(`\n[12] catalog cost: point gets (1 in flight) and add_space / rm_space with ${sizes.spaces.map(int).join(' and ')} spaces present`);
    const figures: Figures[] = [];
    for (const spaces of sizes.spaces) figures.push(await measure(join(root, `catalog-${spaces}`), spaces, sizes));
    const header = ['spaces', 'get p50 µs', 'get p99 µs', 'add_space ms (median)', 'rm_space ms (median)', 'first get after, median ms', 'first get after, max ms'];
    const rows = figures.map((f) => [
      int(f.spaces), int(f.getP50Us), int(f.getP99Us), f.addSpaceMs.toFixed(2), f.rmSpaceMs.toFixed(2), f.getAfterMedianMs.toFixed(2), f.getAfterMaxMs.toFixed(2),
    ]);
    printColumns([header, ...rows]);
    report.add(`${sizes.gets} point gets of 1 KiB-ish objects at 1 in flight, then ${sizes.catalogOps} add_space + rm_space pairs, each followed by a get, over one WebSocket client.\n\n${table(header, rows)}`);
  },
};
