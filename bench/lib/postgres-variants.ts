/**
 * Step 10 with --variants: the 1-server PostgreSQL row (durable puts of fresh keys, then gets of
 * them, `inFlight` outstanding) on the default server and on each variant, paired round by round
 * (paired.ts), each side's puts and gets of a round in slices run alternately (ABBA, --slices).
 * Both servers of a pair stay up, each on a fresh schema of its own, dropped afterwards; each round
 * writes keys of its own, so every put creates an object. Besides the
 * servers' CPU per operation, the CPU of their PostgreSQL backends is compared: a change of layout
 * can move work from the server into PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type SpacekvClient, connect } from '@spacekv/client';
import type { ChildServer } from './child-server.js';
import { runInFlight } from './inflight.js';
import { type Pair, type Sample, describePairs, joinSlices, sliceSizes, slicedRound } from './paired.js';
import { CostMeter, type PostgresSizes, dropSchemas, withSchema } from './postgres.js';
import { out } from './report.js';
import { DEFAULT_SERVER, type ServerVariant } from './variants.js';

const SPACE = 'bench';
const SCHEMA_DSL = `space ${SPACE} key k attributes string v`;
const VALUE = 'x'.repeat(100);

interface Side {
  readonly server: ChildServer;
  readonly client: SpacekvClient;
}

const keyOf = (round: number, i: number): string => `r${round}k${String(i).padStart(8, '0')}`;

/** One phase (the puts or the gets of a round) on one side, with the CPU it cost the server and its PostgreSQL backends. */
async function phase(side: Side, baseUrl: string, run: () => ReturnType<typeof runInFlight>, what: string, problems: string[]): Promise<Sample> {
  const meter = await CostMeter.start([side.server], baseUrl);
  const result = await run();
  const cost = await meter.stop(result.total);
  if (result.wrongResults > 0) problems.push(`step 10 variants, ${what}: ${result.wrongResults} wrong results`);
  return { opsPerSec: result.opsPerSec, serverCpuUsPerOp: cost.serverCpuUsPerPut, storeCpuUsPerOp: cost.pgCpuUsPerPut ?? Number.NaN };
}

export async function postgresVariants(
  root: string, baseUrl: string, sizes: PostgresSizes, variants: readonly ServerVariant[], rounds: number, slices: number, problems: string[],
): Promise<void> {
  const putSlices = sliceSizes(sizes.puts, sizes.inFlight, slices);
  const getSlices = sliceSizes(sizes.gets, sizes.inFlight, slices);
  const written = putSlices.slices * putSlices.opsEach;
  out(`[10] server variants beside this build on PostgreSQL, 1 server each, ${written} puts then ${getSlices.slices * getSlices.opsEach} gets at ${sizes.inFlight} in flight, `
    + `${rounds} paired round${rounds === 1 ? '' : 's'} of ${putSlices.slices} and ${getSlices.slices} ABBA slices per side (ratio per round, median and range):`);
  for (const [index, variant] of variants.entries()) {
    const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
    const schemas = [`bench_pair_default_${tag}`, `bench_pair_variant_${tag}`];
    const sides: Side[] = [];
    const servers: ChildServer[] = [];
    try {
      for (const [i, v] of [DEFAULT_SERVER, variant].entries()) {
        const { server, token } = await v.start(join(root, `pg-variant-${index}-${i}`), { serveArgs: ['--store', withSchema(baseUrl, schemas[i] as string)] }, [SPACE]);
        servers.push(server);
        const client = await connect(server.url, { reconnect: false, ...(token === undefined ? {} : { token }) });
        await client.addSpace(SCHEMA_DSL);
        sides.push({ server, client });
      }
      const [base, other] = sides as [Side, Side];
      const puts: Pair[] = [];
      const gets: Pair[] = [];
      for (let round = 1; round <= rounds; round++) {
        const sideOf = (which: 'default' | 'variant'): [Side, string] => (which === 'default' ? [base, 'this build'] : [other, variant.label]);
        const put = (which: 'default' | 'variant', slice: number): Promise<Sample> => {
          const [side, who] = sideOf(which);
          const first = slice * putSlices.opsEach;
          return phase(side, baseUrl, () => runInFlight(sizes.inFlight, putSlices.opsEach, (i) => side.client.put(SPACE, keyOf(round, first + i), { v: VALUE }), (w) => w.created),
            `put, ${who}`, problems);
        };
        const get = (which: 'default' | 'variant', slice: number): Promise<Sample> => {
          const [side, who] = sideOf(which);
          const first = slice * getSlices.opsEach;
          return phase(side, baseUrl, () => runInFlight(sizes.inFlight, getSlices.opsEach, (i) => side.client.get(SPACE, keyOf(round, (first + i) % written)), (found) => found !== null),
            `get, ${who}`, problems);
        };
        const joined = (sliced: { base: Sample[]; variant: Sample[] }): Pair => ({ base: joinSlices(sliced.base), variant: joinSlices(sliced.variant) });
        puts.push(joined(await slicedRound(round, putSlices.slices, put)));
        gets.push(joined(await slicedRound(round, getSlices.slices, get)));
      }
      out(describePairs('    PostgreSQL, 1 server, put', variant, puts));
      out(describePairs('    PostgreSQL, 1 server, get', variant, gets));
    } finally {
      for (const side of sides) await side.client.close();
      for (const server of servers) {
        const exit = await server.stop();
        if (exit.code !== 0) problems.push(`step 10 variants, ${variant.label}: a server did not shut down cleanly (code ${exit.code})\n${exit.stderrTail}`);
      }
      await dropSchemas(baseUrl, schemas);
    }
  }
}
