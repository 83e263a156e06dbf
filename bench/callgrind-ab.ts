/**
 * `node bench/dist/callgrind-ab.js <workload> [--ops N] [--variants v1,v2] [--pg-url URL]`: the
 * server's instructions per operation, counted by valgrind's callgrind, on this build's default server
 * and on each variant (bench/lib/variants.ts), for one fixed workload. Instruction counts do not
 * depend on what else the machine runs, so they settle what a paired throughput cell on a busy or
 * noisy 2-core machine cannot: whether a variant (bounds off, auth on, another build) changes the
 * server's work per operation, and by how much. Every thread of the server is counted (the event
 * loop, the writer, the search workers, libuv's pool, V8's compiler and GC threads).
 *
 * Each side: the server under callgrind, the workload's data prepared, the workload run once to warm
 * the JIT and the caches (unmeasured), the counters zeroed (callgrind_control -z), the workload run
 * again, the counters dumped. The same operations in the same order on both sides (a seeded
 * generator). Runs take minutes: the server under valgrind is some 30-50x slower.
 *
 * Workloads (all over one @spacekv/client WebSocket connection):
 *  - ycsb-a: YCSB workload A on 2,000 records of ten 100-byte fields, scrambled zipfian keys, 50 %
 *    reads and 50 % updates of one field (a put of one attribute), 64 in flight;
 *  - put: puts of 100-byte values over 10,000 keys, 64 in flight; get: gets of them, 64 in flight;
 *  - search: equality searches on an indexed attribute (100 matches each) over 20,000 objects, 1 in flight;
 *  - count: counts of an indexed range (half the objects), 1 in flight;
 *  - scan: unindexed searches paged to their end (every object read), 1 in flight;
 *  - catalog: add_space + rm_space pairs, each with a get after it, 1 in flight;
 *  - pg-put: the put workload on the PostgreSQL store (--pg-url), each side on a schema of its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type SpacekvClient, connect } from '@spacekv/client';
import { dropSchemas, withSchema } from './lib/postgres.js';
import { DEFAULT_SERVER, type ServerVariant, parseVariants } from './lib/variants.js';
import { FIELD_COUNT, FIELD_NAMES, Keyspace, Random, ScrambledZipfian, fieldValue, recordOf } from './lib/ycsb/workload.js';

interface Workload {
  /** Ops per measured run unless --ops says otherwise. */
  readonly ops: number;
  /** What the server needs before the first run: spaces, objects. */
  prepare(c: SpacekvClient): Promise<unknown>;
  /** The measured (and the warm-up) run: `ops` operations, the same on every side. */
  run(c: SpacekvClient, ops: number): Promise<void>;
  /** Arguments after `serve` that the workload needs (the PostgreSQL store). */
  readonly serveArgs?: (side: string) => readonly string[];
}

const SEED = 7;
/** Each catalog run's spaces get names of their own (the count starts again on each side, so both use the same names). */
let catalogRuns = 0;
const IN_FLIGHT = 64;
const KEYS = 10_000;
const RECORDS = 2_000;
const OBJECTS = 20_000;
const VALUE = 'v'.repeat(100);

const keyOf = (i: number): string => `k${String(i).padStart(6, '0')}`;

/** `ops` calls of `one(i)`, `inFlight` outstanding at most. */
async function windowed(c: SpacekvClient, ops: number, inFlight: number, one: (i: number) => Promise<unknown>): Promise<void> {
  await c.window(Array.from({ length: ops }, (_, i) => i), inFlight, one);
}

const putSpace = (c: SpacekvClient): Promise<unknown> => c.addSpace('space kv key k attributes string v');
const puts = (c: SpacekvClient, ops: number): Promise<void> => {
  const random = new Random(SEED);
  return windowed(c, ops, IN_FLIGHT, () => c.put('kv', keyOf(random.below(KEYS)), { v: VALUE }));
};

/** The searched space: `city` indexed with OBJECTS/100 values (100 objects each), `age` indexed 0-99, `name` unindexed. */
async function people(c: SpacekvClient): Promise<void> {
  await c.addSpace('space people key k attributes string city, int age, string name');
  for (let from = 0; from < OBJECTS; from += 1_000) {
    await c.tx({ ops: Array.from({ length: 1_000 }, (_, n) => ({ op: 'put', space: 'people', key: keyOf(from + n), attributes: { city: `c${(from + n) % (OBJECTS / 100)}`, age: (from + n) % 100, name: `n${from + n}` } })) });
  }
  await c.addIndex('people', 'city');
  await c.addIndex('people', 'age');
}

const WORKLOADS: Readonly<Record<string, Workload>> = {
  'ycsb-a': {
    ops: 4_000,
    async prepare(c) {
      await c.addSpace(`space usertable key ycsb_key attributes ${FIELD_NAMES.map((f) => `string ${f}`).join(', ')}`);
      const keys = new Keyspace();
      await windowed(c, RECORDS, IN_FLIGHT, (n) => c.put('usertable', keys.key(n), recordOf(n)));
    },
    run(c, ops) {
      const random = new Random(SEED);
      const zipf = new ScrambledZipfian(RECORDS);
      const keys = new Keyspace();
      return windowed(c, ops, IN_FLIGHT, (i) => {
        const record = zipf.next(random);
        if (random.next() < 0.5) return c.get('usertable', keys.key(record));
        const field = random.below(FIELD_COUNT);
        return c.put('usertable', keys.key(record), { [FIELD_NAMES[field] as string]: fieldValue(record, field, i + 1) });
      });
    },
  },
  put: { ops: 4_000, prepare: putSpace, run: puts },
  get: {
    ops: 8_000,
    async prepare(c) {
      await putSpace(c);
      await windowed(c, KEYS, IN_FLIGHT, (i) => c.put('kv', keyOf(i), { v: VALUE }));
    },
    run(c, ops) {
      const random = new Random(SEED);
      return windowed(c, ops, IN_FLIGHT, () => c.get('kv', keyOf(random.below(KEYS))));
    },
  },
  search: {
    ops: 400,
    prepare: people,
    run: (c, ops) => windowed(c, ops, 1, (i) => c.searchPage('people', { city: `c${(i * 7919) % (OBJECTS / 100)}` }, { limit: 100 })),
  },
  count: {
    ops: 100,
    prepare: people,
    run: (c, ops) => windowed(c, ops, 1, () => c.count('people', { age: { lt: 50 } })),
  },
  scan: {
    ops: 3,
    prepare: people,
    run: (c, ops) => windowed(c, ops, 1, async () => {
      let cursor: string | undefined;
      do {
        const page = await c.searchPage('people', { name: { regex: 'zz$' } }, { limit: 100, ...(cursor === undefined ? {} : { cursor }) });
        cursor = page.cursor;
      } while (cursor !== undefined);
    }),
  },
  catalog: {
    ops: 100,
    async prepare(c) {
      await putSpace(c);
      await c.put('kv', keyOf(0), { v: VALUE });
    },
    run(c, ops) {
      const run = catalogRuns++;
      return windowed(c, ops, 1, async (i) => {
        const name = `extra${run}x${i}`;
        await c.addSpace(`space ${name} key k attributes string v`);
        await c.get('kv', keyOf(0));
        await c.rmSpace(name);
        await c.get('kv', keyOf(0));
      });
    },
  },
  'pg-put': {
    ops: 2_000,
    prepare: putSpace,
    run: puts,
    serveArgs: (side) => ['--store', withSchema(pgUrl, schemaOf(side))],
  },
};

/** The PostgreSQL schema of a side's server (pg-put), dropped at the end. */
const schemaOf = (side: string): string => `callgrind_ab_${side.replace(/[^a-z0-9]/gi, '_')}_${process.pid}`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { ops: { type: 'string' }, variants: { type: 'string', default: 'new-bounds-off' }, 'pg-url': { type: 'string', default: process.env.SPACEKV_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' } },
});
const pgUrl = values['pg-url'];
const workload = WORKLOADS[positionals[0] ?? ''];
if (workload === undefined || positionals.length !== 1) {
  console.error(`usage: node bench/dist/callgrind-ab.js <${Object.keys(WORKLOADS).join('|')}> [--ops N] [--variants v1,v2] [--pg-url URL]`);
  process.exit(2);
}
const ops = values.ops === undefined ? workload.ops : Number(values.ops);
if (!Number.isSafeInteger(ops) || ops < 1) {
  console.error(`--ops must be a positive integer, got ${values.ops}`);
  process.exit(2);
}
const sides: ServerVariant[] = [DEFAULT_SERVER, ...parseVariants(values.variants.split(',').map((v) => v.trim()).filter((v) => v !== ''))];

/** The `totals:` (or `summary:`) line of a callgrind dump: the instructions of every thread it covers. */
function instructionsOf(dump: string): number {
  const line = readFileSync(dump, 'utf8').split('\n').find((l) => l.startsWith('totals:') || l.startsWith('summary:'));
  if (line === undefined) throw new Error(`${dump} has no totals line`);
  return Number(line.split(/\s+/)[1]);
}

async function measure(variant: ServerVariant, dir: string): Promise<number> {
  catalogRuns = 0;
  const out = join(dir, 'callgrind');
  const { server, token } = await variant.start(join(dir, 'data'), {
    wrapper: ['valgrind', '--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}.%p`],
    startupTimeoutMs: 300_000,
    serveArgs: workload?.serveArgs?.(variant.id) ?? [],
  }, ['*']);
  try {
    // Under valgrind the server takes many times longer to greet a connection.
    const c = await connect(server.url, { connectTimeoutMs: 300_000, ...(token === undefined ? {} : { token }) });
    try {
      await workload?.prepare(c);
      await workload?.run(c, ops); // warm-up, unmeasured
      execFileSync('callgrind_control', ['-z', String(server.pid)], { stdio: 'ignore' });
      await workload?.run(c, ops);
      execFileSync('callgrind_control', ['-d', String(server.pid)], { stdio: 'ignore' });
    } finally {
      await c.close();
    }
  } finally {
    await server.stop();
  }
  const dump = readdirSync(dir).filter((f) => f.startsWith('callgrind.') && /\.\d+$/.test(f)).sort().at(-1);
  if (dump === undefined) throw new Error(`callgrind wrote no dump in ${dir}`);
  return instructionsOf(join(dir, dump));
}

const root = mkdtempSync(join(tmpdir(), 'spacekv-callgrind-ab-'));
try {
  const perOp: number[] = [];
  for (const [i, variant] of sides.entries()) {
    const instructions = await measure(variant, mkdtempSync(join(root, `side${i}-`)));
    perOp.push(instructions / ops);
    console.log(`${positionals[0]}, ${variant.label}: ${ops} operations, ${Math.round(instructions / ops).toLocaleString('en-US')} instructions per operation (all server threads)`);
  }
  for (const [i, variant] of sides.entries()) {
    if (i === 0) continue;
    const ratio = variant.baseline === true ? (perOp[0] as number) / (perOp[i] as number) : (perOp[i] as number) / (perOp[0] as number);
    console.log(`${positionals[0]}, instructions per operation, ${variant.baseline === true ? `this build / ${variant.label}` : `${variant.label} / this build`}: ${ratio.toFixed(3)}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
  if (workload.serveArgs !== undefined) await dropSchemas(pgUrl, sides.map((v) => schemaOf(v.id)));
}
