/**
 * The YCSB sections of the bench:
 *  - `ycsb`: every peer loads the records, runs the low-load step (workload A paced at 10 operations
 *    per second, one at a time), then workloads A, B, C, F, D, E (YCSB's recommended order: D and E
 *    insert) at each in-flight level;
 *  - `scaling` (behind --scaling): the same peers at 10k, 100k and 1M records, workloads A and C at
 *    64 in flight, to show how throughput and latency change as the data grows.
 * Peers run one after another (one server up at a time on a 2-core machine); each cell is bounded
 * by an operation count and a time, whichever comes first.
 */
import { join } from 'node:path';
import { out } from '../report.js';
import type { Section, SectionContext } from '../section.js';
import { SPACEKV, profiledSpacekv, selectedPeers, variantPeers } from './peers.js';
import { type Pair, pairsTable } from '../paired.js';
import type { ServerVariant } from '../variants.js';
import { type PeerOutcome, type Step, describeStep, peerPlan, runPeer, runPeerPaired, runPeers } from './run-peer.js';
import { reportScaling, reportYcsb } from './tables.js';
import type { WorkloadName } from './workload.js';

/** YCSB's recommended order: the read/update workloads first, then those that insert. */
const RUN_ORDER: readonly WorkloadName[] = ['A', 'B', 'C', 'F', 'D', 'E'];

export const ycsbSection: Section = {
  id: 'ycsb',
  title: 'YCSB core workloads A-F against every peer, and the low-load run',
  byDefault: true,
  async run(c: SectionContext) {
    const y = c.options.ycsb;
    const paced: Step = {
      workload: 'A', inFlight: 1, pacedPerSecond: y.pacedPerSecond, operations: Math.ceil(y.pacedPerSecond * y.pacedSeconds), maxSeconds: y.pacedSeconds + 1,
    };
    const steps: Step[] = [paced];
    for (const workload of RUN_ORDER.filter((w) => y.workloads.includes(w))) {
      for (const inFlight of y.levels) steps.push({ workload, inFlight, operations: y.operations, maxSeconds: y.cellSeconds });
    }
    out(`[ycsb] YCSB workloads ${y.workloads.join(', ')} at ${y.levels.join(', ')} in flight, ${y.records.toLocaleString('en-US')} records of 10 x 100 bytes, `
      + `each cell at most ${y.operations.toLocaleString('en-US')} operations or ${y.cellSeconds} s; low load: workload A paced at ${y.pacedPerSecond}/s for ${y.pacedSeconds} s`);
    const peers = selectedPeers(c);
    const plan = peerPlan('ycsb', y.records, steps, y.seed);
    const outcomes: PeerOutcome[] = [];
    const paired: { step: string; variant: ServerVariant; pairs: readonly Pair[] }[] = [];
    for (const peer of peers) {
      const variants = variantPeers(c, peer);
      const dir = join(c.root, 'ycsb', peer.id);
      if (variants.length === 0) {
        outcomes.push(await runPeer(peer, plan, dir, c.problems));
        continue;
      }
      out(`    ${peer.name}: each cell paired with ${variants.map((v) => v.variant.label).join(', ')}, ${c.options.rounds} round${c.options.rounds === 1 ? '' : 's'} per cell `
        + `in up to ${c.options.slices} ABBA slices per side (the tables show the cell of median throughput of this build)`);
      const run = await runPeerPaired(peer, variants, plan, c.options.rounds, c.options.slices, dir, c.problems);
      outcomes.push(run.outcome);
      for (const v of run.variants) paired.push(...v.cells.map((cell) => ({ step: `${peer.name} ${describeStep(cell.step)}`, variant: v.variant, pairs: cell.pairs })));
    }
    let profiled: PeerOutcome | undefined;
    const profiles = c.options.serverCpuProfDir;
    for (const measured of peers) {
      const peer = profiles === undefined ? undefined : profiledSpacekv(c, measured.id, profiles);
      if (peer === undefined) continue;
      out(`    ${measured.name} under node --cpu-prof, the same workloads again (not in the tables), one profile per workload in ${profiles}:`);
      const outcome = await runPeer(peer, peerPlan('ycsb', y.records, steps.slice(1), y.seed), join(c.root, 'ycsb', `${measured.id}-profiled`), c.problems);
      // The closing note summarises the embedded store's; PostgreSQL's profiles are left for reading by hand.
      if (measured.id === SPACEKV) profiled = outcome;
    }
    reportYcsb(c, outcomes, profiled);
    if (paired.length > 0) {
      c.report.add(`### Server variants beside this build\n\nEach cell run on this build and on the variant in ${c.options.rounds} paired rounds, each side's cell cut into `
        + `up to ${c.options.slices} slices run in ABBA order and joined into its figure of the round; the median of the per-round ratios and their range.\n\n${pairsTable(paired)}`);
    }
  },
  estimateSeconds(c) {
    const o = c.options;
    const y = o.ycsb;
    // A cell ends at --operations or --cell-seconds, whichever comes first, plus its set-up.
    const cells = y.workloads.length * y.levels.length * (Math.min(y.cellSeconds, y.operations / CELL_OPS_PER_SECOND) + 0.2);
    return selectedPeers(c).reduce((sum, peer) => {
      const variants = variantPeers(c, peer).length;
      // A paired cell also has its unmeasured first run on every server.
      const runs = variants === 0 ? 1 : 2 * variants * o.rounds + 1 + variants;
      return sum + (1 + variants) * (y.records / LOADED_PER_SECOND + 3) + y.pacedSeconds + cells * runs;
    }, o.serverCpuProfDir === undefined ? 0 : cells + y.records / LOADED_PER_SECOND);
  },
};

/** Rough records loaded, and operations of a cell, per second by a peer here: what the estimate assumes. */
const LOADED_PER_SECOND = 5_000;
const CELL_OPS_PER_SECOND = 5_000;

export const scalingSection: Section = {
  id: 'scaling',
  title: 'YCSB as the data grows (10k, 100k, 1M records)',
  byDefault: false,
  async run(c: SectionContext) {
    const y = c.options.ycsb;
    out(`[scaling] workloads ${y.scalingWorkloads.join(', ')} at ${y.scalingInFlight} in flight, at ${y.scalingRecords.map((n) => n.toLocaleString('en-US')).join(', ')} records`);
    const runs: { records: number; outcomes: PeerOutcome[] }[] = [];
    for (const records of y.scalingRecords) {
      const steps: Step[] = y.scalingWorkloads.map((workload) => ({ workload, inFlight: y.scalingInFlight, operations: y.operations, maxSeconds: y.cellSeconds }));
      runs.push({ records, outcomes: await runPeers(selectedPeers(c), peerPlan(`scaling-${records}`, records, steps, y.seed), join(c.root, `scaling-${records}`), c.problems) });
    }
    reportScaling(c, runs);
  },
};
