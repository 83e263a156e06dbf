/** Step 10 as a bench section: the rows of postgres.ts, then each --variants variant paired with this build (postgres-variants.ts). */
import { postgresBench, printPostgres } from './postgres.js';
import { postgresVariants } from './postgres-variants.js';
import type { Section } from './section.js';

/** Rough rates of spacekv on PostgreSQL here (ops/s at 64 in flight): what the estimate assumes. */
const PUTS_PER_SECOND = 1_500;
const GETS_PER_SECOND = 5_000;

export const postgresSection: Section = {
  id: 'postgres',
  title: 'Step 10: the client workload on PostgreSQL behind 1 and 2 servers, beside raw PostgreSQL',
  byDefault: true,
  async run(c) {
    const o = c.options;
    const figures = await postgresBench(c.root, o.ycsb.postgresUrl, o.postgres, c.problems);
    printPostgres(figures);
    if (o.variants.length > 0 && !('skipped' in figures)) await postgresVariants(c.root, o.ycsb.postgresUrl, o.postgres, o.variants, o.rounds, o.slices, c.problems);
  },
  estimateSeconds({ options: o }) {
    const row = o.postgres.puts / PUTS_PER_SECOND + o.postgres.gets / GETS_PER_SECOND;
    // Four rows (SQLite, 1 and 2 servers, raw), then each variant's pairs; a few seconds of start-up each.
    return 4 * (row + 3) + o.variants.length * (2 * o.rounds * row + 6);
  },
};
