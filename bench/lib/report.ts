/**
 * What the benchmark prints: the machine first (figures mean nothing without it), one line per
 * step as it finishes, then one table of every figure and the targets with their verdicts.
 */
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { table } from './markdown.js';
import type { LoadResult } from './load.js';
import type { IdleSample } from './proc-stats.js';
import type { EngineFigures, RawFigures, WriteFigure } from './store-workloads.js';
import type { Verdict } from './targets.js';

const LOADER_SATURATED_PERCENT = 90;
/** CPU (% of one core) the rest of the machine may use during a step before its figure is flagged as disturbed. */
const CONTENDED_PERCENT = 25;

/** Every line printed, for `--report`. */
const printed: string[] = [];
let machineLine = '';
let dataLine = '';

export function out(line = ''): void {
  printed.push(line);
  process.stdout.write(`${line}\n`);
}

/** How many lines the run has printed so far. */
export function printedCount(): number {
  return printed.length;
}

/** The lines printed since `count` lines had been. */
export function printedSince(count: number): string[] {
  return printed.slice(count);
}

/**
 * The report's head: what ran, when, where (machine, versions, load), and how to read it. Peers'
 * own versions are in each section's peer table, as each reports them.
 */
export function reportHeader(startedAt: Date, endedAt: Date, argv: readonly string[], tiny: boolean, note: string | undefined): string {
  const [one = 0, five = 0] = loadavg();
  const minutes = ((endedAt.getTime() - startedAt.getTime()) / 60_000).toFixed(1);
  return [
    `# spacekv bench${tiny ? ' (tiny)' : ''}: ${startedAt.toISOString().slice(0, 10)} on ${hostname()}`,
    '',
    table(['', ''], [
      ['command', `\`npm run bench --${argv.length > 0 ? ` ${argv.map(shellWord).join(' ')}` : ''}\``],
      ['ran', `${startedAt.toISOString()} to ${endedAt.toISOString()} (${minutes} min)`],
      ['machine', machineLine.replace(/^machine: /, '')],
      ['versions', `node ${process.version} (V8 ${process.versions.v8}), spacekv ${spacekvVersion()}, SQLite ${sqliteVersion()}; each peer's version is in its section's peer table`],
      ['data', dataLine.replace(/^data: +/, '')],
      ['load average at the end', `${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min)`],
    ], 2),
    ...(note === undefined ? [] : ['', `**Note:** ${note}`]),
    '',
    'Figures from one run on one machine; a ratio is spacekv\'s throughput over the peer\'s in the same run (above 1.00x spacekv is faster). '
      + 'Every figure carries the CPU the rest of the machine used meanwhile where it was measured: a machine shared with other work gives lower, noisier figures.',
  ].join('\n');
}

/** The server package's version, from its package.json beside its entry point. */
function spacekvVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.resolve('spacekv')), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}

/** An argument as a shell would need it quoted. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

function sqliteVersion(): string {
  const db = new Database(':memory:');
  try {
    return (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}

export function printMachine(dataRoot: string): void {
  const cores = cpus();
  machineLine = `machine: ${cores[0]?.model.trim() ?? 'unknown cpu'}, ${cores.length} cores, node ${process.version}, linux ${release()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
  out(machineLine);
  const fs = filesystemOf(dataRoot);
  // fsync on tmpfs costs nothing, which would flatter every durable figure below.
  const warning = fs === 'tmpfs' ? ' (WARNING: tmpfs, durable writes are not really durable here)' : '';
  dataLine = `data:    ${dataRoot} on ${fs}${warning}`;
  out(dataLine);
  printLoad('before');
}

/** Other work on the machine skews every figure; the load average shows whether there was any. */
export function printLoad(when: string): void {
  const [one = 0, five = 0] = loadavg();
  out(`load:    ${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min) ${when} the run`);
}

/** The filesystem type of the mount holding `path`, from /proc/self/mounts. */
function filesystemOf(path: string): string {
  let best = { mount: '', type: 'unknown' };
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (mount === undefined || type === undefined) continue;
      const holds = path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
      if (holds && mount.length > best.mount.length) best = { mount, type };
    }
  } catch {
    // not Linux: the type stays unknown
  }
  return best.type;
}

export function printHttpStep(label: string, r: LoadResult): void {
  const problems = r.non2xx + r.errors > 0 ? `  !! ${r.non2xx} non-2xx, ${r.errors} errors` : '';
  const rate = r.slices === undefined ? `median of 1 s samples; mean ${int(r.meanReqPerSec)}` : `all requests over the time of ${r.slices} ABBA slice${r.slices === 1 ? '' : 's'}`;
  out(`${label}: ${int(r.reqPerSec)} req/s (${rate}), p50 ${wholeMs(r.p50Ms)} ms, p99 ${wholeMs(r.p99Ms)} ms, `
    + `CPU: server ${r.serverCpuPercent.toFixed(0)}% (${r.serverCpuUsPerRequest.toFixed(0)} µs per request), load generator ${r.loaderCpuPercent.toFixed(0)}%, rest of machine ${r.otherCpuPercent.toFixed(0)}%${problems}`);
  // A load generator using a whole core cannot send faster: the figure is then a floor of what the server can do.
  if (r.loaderCpuPercent >= LOADER_SATURATED_PERCENT) out('      (the load generator used a whole core: this req/s is bounded by the client, not only the server)');
  if (r.otherCpuPercent >= CONTENDED_PERCENT) out('      (other work on the machine took CPU meanwhile: this figure may be lower than a quiet machine gives)');
}

export function printWriteStep(label: string, f: WriteFigure): void {
  const latency = f.p50Ms === undefined ? '' : `, p50 ${ms(f.p50Ms)} ms, p99 ${ms(f.p99Ms ?? Number.NaN)} ms`;
  out(`    ${label}: ${int(f.opsPerSec)} ops/s (${int(f.writes)} writes, ${f.meanBatch.toFixed(1)} per commit${latency})`);
}

export function printIdle(label: string, s: IdleSample): void {
  out(`    ${label}: RSS ${s.rssMb.toFixed(1)} MB (peak ${s.peakRssMb.toFixed(1)} MB), `
    + `CPU ${s.cpuPercent.toFixed(2)}% over ${s.seconds} s (one clock tick = ${s.cpuResolutionPercent.toFixed(2)}%)`);
}

export interface TableInputs {
  readonly bare: LoadResult;
  readonly restGet: LoadResult;
  readonly restPut: LoadResult;
  readonly engine: EngineFigures;
  readonly raw: RawFigures;
  readonly idle: IdleSample;
  readonly afterLoad: IdleSample;
  readonly batch: number;
}

export function printTable(t: TableInputs, verdicts: readonly Verdict[]): void {
  const rows: string[][] = [
    // autocannon records latency in whole milliseconds
    ['step', 'req/s', 'p50 ms', 'p99 ms', 'server CPU', 'µs CPU/req', 'other CPU'],
    httpRow('1. bare node:http GET (100 B)', t.bare),
    httpRow('2. spacekv REST get', t.restGet),
    httpRow('3. spacekv REST put (durable)', t.restPut),
    ['', 'ops/s', 'p50 ms', 'p99 ms', 'per commit'],
    writeRow('4. engine group commit', t.engine.groupCommit),
    writeRow('4. engine one commit per write', t.engine.commitPerWrite),
    writeRow('4. raw SQLite txn per write', t.raw.transactionPerWrite),
    writeRow(`4. raw SQLite ${t.batch} per txn`, t.raw.batched),
    ['', 'RSS MB', 'CPU %', '', ''],
    ['5. idle server after startup', t.idle.rssMb.toFixed(1), t.idle.cpuPercent.toFixed(2), '', ''],
    ['   idle server after load', t.afterLoad.rssMb.toFixed(1), t.afterLoad.cpuPercent.toFixed(2), '', ''],
  ];
  out();
  printColumns(rows);
  out();
  printColumns([['target', 'measured', 'target', 'verdict'], ...verdicts.map((v) => [v.name, v.measured, v.target, v.pass ? 'PASS' : 'MISS'])]);
  out();
  // Contention from other processes skews req/s but hardly what one request costs the server.
  out(`server CPU per request: REST get costs ${(t.restGet.serverCpuUsPerRequest / t.bare.serverCpuUsPerRequest).toFixed(1)}x bare node:http's, `
    + `durable REST put ${(t.restPut.serverCpuUsPerRequest / t.bare.serverCpuUsPerRequest).toFixed(1)}x (put includes the writer thread and fsync)`);
  const engineVsRawBatched = t.engine.groupCommit.opsPerSec / t.raw.batched.opsPerSec;
  const engineVsRawSingle = t.engine.commitPerWrite.opsPerSec / t.raw.transactionPerWrite.opsPerSec;
  out(`peer: engine group commit reaches ${(engineVsRawBatched * 100).toFixed(1)}% of raw SQLite batched; `
    + `engine one commit per write ${(engineVsRawSingle * 100).toFixed(1)}% of raw SQLite one transaction per write`);
}

function httpRow(label: string, r: LoadResult): string[] {
  return [label, int(r.reqPerSec), wholeMs(r.p50Ms), wholeMs(r.p99Ms), `${r.serverCpuPercent.toFixed(0)}%`, r.serverCpuUsPerRequest.toFixed(0), `${r.otherCpuPercent.toFixed(0)}%`];
}

function writeRow(label: string, f: WriteFigure): string[] {
  return [label, int(f.opsPerSec), f.p50Ms === undefined ? '-' : ms(f.p50Ms), f.p99Ms === undefined ? '-' : ms(f.p99Ms), f.meanBatch.toFixed(1)];
}

/** First column left-aligned, the figures right-aligned. */
export function printColumns(rows: readonly (readonly string[])[]): void {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  for (const row of rows) {
    out(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd());
  }
}

export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

/** autocannon's histogram holds whole milliseconds; decimals would claim a precision it does not have. */
function wholeMs(n: number): string {
  return Number.isFinite(n) ? n.toFixed(0) : 'n/a';
}

function ms(n: number): string {
  return Number.isFinite(n) ? n.toFixed(2) : 'n/a';
}
