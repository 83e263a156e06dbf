/**
 * The targets spacekv holds itself to on this machine, and the honest verdict for each: a figure
 * either meets its target (PASS) or not (MISS); nothing is rounded in its favour.
 */
import type { LoadResult } from './load.js';
import type { IdleSample } from './proc-stats.js';
import type { EngineFigures } from './store-workloads.js';

export const TARGETS = {
  /** REST get throughput as a percentage of bare node:http's. */
  restGetVsBarePercentMin: 60,
  /** Durable REST put throughput as a percentage of bare node:http's. */
  restPutVsBarePercentMin: 45,
  /** Group-commit throughput over one commit per write. */
  groupCommitGainMin: 5,
  idleRssMbMax: 100,
  idleCpuPercentMax: 1,
} as const;

export interface Verdict {
  readonly name: string;
  readonly measured: string;
  readonly target: string;
  readonly pass: boolean;
}

export interface TargetInputs {
  readonly bare: LoadResult;
  readonly restGet: LoadResult;
  readonly restPut: LoadResult;
  readonly engine: EngineFigures;
  readonly idle: IdleSample;
}

export function verdicts(f: TargetInputs): Verdict[] {
  const getShare = f.restGet.reqPerSec / f.bare.reqPerSec;
  const putShare = f.restPut.reqPerSec / f.bare.reqPerSec;
  const gain = f.engine.groupCommit.opsPerSec / f.engine.commitPerWrite.opsPerSec;
  // Each verdict judges the figure as printed, so a printed "1.00%" can never pass "< 1%".
  const getPct = shown(getShare * 100, 1);
  const putPct = shown(putShare * 100, 1);
  const gainShown = shown(gain, 1);
  const rss = shown(f.idle.rssMb, 1);
  const cpu = shown(f.idle.cpuPercent, 2);
  return [
    { name: 'REST get vs bare node:http', measured: `${getPct.toFixed(1)}%`, target: `>= ${TARGETS.restGetVsBarePercentMin}%`, pass: getPct >= TARGETS.restGetVsBarePercentMin },
    { name: 'durable REST put vs bare node:http', measured: `${putPct.toFixed(1)}%`, target: `>= ${TARGETS.restPutVsBarePercentMin}%`, pass: putPct >= TARGETS.restPutVsBarePercentMin },
    { name: 'group commit vs one commit per write', measured: `${gainShown.toFixed(1)}x`, target: `>= ${TARGETS.groupCommitGainMin}x`, pass: gainShown >= TARGETS.groupCommitGainMin },
    { name: 'idle RSS', measured: `${rss.toFixed(1)} MB`, target: `< ${TARGETS.idleRssMbMax} MB`, pass: rss < TARGETS.idleRssMbMax },
    { name: 'idle CPU', measured: `${cpu.toFixed(2)}%`, target: `< ${TARGETS.idleCpuPercentMax}%`, pass: cpu < TARGETS.idleCpuPercentMax },
  ];
}

/** The figure rounded as it is printed; NaN stays NaN, which fails every comparison. */
function shown(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}
