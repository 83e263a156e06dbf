// The process the purge crash test kills with SIGKILL: it opens a store in the data directory given
// as its argument, fills space `doomed` (indexed) with ROWS objects, removes it, runs STEPS purge slices, says
// `purging` on stdout and waits to be killed, its purge part done.
import { makeLimits } from '@spacekv/core';
import { LayoutFixture, PURGE_CHILD, fill } from './layout-fixture.js';

const { rows: ROWS, sliceRows: SLICE_ROWS, steps: STEPS } = PURGE_CHILD;

async function main(dir: string): Promise<void> {
  const fx = await LayoutFixture.open(dir, makeLimits({ purgeBatchRowsMax: SLICE_ROWS }));
  await fx.run({ op: 'add_space', schema: 'space doomed key k attributes int n index n' });
  await fill(fx, 'doomed', ROWS);
  await fx.run({ op: 'rm_space', space: 'doomed' });
  for (let i = 0; i < STEPS; i++) await fx.store.purgeRemoved();
  process.stdout.write('purging\n');
  setInterval(() => undefined, 60_000); // until the SIGKILL
}

if (process.argv[2] !== undefined) void main(process.argv[2]);
