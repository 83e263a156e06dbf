/**
 * Step 11, export and import (issue 17): `spacekv export` and `spacekv import` of `objects` objects
 * (about 150 bytes each: a name, an int, a set, a note) beside the stores' own dump tools on the
 * same data in the same run: `sqlite3 .dump` of the data file and loading that dump into a fresh
 * file, and, where PostgreSQL listens, `pg_dump` of the store's schema. Every command runs as an
 * operator would run it, as a child process; the figures are objects/s (rows/s for the dumps) and
 * MB/s of what each writes or reads. A peer whose tool is not on PATH is reported as skipped.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@spacekv/client';
import { type ChildServer, startSpacekvServer } from './child-server.js';
import { type PairRow, type Sample, coupledRounds, describePairs, evenRounds, pairsTable } from './paired.js';
import { CpuMeter } from './proc-stats.js';
import { dropSchemas, reachable, withSchema } from './postgres.js';
import { int, out, printColumns } from './report.js';
import type { Section } from './section.js';
import { DEFAULT_SERVER, type ServerVariant } from './variants.js';

export interface OpsSizes {
  readonly objects: number;
}

export const OPS_FULL: OpsSizes = { objects: 1_000_000 };
export const OPS_TINY: OpsSizes = { objects: 500 };

/** Objects per load transaction. */
const LOAD_BATCH = 1_000;

interface Row {
  readonly label: string;
  readonly seconds: number;
  readonly objects: number;
  /** Bytes written (exports, dumps) or read (imports, loads). */
  readonly bytes: number;
}

type Figures = { readonly rows: readonly Row[]; readonly skipped: readonly string[]; readonly objects: number };

const MAIN = (): string => fileURLToPath(new URL('./cli/main.js', import.meta.resolve('spacekv')));

/** Run a program to its end; rejects with its stderr when it fails. */
function run(command: string, args: readonly string[], io: { stdin?: string; stdout?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, [...args], { stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ? 'pipe' : 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (io.stdin && child.stdin) createReadStream(io.stdin).pipe(child.stdin);
    if (io.stdout && child.stdout) child.stdout.pipe(createWriteStream(io.stdout));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`))));
  });
}

function onPath(program: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${program}`], (err) => resolve(err === null)));
}

async function load(url: string, objects: number): Promise<void> {
  const client = await connect(url);
  try {
    await client.addSpace('space people key id attributes string name, int age, set(string) tags, string note index age');
    for (let from = 0; from < objects; from += LOAD_BATCH) {
      const ops = [];
      for (let i = from; i < Math.min(objects, from + LOAD_BATCH); i++) {
        ops.push({ op: 'put', space: 'people', key: `p${String(i).padStart(8, '0')}`, attributes: { name: `person ${i}`, age: i % 100, tags: [`t${i % 7}`, `u${i % 11}`], note: 'x'.repeat(60) } });
      }
      await client.tx({ ops });
    }
  } finally {
    await client.close();
  }
}

async function stopped(server: ChildServer, problems: string[]): Promise<void> {
  const exit = await server.stop();
  if (exit.code !== 0) problems.push(`ops: a server did not shut down cleanly (code ${exit.code})\n${exit.stderrTail}`);
}

/** Where opsBench writes the export of the SQLite store (the variants import it again). */
function exportFile(root: string): string {
  return join(root, 'ops', 'export.ndjson');
}

export async function opsBench(root: string, sizes: OpsSizes, pgBaseUrl: string, problems: string[]): Promise<Figures> {
  const dir = join(root, 'ops');
  mkdirSync(dir, { recursive: true });
  const rows: Row[] = [];
  const skipped: string[] = [];
  const size = (file: string): number => statSync(file).size;
  const n = sizes.objects;

  // The source: a store loaded through a server, then stopped (its WAL checkpointed into the file).
  const source = join(dir, 'source');
  const loader = await startSpacekvServer(source);
  await load(loader.url, n);
  await stopped(loader, problems);

  const ndjson = exportFile(root);
  let seconds = await run(process.execPath, [MAIN(), 'export', '--data', source, '--to', ndjson, '--quiet']);
  rows.push({ label: 'spacekv export (SQLite)', seconds, objects: n, bytes: size(ndjson) });
  const sqlite3 = await onPath('sqlite3');
  const dump = join(dir, 'dump.sql');
  if (sqlite3) {
    seconds = await run('sqlite3', [join(source, 'spacekv.db'), '.dump'], { stdout: dump });
    rows.push({ label: 'sqlite3 .dump', seconds, objects: n, bytes: size(dump) });
  } else skipped.push('sqlite3 .dump and load: sqlite3 is not on PATH');

  const target = await startSpacekvServer(join(dir, 'target'));
  try {
    seconds = await run(process.execPath, [MAIN(), '--url', target.url, 'import', '--from', ndjson, '--quiet']);
    rows.push({ label: 'spacekv import (SQLite)', seconds, objects: n, bytes: size(ndjson) });
  } finally {
    await stopped(target, problems);
  }
  if (sqlite3) {
    seconds = await run('sqlite3', [join(dir, 'loaded.db')], { stdin: dump });
    rows.push({ label: 'sqlite3 load of the dump', seconds, objects: n, bytes: size(dump) });
  }

  const missing = await reachable(pgBaseUrl);
  if (missing) skipped.push(`PostgreSQL: ${missing}`);
  else {
    const schema = `bench_ops_${process.pid}_${randomBytes(3).toString('hex')}`;
    const storeUrl = withSchema(pgBaseUrl, schema);
    try {
      const pg = await startSpacekvServer(join(dir, 'pg'), { serveArgs: ['--store', storeUrl] });
      try {
        seconds = await run(process.execPath, [MAIN(), '--url', pg.url, 'import', '--from', ndjson, '--quiet']);
        rows.push({ label: 'spacekv import (PostgreSQL)', seconds, objects: n, bytes: size(ndjson) });
      } finally {
        await stopped(pg, problems);
      }
      const fromPg = join(dir, 'pg.ndjson');
      seconds = await run(process.execPath, [MAIN(), 'export', '--store', storeUrl, '--to', fromPg, '--quiet']);
      rows.push({ label: 'spacekv export (PostgreSQL)', seconds, objects: n, bytes: size(fromPg) });
      if (await onPath('pg_dump')) {
        const pgDump = join(dir, 'pg.sql');
        seconds = await run('pg_dump', ['--dbname', pgBaseUrl, '--schema', schema, '--file', pgDump]);
        rows.push({ label: 'pg_dump of the store\'s schema', seconds, objects: n, bytes: size(pgDump) });
      } else skipped.push('pg_dump: not on PATH');
    } finally {
      await dropSchemas(pgBaseUrl, [schema]);
    }
  }
  return { rows, skipped, objects: n };
}

export function printOps(f: Figures): void {
  out(`[11] export and import: ${int(f.objects)} objects of about 150 bytes, each command a child process as an operator runs it, beside the stores' own dump tools`);
  printColumns([
    ['', 'seconds', 'objects/s', 'MB/s', 'MB'],
    ...f.rows.map((r) => [`    ${r.label}`, r.seconds.toFixed(2), int(r.objects / r.seconds), (r.bytes / 1e6 / r.seconds).toFixed(1), (r.bytes / 1e6).toFixed(1)]),
  ]);
  for (const why of f.skipped) out(`    SKIPPED: ${why}`);
}

/**
 * Each variant beside this build: per round, `spacekv import` of the export into a fresh SQLite
 * server of each, back to back; objects/s and the server's CPU per object. Only the import goes
 * through a server: export runs offline, on the data directory or the database, with no limits to
 * switch.
 */
async function opsVariants(root: string, objects: number, variants: readonly ServerVariant[], rounds: number, problems: string[]): Promise<PairRow[]> {
  out(`[11] server variants beside this build: spacekv import (SQLite) of the same export, ${evenRounds(rounds)} paired rounds, judged on couples of rounds (ratio per couple, median and range):`);
  const rows: PairRow[] = [];
  for (const [index, variant] of variants.entries()) {
    const pairs = await coupledRounds(rounds, async (side, round): Promise<Sample> => {
      const { server, token } = await (side === 'default' ? DEFAULT_SERVER : variant).start(join(root, 'ops', `import-${index}-${round}-${side}`), {}, ['people']);
      try {
        const cpu = new CpuMeter(server.pid);
        const auth = token === undefined ? [] : ['--token', token];
        const seconds = await run(process.execPath, [MAIN(), '--url', server.url, ...auth, 'import', '--from', exportFile(root), '--quiet']);
        return { opsPerSec: objects / seconds, serverCpuUsPerOp: (cpu.seconds() * 1e6) / objects };
      } finally {
        await stopped(server, problems);
      }
    });
    const step = `spacekv import (SQLite), ${int(objects)} objects`;
    out(describePairs(`    ${step}`, variant, pairs));
    rows.push({ step, variant, pairs });
  }
  return rows;
}

export const opsSection: Section = {
  id: 'ops',
  title: 'Step 11: export and import rates beside sqlite3 .dump and pg_dump',
  byDefault: true,
  async run(c) {
    const o = c.options;
    printOps(await opsBench(c.root, o.ops, o.ycsb.postgresUrl, c.problems));
    if (o.variants.length === 0) return;
    const paired = await opsVariants(c.root, o.ops.objects, o.variants, o.rounds, c.problems);
    c.report.add(`### Server variants beside this build\n\n\`spacekv import\` of the export above into a fresh SQLite server of this build and of the variant, back to back, ${evenRounds(o.rounds)} rounds `
      + `alternating which goes first, judged on couples of rounds (1 and 2, 3 and 4, ...) so each side goes first once in a couple: the median of the couples' ratios `
      + `(each the geometric mean of its two rounds') and their range.\n\n${pairsTable(paired)}`);
  },
};
