/**
 * The benchmark's sizes. Real sizes by default; `--tiny` (or SPACEKV_BENCH_TINY=1) shrinks every
 * step to about a second or a few hundred operations so the test suite can run the whole benchmark
 * and keep it from rotting (STYLE.md §14). Explicit flags win over either preset.
 */
import { parseArgs } from 'node:util';
import type { EventsSizes } from './events.js';
import type { PostgresSizes } from './postgres.js';

export interface BenchOptions {
  readonly tiny: boolean;
  /** Seconds of each measured HTTP step. */
  readonly durationSeconds: number;
  /** Seconds of load before each measured HTTP step, so every server is measured warm (JIT, caches). */
  readonly warmupSeconds: number;
  /**
   * Rounds of the HTTP steps, interleaved (bare, get, put, bare, ...): drift in what else the machine
   * runs then hits every step alike, and each figure is the median over rounds.
   */
  readonly rounds: number;
  /** Keep-alive connections of the load generator. */
  readonly connections: number;
  /** Keys pre-loaded for the REST get step, and the key range of the put step. */
  readonly keys: number;
  /** Seconds an idle server is sampled for RSS and CPU. */
  readonly idleSeconds: number;
  /** Seconds a server is left alone before idle sampling, so startup work or the last requests' tail are not counted as idling. */
  readonly settleSeconds: number;
  /** Writes of the in-process group-commit workloads (engine and raw SQLite batched). */
  readonly groupWrites: number;
  /** Concurrent writers of the in-process group-commit workload. */
  readonly writers: number;
  /** Writes of the one-commit-per-write workloads: each is an fsync, so far fewer. */
  readonly serialWrites: number;
  /** Step 6, @spacekv/client vs Redis: sizes per in-flight level. */
  readonly clientVsRedis: ClientVsRedisSizes;
  /** Step 7, the codec microbenchmark. */
  readonly codec: CodecSizes;
  /** Step 9, change events to a watcher and an AMQP consumer. */
  readonly events: EventsSizes;
  /** Step 10, the client workload on PostgreSQL (1 and 2 servers) beside raw PostgreSQL. */
  readonly postgres: PostgresSizes;
  /** Only these of the steps added after 5 (6 to 10), skipping steps 1-5 and their table; undefined runs everything. */
  readonly only: ReadonlySet<number> | undefined;
  /** Also write the report (everything printed) as Markdown here. */
  readonly reportPath: string | undefined;
  /** Run step 6's spacekv server with --cpu-prof, writing its profile into this directory. */
  readonly serverCpuProfDir: string | undefined;
}

export interface InFlightLevel {
  /** Operations outstanding at every moment of the steady state. */
  readonly inFlight: number;
  /** Gets, and puts, per round at this level (the same count for spacekv and each peer). */
  readonly getOps: number;
  readonly putOps: number;
}

export interface ClientVsRedisSizes {
  readonly levels: readonly InFlightLevel[];
  /** Rounds, interleaved (every peer at every level, then again); figures are medians over rounds. */
  readonly rounds: number;
  /** Keys pre-loaded for gets (spacekv and the fast Redis). */
  readonly keys: number;
  /** Unmeasured operations per client path before the first round, at 64 in flight. */
  readonly warmupOps: number;
}

export interface CodecSizes {
  /** Timed samples per codec step; the figure is their median. */
  readonly samples: number;
  /** Milliseconds of work per sample. */
  readonly sampleMs: number;
}

/** Step 6 at full size takes about 45-60 s on a 2-core machine: durable puts at 1 in flight are one fsync each, hence few. */
const CLIENT_VS_REDIS_FULL: ClientVsRedisSizes = {
  levels: [
    { inFlight: 1, getOps: 5_000, putOps: 600 },
    { inFlight: 64, getOps: 30_000, putOps: 15_000 },
    { inFlight: 1024, getOps: 50_000, putOps: 40_000 },
  ],
  rounds: 3,
  keys: 10_000,
  warmupOps: 5_000,
};
const CLIENT_VS_REDIS_TINY: ClientVsRedisSizes = {
  levels: [
    { inFlight: 1, getOps: 200, putOps: 50 },
    { inFlight: 64, getOps: 400, putOps: 300 },
    { inFlight: 1024, getOps: 1_536, putOps: 1_536 },
  ],
  rounds: 1,
  keys: 500,
  warmupOps: 200,
};

const FULL = {
  durationSeconds: 10, warmupSeconds: 2, rounds: 3, connections: 64, keys: 10_000, idleSeconds: 5, settleSeconds: 1, groupWrites: 50_000, writers: 256, serialWrites: 2_000,
  clientVsRedis: CLIENT_VS_REDIS_FULL, codec: { samples: 7, sampleMs: 150 }, events: { writes: 20_000, inFlight: 256 },
  postgres: { puts: 20_000, gets: 40_000, inFlight: 64 },
};
const TINY = {
  durationSeconds: 1, warmupSeconds: 0, rounds: 1, connections: 64, keys: 500, idleSeconds: 1, settleSeconds: 0.5, groupWrites: 1_024, writers: 256, serialWrites: 100,
  clientVsRedis: CLIENT_VS_REDIS_TINY, codec: { samples: 1, sampleMs: 5 }, events: { writes: 300, inFlight: 64 },
  postgres: { puts: 300, gets: 300, inFlight: 16 },
};

export const USAGE = `usage: node bench/dist/run.js [--tiny] [--duration <s>] [--connections <n>] [--rounds <n>] [--only 6,7] [--report <path>]
  --tiny             each step runs ~1 s or a few hundred operations (also SPACEKV_BENCH_TINY=1)
  --duration <s>     seconds of each HTTP step (default 10, tiny 1)
  --connections <n>  keep-alive connections of the load generator (default 64)
  --rounds <n>       interleaved rounds of the HTTP steps, figures are medians (default 3, tiny 1)
  --only <list>      run only these of steps 6 (client vs Redis), 7 (codec), 8 (search), 9 (change events) and 10 (PostgreSQL), e.g. --only 8,10
  --report <path>    also write the report (everything printed) to this Markdown file
  --server-cpu-prof <dir>  run step 6's spacekv server with node --cpu-prof, profile in <dir>`;

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      tiny: { type: 'boolean', default: false },
      duration: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      report: { type: 'string' },
      'server-cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const tiny = values.tiny === true || env.SPACEKV_BENCH_TINY === '1';
  const preset = tiny ? TINY : FULL;
  return {
    ...preset,
    tiny,
    durationSeconds: values.duration === undefined ? preset.durationSeconds : positive('--duration', values.duration, false),
    connections: values.connections === undefined ? preset.connections : positive('--connections', values.connections, true),
    rounds: values.rounds === undefined ? preset.rounds : positive('--rounds', values.rounds, true),
    only: values.only === undefined ? undefined : onlySteps(values.only),
    reportPath: values.report,
    serverCpuProfDir: values['server-cpu-prof'],
  };
}

function onlySteps(raw: string): ReadonlySet<number> {
  const steps = raw.split(',').map((s) => Number(s.trim()));
  if (steps.length === 0 || steps.some((n) => ![6, 7, 8, 9, 10].includes(n))) throw new Error(`--only takes steps 6, 7, 8, 9 and/or 10 (e.g. --only 8,10), got '${raw}'\n${USAGE}`);
  return new Set(steps);
}

function positive(flag: string, raw: string, integer: boolean): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag} takes a positive ${integer ? 'integer' : 'number'}, got '${raw}'\n${USAGE}`);
  }
  return n;
}
