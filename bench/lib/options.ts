/**
 * The benchmark's sizes. Real sizes by default; `--tiny` (or SPACEKV_BENCH_TINY=1) shrinks every
 * step to about a second or a few hundred operations so the test suite can run the whole benchmark
 * and keep it from rotting (STYLE.md §14). Explicit flags win over either preset.
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EventsSizes } from './events.js';
import { OPS_FULL, OPS_TINY, type OpsSizes } from './ops.js';
import type { PostgresSizes } from './postgres.js';
import { type ServerVariant, parseVariants } from './variants.js';
import { WORKLOADS, type WorkloadName } from './ycsb/workload.js';

export interface BenchOptions {
  /** --help: print the usage and the sections, run nothing. */
  readonly help: boolean;
  readonly tiny: boolean;
  /** Seconds of each measured HTTP step. */
  readonly durationSeconds: number;
  /** Seconds of load before each measured HTTP step, so every server is measured warm (JIT, caches). */
  readonly warmupSeconds: number;
  /**
   * Rounds of the HTTP steps, interleaved (bare, get, put, bare, ...): drift in what else the machine
   * runs then hits every step alike, and each figure is the median over rounds. An explicit
   * --rounds also sets step 6's, and the paired rounds of every variant (steps 10 and YCSB too).
   */
  readonly rounds: number;
  /**
   * Slices per side of each paired round of steps 2-3, 6, 10 and YCSB (paired.ts's slicedRound):
   * the round's run of each side cut into this many, run alternately in ABBA order.
   */
  readonly slices: number;
  /** Server variants measured beside the default server, paired round by round (variants.ts, paired.ts). */
  readonly variants: readonly ServerVariant[];
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
  /** Step 10, the client workload on PostgreSQL (1 and 2 servers) beside raw PostgreSQL; its URL is --pg-url. */
  readonly postgres: PostgresSizes;
  /** Step 11, export and import beside the stores' dump tools. */
  readonly ops: OpsSizes;
  /** Step 8: objects in the searched space (--search-objects); undefined: the preset's (1,000,000, tiny 2,000). */
  readonly searchObjects: number | undefined;
  /** The YCSB sections (ycsb, scaling). */
  readonly ycsb: YcsbSizes;
  /** Only the sections with these ids; undefined runs the default ones (and those enabled by flags). */
  readonly only: ReadonlySet<string> | undefined;
  /** Sections outside the default set that their own flag turned on (--scaling). */
  readonly enabled: ReadonlySet<string>;
  /** Also write the Markdown report here (charts beside it). */
  readonly reportPath: string | undefined;
  /** A sentence for the report's head: what the figures should be read with (e.g. "the machine was shared"). */
  readonly note: string | undefined;
  /** Add a profiled pass of spacekv to the YCSB section (node --cpu-prof), writing its profiles into this directory. */
  readonly serverCpuProfDir: string | undefined;
}

export interface YcsbSizes {
  /** Records loaded before the workloads run. */
  readonly records: number;
  /** Most operations of one cell (one workload, one in-flight level, one peer). */
  readonly operations: number;
  /** Most seconds of one cell: whichever bound comes first ends it. */
  readonly cellSeconds: number;
  readonly levels: readonly number[];
  readonly workloads: readonly WorkloadName[];
  /** Peer ids to run; undefined = all. */
  readonly peers: ReadonlySet<string> | undefined;
  /** The low-load run: workload A paced at this many operations per second, one at a time... */
  readonly pacedPerSecond: number;
  /** ...for this many seconds. */
  readonly pacedSeconds: number;
  /** The scaling run: these record counts... */
  readonly scalingRecords: readonly number[];
  /** ...each with these workloads at this in-flight level. */
  readonly scalingWorkloads: readonly WorkloadName[];
  readonly scalingInFlight: number;
  /** The PostgreSQL of the raw peer (and of spacekv's PostgreSQL store, where the build has one). */
  readonly postgresUrl: string;
  /** Connections of the raw PostgreSQL peer's pool. */
  readonly postgresConnections: number;
  /** Seed of every cell's operation sequence: the same for every peer. */
  readonly seed: number;
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

const YCSB_FULL: YcsbSizes = {
  records: 100_000, operations: 200_000, cellSeconds: 5, levels: [1, 64, 1024], workloads: WORKLOADS.map((w) => w.name), peers: undefined,
  pacedPerSecond: 10, pacedSeconds: 15, scalingRecords: [10_000, 100_000, 1_000_000], scalingWorkloads: ['A', 'C'], scalingInFlight: 64,
  postgresUrl: 'postgres://postgres@127.0.0.1:5432/test', postgresConnections: 4, seed: 1,
};
const YCSB_TINY: YcsbSizes = {
  ...YCSB_FULL, records: 300, operations: 200, cellSeconds: 2, pacedSeconds: 1, scalingRecords: [100, 300, 1_000],
};

const FULL = {
  durationSeconds: 10, warmupSeconds: 2, rounds: 3, connections: 64, keys: 10_000, idleSeconds: 5, settleSeconds: 1, groupWrites: 50_000, writers: 256, serialWrites: 2_000, slices: 4,
  clientVsRedis: CLIENT_VS_REDIS_FULL, codec: { samples: 7, sampleMs: 150 }, events: { writes: 20_000, inFlight: 256 }, ycsb: YCSB_FULL,
  postgres: { puts: 20_000, gets: 40_000, inFlight: 64 }, ops: OPS_FULL,
};
const TINY = {
  durationSeconds: 1, warmupSeconds: 0, rounds: 1, connections: 64, keys: 500, idleSeconds: 1, settleSeconds: 0.5, groupWrites: 1_024, writers: 256, serialWrites: 100, slices: 4,
  clientVsRedis: CLIENT_VS_REDIS_TINY, codec: { samples: 1, sampleMs: 5 }, events: { writes: 300, inFlight: 64 }, ycsb: YCSB_TINY,
  postgres: { puts: 300, gets: 300, inFlight: 16 }, ops: OPS_TINY,
};

export const USAGE = `usage: npm run bench -- [options]   (or node bench/dist/run.js [options])
  --tiny                 every section shrunk to a few hundred operations (also SPACEKV_BENCH_TINY=1); what npm test runs
  --only <ids>           run only these sections, e.g. --only ycsb,codec (ids: listed below)
  --report <path|auto>   write the Markdown report there, charts (SVG) beside it; auto = bench/results/<date>-<host>.md
  --note <text>          a note for the report's head, e.g. --note "the machine was shared with other work"
  --server-cpu-prof <dir> YCSB adds a pass of each spacekv peer it measured (SQLite, PostgreSQL) under node --cpu-prof
                         after the measured ones (no figure in the tables is measured under the profiler), one profile
                         per workload and server thread in <dir>; SQLite's are summarised in the report's closing note
 HTTP steps:
  --duration <s>         seconds of each HTTP step (default 10, tiny 1)
  --connections <n>      keep-alive connections of the load generator (default 64)
  --rounds <n>           interleaved rounds of the HTTP steps and of step 6, figures are medians (default 3, tiny 1);
                         also the paired rounds of each variant in steps 10 and YCSB
  --variants <list>      measure server variants beside the default server, paired and interleaved round by round
                         (steps 2-3, 6, 8, 9, 10, 11, 12, YCSB spacekv peers): bounds-off, bounds-off=<limit>[+<limit>...] (only
                         those off), new-bounds-off (the bounds added since issue 13 was filed), auth-on,
                         build=<dir>[:label] (another built checkout's server, e.g.
                         build=/work/base/f5d9958:old-layout)
  --slices <n>           steps 2-3, 6, 10 and YCSB with --variants: each side's run of a round in n slices, run alternately
                         in ABBA order (A B B A A B B A), so load that changes within a round falls on both alike (default 4;
                         a slice keeps at least 4x the in-flight level and 100 operations; an HTTP slice is a number of
                         requests, a YCSB slice a share of the cell's operations and time)
 YCSB:
  --records <n>          records loaded (default 100000, tiny 300)
  --operations <n>       most operations per cell (workload x in-flight level x peer) (default 200000, tiny 200)
  --cell-seconds <s>     most seconds per cell (default 5, tiny 2)
  --in-flight <list>     in-flight levels (default 1,64,1024)
  --workloads <list>     YCSB workloads (default A,B,C,D,E,F)
  --peers <ids>          peers to run (default all): spacekv, spacekv-pg, redis, redis-aof, postgres, sqlite, denokv, etcd
  --scaling              also run the scaling section (records 10000,100000,1000000; tiny 100,300,1000)
  --scaling-records <list>  record counts of the scaling section
  --ops-objects <n>      objects exported and imported in step 11 (default 1000000, tiny 500)
  --search-objects <n>   objects in the searched space of step 8 (default 1000000, tiny 2000)
  --pg-url <url>         PostgreSQL for the raw peers and spacekv's PostgreSQL store (YCSB, steps 8 and 10) (default postgres://postgres@127.0.0.1:5432/test,
                         or SPACEKV_BENCH_PG_URL)`;

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      tiny: { type: 'boolean', default: false },
      duration: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      variants: { type: 'string' },
      slices: { type: 'string' },
      only: { type: 'string' },
      report: { type: 'string' },
      note: { type: 'string' },
      'server-cpu-prof': { type: 'string' },
      records: { type: 'string' },
      operations: { type: 'string' },
      'cell-seconds': { type: 'string' },
      'in-flight': { type: 'string' },
      workloads: { type: 'string' },
      peers: { type: 'string' },
      scaling: { type: 'boolean', default: false },
      'scaling-records': { type: 'string' },
      'pg-url': { type: 'string' },
      'ops-objects': { type: 'string' },
      'search-objects': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });

  const tiny = values.tiny === true || env.SPACEKV_BENCH_TINY === '1';
  const preset = tiny ? TINY : FULL;
  const rounds = values.rounds === undefined ? undefined : positive('--rounds', values.rounds, true);
  return {
    ...preset,
    help: values.help === true,
    tiny,
    durationSeconds: values.duration === undefined ? preset.durationSeconds : positive('--duration', values.duration, false),
    connections: values.connections === undefined ? preset.connections : positive('--connections', values.connections, true),
    rounds: rounds ?? preset.rounds,
    slices: values.slices === undefined ? preset.slices : positive('--slices', values.slices, true),
    variants: values.variants === undefined ? [] : parseVariants(list(values.variants)),
    clientVsRedis: rounds === undefined ? preset.clientVsRedis : { ...preset.clientVsRedis, rounds },
    only: values.only === undefined ? undefined : new Set(list(values.only)),
    enabled: new Set(values.scaling === true ? ['scaling'] : []),
    reportPath: values.report,
    note: values.note,
    serverCpuProfDir: values['server-cpu-prof'],
    ycsb: ycsbSizes(preset.ycsb, values, env),
    ops: values['ops-objects'] === undefined ? preset.ops : { objects: positive('--ops-objects', values['ops-objects'], true) },
    searchObjects: values['search-objects'] === undefined ? undefined : positive('--search-objects', values['search-objects'], true),
  };
}

function ycsbSizes(preset: YcsbSizes, v: Readonly<Record<string, string | boolean | undefined>>, env: NodeJS.ProcessEnv): YcsbSizes {
  const str = (name: string): string | undefined => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
  const int = (name: string, fallback: number): number => {
    const raw = str(name);
    return raw === undefined ? fallback : positive(`--${name}`, raw, true);
  };
  const ints = (name: string, fallback: readonly number[]): readonly number[] => {
    const raw = str(name);
    return raw === undefined ? fallback : list(raw).map((x) => positive(`--${name}`, x, true));
  };
  const workloads = str('workloads') === undefined ? preset.workloads : list(str('workloads') as string).map((w) => {
    const name = w.toUpperCase();
    if (!WORKLOADS.some((known) => known.name === name)) throw new Error(`--workloads takes YCSB workloads A-F, got '${w}'\n${USAGE}`);
    return name as WorkloadName;
  });
  const cellSeconds = str('cell-seconds');
  return {
    ...preset,
    records: int('records', preset.records),
    operations: int('operations', preset.operations),
    cellSeconds: cellSeconds === undefined ? preset.cellSeconds : positive('--cell-seconds', cellSeconds, false),
    levels: ints('in-flight', preset.levels),
    workloads,
    peers: str('peers') === undefined ? preset.peers : new Set(list(str('peers') as string)),
    scalingRecords: ints('scaling-records', preset.scalingRecords),
    postgresUrl: str('pg-url') ?? env.SPACEKV_BENCH_PG_URL ?? preset.postgresUrl,
  };
}

function list(raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new Error(`expected a comma-separated list, got '${raw}'\n${USAGE}`);
  return items;
}

function positive(flag: string, raw: string, integer: boolean): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag} takes a positive ${integer ? 'integer' : 'number'}, got '${raw}'\n${USAGE}`);
  }
  return n;
}

/** `--report auto` is bench/results/<date>-<host>.md in the source tree; any other value is a path. */
export function reportPathOf(raw: string | undefined): string | undefined {
  if (raw !== 'auto') return raw;
  const results = fileURLToPath(new URL('../../results/', import.meta.url));
  return `${results}${new Date().toISOString().slice(0, 10)}-${hostname().replace(/[^\w.-]+/g, '-')}.md`;
}
