// Proves the benchmark still runs end to end (STYLE.md §14): the compiled bench in tiny mode (with
// the scaling section and a report) exits 0 and prints every step with a figure (search and change
// events included), the summary tables
// and a verdict per target; the steps paired with a variant (steps 2-3 and the YCSB cells among
// them) run in ABBA slices; every YCSB workload runs on every peer that can run here, at every
// in-flight level (a peer or a workload it cannot run is skipped with its reason, never left out);
// and the Markdown report holds every section with charts that exist. It asserts no timing: how
// fast spacekv is belongs to `npm run bench`, not to the test suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../run.js', import.meta.url));
const FIGURE = /\d[\d,]*(\.\d+)?/;
const PAIR_HEAD = `auth on / this build: throughput ${FIGURE.source} \\(${FIGURE.source}-${FIGURE.source}\\), server CPU µs/op (${FIGURE.source} \\(${FIGURE.source}-${FIGURE.source}\\)|-)`;
const PAIR_TARGET = '; issue 15 target: throughput >= 0.95: (PASS|MISS)$';
/** A line of the auth-on variant paired with this build (--variants auth-on), after its step's name. */
const PAIRED = `${PAIR_HEAD}.*, median of 1 paired round \\(throughput per round: ${FIGURE.source}\\)${PAIR_TARGET}`;
/** The same over 2 rounds: step 8 runs an even number, for its load's and index builds' couples. */
const PAIRED_TWICE = `${PAIR_HEAD}.*, median of 2 paired rounds \\(throughput per round: ${FIGURE.source} ${FIGURE.source}\\)${PAIR_TARGET}`;
/** The same for a step measured once per round, judged on a couple of rounds (tiny mode's 1 round made 2). */
const COUPLED = `${PAIR_HEAD}.*, median of 1 couple of paired rounds, each side first once in a couple \\(throughput per round: ${FIGURE.source}/${FIGURE.source}\\)${PAIR_TARGET}`;

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runTiny(reportPath: string, profileDir: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    // One server variant, so the paired measurement (and the auth-on server) cannot rot.
    const args = [RUN, '--tiny', '--scaling', '--report', reportPath, '--server-cpu-prof', profileDir, '--variants', 'auth-on'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Whether a program is on PATH: if redis-server (etcd) is, the peers it makes must run, never be skipped. */
function onPath(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether something accepts connections at 127.0.0.1:port (the machine's PostgreSQL). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The lines of the section headed `[n]`, up to the next section or the blank line before the table. */
function section(stdout: string, n: number): string {
  const start = stdout.indexOf(`[${n}] `);
  assert.notEqual(start, -1, `section [${n}] is missing:\n${stdout}`);
  const rest = stdout.slice(start);
  const end = rest.search(/\n(\[\d+\] |\n)/);
  return end === -1 ? rest : rest.slice(0, end);
}

// The bound only stops a hung run: eleven sections of child processes (an auth-on server beside the
// default one in four of them) on a shared 2-core machine take minutes: 295 s once with 3 other
// helpers building and testing on the same 2 cores.
test('the tiny benchmark runs every step and prints a figure for each', { timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spacekv-bench-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const reportPath = join(dir, 'tiny.md');
  const profileDir = join(dir, 'profiles');
  const { code, stdout, stderr } = await runTiny(reportPath, profileDir);
  assert.equal(code, 0, `bench --tiny exited ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);

  assert.match(stdout, /^machine: .+, \d+ cores, node v\d+/m);
  assert.match(section(stdout, 1), new RegExp(`GET: ${FIGURE.source} req/s`));
  assert.match(section(stdout, 2), new RegExp(`GET \\S+: ${FIGURE.source} req/s`));
  assert.match(section(stdout, 3), new RegExp(`PUT \\S+: ${FIGURE.source} req/s`));
  const inProcess = section(stdout, 4);
  for (const label of ['engine group commit', 'engine one commit per write', 'raw better-sqlite3, one transaction per write', 'raw better-sqlite3, \\d+ writes per transaction']) {
    assert.match(inProcess, new RegExp(`${label}[^:]*: ${FIGURE.source} ops/s`), `section [4] lacks '${label}':\n${inProcess}`);
  }
  for (const op of ['get', 'put']) assert.match(stdout, new RegExp(`^    REST ${op}, ${PAIRED}`, 'm'), `steps 2-3 lack ${op} with auth on paired with this build`);
  // Paired with a variant, each side's round runs in ABBA slices (as many as the requests of --duration allow), joined per round.
  for (const op of ['get', 'put']) {
    for (const side of ['', ', auth on']) {
      assert.match(stdout, new RegExp(`^    round 1, spacekv REST ${op}${side}: ${FIGURE.source} req/s \\(all requests over the time of \\d ABBA slices?\\)`, 'm'), `steps 2-3 lack ${op}${side} in slices`);
    }
  }
  assert.match(section(stdout, 5), new RegExp(`after startup: RSS ${FIGURE.source} MB.*CPU ${FIGURE.source}%`));

  // Every target gets a verdict, and every figure in the table is a number.
  for (const target of ['REST get vs bare', 'durable REST put vs bare', 'group commit vs one commit per write', 'idle RSS', 'idle CPU']) {
    assert.match(stdout, new RegExp(`^${target}.*\\s(PASS|MISS)$`, 'm'), `no verdict for '${target}'`);
  }
  assert.doesNotMatch(stdout, /n\/a|NaN/, 'a figure came out as n/a or NaN');

  // Step 6: spacekv's client at every in-flight level, each Redis peer measured (or skipped with its reason), a table and three verdicts.
  const vsRedis = section(stdout, 6);
  for (const level of [1, 64, 1024]) {
    for (const op of ['get', 'put']) {
      assert.match(vsRedis, new RegExp(`^    ${op}, ${level} in flight \\([\\d,]+ ops per round\\): spacekv ${FIGURE.source} ops/s, p50 ${FIGURE.source} µs, p99 ${FIGURE.source} µs`, 'm'),
        `section [6] lacks spacekv ${op} at ${level} in flight:\n${vsRedis}`);
      assert.match(vsRedis, new RegExp(`^    ${op}, ${level} in flight, ${PAIRED}`, 'm'), `section [6] lacks spacekv ${op} with auth on at ${level} in flight:\n${vsRedis}`);
    }
    for (const peer of ['Redis GET', 'Redis SET \\(no persistence\\)', 'Redis SET \\(appendfsync always\\)']) {
      assert.match(vsRedis, new RegExp(`^    ${peer}, ${level} in flight(, ioredis plain: ${FIGURE.source} ops/s|: SKIPPED \\(.+\\))`, 'm'),
        `section [6] lacks ${peer} at ${level} in flight:\n${vsRedis}`);
    }
  }
  if (onPath('redis-server')) {
    // Both peers can run here (the bench starts its own redis-server if no Redis answers at :6379): none may be skipped.
    assert.doesNotMatch(vsRedis, /SKIPPED/, `redis-server is on PATH, yet a Redis peer was skipped:\n${vsRedis}`);
    assert.match(vsRedis, /durable peer \(SET\): +redis-server .*appendonly yes, appendfsync always/);
  } else {
    assert.match(vsRedis, /durable peer \(SET\): +SKIPPED: redis-server is not on PATH/);
  }
  for (const row of ['get vs Redis GET', 'put vs Redis SET \\(no persistence\\)', 'put vs Redis SET \\(appendfsync always\\)']) {
    for (const level of [1, 64, 1024]) {
      assert.match(stdout, new RegExp(`^${row} +${level} +${FIGURE.source} +(${FIGURE.source}|skipped) `, 'm'), `no table row '${row}' at ${level}`);
    }
  }
  for (const target of ['get at 1024 in flight vs Redis GET', 'durable put at 1024 in flight vs Redis SET appendfsync always', 'get p50 latency at 1 in flight']) {
    assert.match(stdout, new RegExp(`^${target} .*\\s(PASS|MISS|SKIPPED \\(.+\\))$`, 'm'), `no verdict for '${target}'`);
  }

  // Step 7: the codec table of docs/protocol.md, every cell a figure.
  const codec = section(stdout, 7);
  assert.match(codec, /msgpackr Packr \{ useRecords: false, int64AsType: 'bigint' \}/);
  for (const step of ['server: decode a frame of `get` requests', 'server: encode replies', 'client: encode requests', 'client: decode replies']) {
    const unit = step.includes('request') ? 'request' : 'reply';
    assert.match(stdout, new RegExp(`^${step} +${FIGURE.source} ns/${unit} +${FIGURE.source} ns/${unit} +${FIGURE.source}x$`, 'm'), `codec table lacks '${step}'`);
  }
  assert.match(stdout, new RegExp(`^bytes per 100 replies +${FIGURE.source} +${FIGURE.source} +${FIGURE.source}x$`, 'm'));

  // Step 9: change events to a watcher, and to an AMQP consumer (or skipped with its reason).
  const events = section(stdout, 9);
  const SIGNED = /-?\d[\d,]*(\.\d+)?/;
  const delivered = `${FIGURE.source} events/s \\(\\d+ events\\), ack to delivery p50 ${SIGNED.source} ms, p99 ${SIGNED.source} ms`;
  assert.match(events, new RegExp(`watcher \\(db.watch over WebSocket\\): ${delivered}`), `section [9] lacks the watcher:\n${events}`);
  assert.match(events, new RegExp(`AMQP consumer \\(relay, confirms\\): (${delivered}|SKIPPED \\(.+\\))`), `section [9] lacks the AMQP consumer:\n${events}`);
  assert.match(stdout, new RegExp(`^    durable puts with a watcher and an AMQP consumer, ${COUPLED}`, 'm'), 'step 9 lacks its auth-on runs paired with this build\'s, in a couple of rounds');
  // Step 8: search, each figure present, counts served from the index, and the two verdicts.
  const search = section(stdout, 8);
  assert.match(search, new RegExp(`indexed equality search, 100 objects.*p50 ${FIGURE.source} ms.*raw SQLite p50 ${FIGURE.source} ms.*\[target p50 < 2 ms: (PASS|MISS)\]`));
  assert.match(search, new RegExp(`the same on the document path info.city .*p50 ${FIGURE.source} ms.*\\[target p50 < 2 ms: (PASS|MISS)\\]`));
  assert.match(search, /count of an indexed range .*served from the index: yes/);
  assert.match(search, /count of an indexed equality: .*served from the index: yes/);
  assert.match(search, new RegExp(`server event-loop delay p50 ${FIGURE.source} ms, p99 ${FIGURE.source} ms.*\[target p99 < 10 ms: (PASS|MISS)\]`));
  // ... and on the PostgreSQL store beside raw PostgreSQL, in the console and the report, wherever PostgreSQL listens.
  if (await listening(5432)) {
    const pgLines = [
      new RegExp(`on PostgreSQL: ${FIGURE.source} objects loaded through the client in ${FIGURE.source} s \\(${FIGURE.source} objects/s.*add_index online: city ${FIGURE.source} s, info.city ${FIGURE.source} s`),
      new RegExp(`on PostgreSQL, indexed equality search, 100 objects.*p50 ${FIGURE.source} ms, p99 ${FIGURE.source} ms; raw PostgreSQL .*p50 ${FIGURE.source} ms .*\\[target p50 < 3 ms on PostgreSQL: (PASS|MISS)\\]`),
      new RegExp(`on PostgreSQL, the same on the document path info.city: p50 ${FIGURE.source} ms, p99 ${FIGURE.source} ms; raw PostgreSQL .*p50 ${FIGURE.source} ms .*\\[target p50 < 3 ms on PostgreSQL: (PASS|MISS)\\]`),
    ];
    const report = readFileSync(reportPath, 'utf8');
    for (const line of pgLines) {
      assert.match(search, line, `section [8] lacks the PostgreSQL figures:\n${search}`);
      assert.match(report, line, 'the report lacks step 8\'s PostgreSQL figures');
    }
  } else {
    assert.match(search, /on PostgreSQL: SKIPPED: PostgreSQL is not reachable/);
  }

  // Step 10: PostgreSQL, a row of figures for each store set-up and raw PostgreSQL (or skipped with its reason).
  const pg = section(stdout, 10);
  if (!/SKIPPED: PostgreSQL is not reachable/.test(pg)) {
    for (const label of ['SQLite \\(embedded\\), 1 server', 'PostgreSQL, 1 server', 'PostgreSQL, 2 servers', 'raw PostgreSQL']) {
      // ... then puts per batch, lock ms per batch, server and PostgreSQL CPU per put ('-' where there is none).
      assert.match(pg, new RegExp(`${label}.*  ${FIGURE.source} +[\\d.]+/[\\d.]+ +${FIGURE.source} +[\\d.]+/[\\d.]+ +[\\d.]+x +[\\d.]+x( +(-|[\\d.]+)){4}$`, 'm'), `section [10] lacks '${label}':\n${pg}`);
    }
    assert.match(pg, /PostgreSQL, 1 server .* \d+\.\d+ +\d+ +\d+$/m, 'one server on PostgreSQL reports its lock time per batch and its PostgreSQL CPU');
    assert.match(pg, new RegExp(`2 servers / 1 server, durable puts at \\d+ in flight per server: ${FIGURE.source}x`));
    for (const op of ['put', 'get']) assert.match(stdout, new RegExp(`^    PostgreSQL, 1 server, ${op}, ${PAIRED}`, 'm'), `step 10 lacks the ${op}s with auth on paired with this build`);
  }
  // Step 11: export and import beside the stores' dump tools, each a figure (PostgreSQL's rows where it listens).
  const ops = section(stdout, 11);
  const rates = `${FIGURE.source} +${FIGURE.source} +${FIGURE.source} +${FIGURE.source}$`;
  for (const label of ['spacekv export \\(SQLite\\)', 'spacekv import \\(SQLite\\)', ...(onPath('sqlite3') ? ['sqlite3 \\.dump', 'sqlite3 load of the dump'] : [])]) {
    assert.match(ops, new RegExp(`^    ${label} +${rates}`, 'm'), `section [11] lacks '${label}':\n${ops}`);
  }
  if (!/SKIPPED: PostgreSQL/.test(ops)) {
    for (const label of ['spacekv import \\(PostgreSQL\\)', 'spacekv export \\(PostgreSQL\\)']) assert.match(ops, new RegExp(`^    ${label} +${rates}`, 'm'), `section [11] lacks '${label}':\n${ops}`);
  }
  // Steps 8 (SQLite), 11 (import) and 12 with --variants auth-on: each step paired with this build;
  // those measured once per round (step 8's load and index builds, the import) on a couple of rounds.
  for (const step of ['indexed equality search on city .*', 'count of an indexed range \\(\\d+ counts\\)', 'unindexed search scanning the whole space \\(\\d+ scans\\)']) {
    assert.match(stdout, new RegExp(`^    ${step}, ${PAIRED_TWICE}`, 'm'), `'${step}' lacks its auth-on pair in 2 rounds`);
  }
  for (const step of ['point gets, \\d+ spaces', 'add_space \\+ rm_space \\(\\+ a get after each\\), \\d+ spaces']) {
    assert.match(stdout, new RegExp(`^    ${step}, ${PAIRED}`, 'm'), `'${step}' lacks its auth-on pair`);
  }
  for (const step of ['load \\(tx of 1,000 puts\\), objects/s', 'add_index of city, age and info.city, objects/s', 'spacekv import \\(SQLite\\), \\d+ objects']) {
    assert.match(stdout, new RegExp(`^    ${step}, ${COUPLED}`, 'm'), `'${step}' lacks its auth-on couple of rounds`);
  }
  assert.doesNotMatch(stdout, /BROKEN/);

  await ycsbAssertions(stdout, reportPath, profileDir);
});

const LEVELS = [1, 64, 1024];
const MEASURED = (peer: string, step: string): RegExp => new RegExp(`^    ${peer} ${step}: ${FIGURE.source} ops/s \\(${FIGURE.source} ops in ${FIGURE.source} s\\), `
  + `p50 ${FIGURE.source} µs, p95 ${FIGURE.source} µs, p99 ${FIGURE.source} µs, (server CPU ${FIGURE.source}% \\(${FIGURE.source} µs/op\\), RSS ${FIGURE.source} MB|in process \\(bench CPU ${FIGURE.source}%\\))`, 'm');

/** The lines from `[name]` up to the next bracketed section header. */
function block(stdout: string, name: string): string {
  const start = stdout.indexOf(`[${name}] `);
  assert.notEqual(start, -1, `section [${name}] is missing`);
  const rest = stdout.slice(start + 1);
  const end = rest.search(/\n\[[\w-]+\] /);
  return end === -1 ? rest : rest.slice(0, end);
}

async function ycsbAssertions(stdout: string, reportPath: string, profileDir: string): Promise<void> {
  // Which peers must run here: the in-process ones and spacekv always; the others when what they need is here.
  const redis = onPath('redis-server');
  const mustRun: Record<string, boolean> = {
    'spacekv \\(SQLite\\)': true,
    'SQLite \\(raw, in process\\)': true,
    'Deno KV \\(in process\\)': true,
    'Redis \\(no persistence\\)': redis,
    'Redis \\(appendfsync always\\)': redis,
    'PostgreSQL \\(raw\\)': await listening(5432),
    'spacekv \\(PostgreSQL\\)': await listening(5432),
    etcd: onPath('etcd'),
  };
  const ycsb = block(stdout, 'ycsb');
  for (const [peer, must] of Object.entries(mustRun)) {
    const skipped = new RegExp(`^    ${peer}: SKIPPED \\(.+\\)$`, 'm').test(ycsb);
    if (must) assert.ok(!skipped, `${peer} can run here, yet it was skipped:\n${ycsb}`);
    if (skipped) continue;
    assert.match(ycsb, MEASURED(peer, 'A paced 10/s'), `${peer} lacks the low-load run`);
    for (const w of ['A', 'B', 'C', 'D', 'E', 'F']) {
      for (const level of LEVELS) {
        // Every peer that runs here runs every workload, E included (spacekv answers list since search landed).
        assert.match(ycsb, MEASURED(peer, `${w} @${level}`), `${peer} lacks workload ${w} at ${level} in flight:\n${ycsb}`);
      }
    }
  }
  for (const w of ['A', 'B', 'C', 'D', 'E', 'F']) {
    for (const level of LEVELS) {
      assert.match(ycsb, new RegExp(`^${w} +${level} +(${FIGURE.source}|skipped) `, 'm'), `no ratio row for ${w} at ${level}`);
      // --variants auth-on: every cell of spacekv paired with the same cell on a server requiring tokens.
      assert.match(ycsb, new RegExp(`^    spacekv \\(SQLite\\) ${w} @${level}, ${PAIRED}`, 'm'), `spacekv's ${w} at ${level} lacks its auth-on pair:\n${ycsb}`);
      // How many slices a cell gets depends on its operations (200: at most 2 at 1 in flight, 1 at 4 x 1,024) and on its first run's rate.
      assert.match(ycsb, new RegExp(`^    spacekv \\(SQLite\\) ${w} @${level}: \\d ABBA slices? per side of at most [\\d,]+ operations or [\\d.]+ s `
        + '\\(an unmeasured first run on each server; this build\'s went at [\\d,]+ ops/s\\)$', 'm'), `spacekv's ${w} at ${level} lacks its slicing:\n${ycsb}`);
    }
  }

  // --server-cpu-prof: a profiled pass of each spacekv peer that ran, a main-thread profile per workload, named after the peer.
  const profiles = readdirSync(profileDir);
  for (const peer of mustRun['spacekv \\(PostgreSQL\\)'] ? ['spacekv', 'spacekv-pg'] : ['spacekv']) {
    for (const w of ['A', 'B', 'C', 'D', 'E', 'F']) {
      assert.ok(profiles.includes(`${peer}-ycsb-${w}.thread0.cpuprofile`), `${peer} has no profile of workload ${w} in ${profiles.join(', ')}`);
    }
  }

  const scaling = block(stdout, 'scaling');
  for (const peer of Object.keys(mustRun).filter((p) => mustRun[p])) {
    assert.equal([...scaling.matchAll(new RegExp(MEASURED(peer, '[AC] @64').source, 'gm'))].length, 6, `${peer} lacks a scaling cell (A and C at 3 sizes)`);
  }

  // The report: every section, the tables, and charts that exist beside it as SVG naming the peers.
  const report = readFileSync(reportPath, 'utf8');
  for (const heading of ['# spacekv bench (tiny)', '## Steps 1-5', '## Step 6', '## Step 7', '## YCSB core workloads', '### Workload A', '### Workload E', '### Server variants beside this build',
    '### spacekv ÷ peer', '## Low load', '## Closing note', '## Scaling']) {
    assert.ok(report.includes(heading), `the report lacks '${heading}'`);
  }
  assert.match(report, /The three biggest gaps to the best peer .*\*\*[A-F] at \d+ in flight\*\*/);
  assert.match(report, /^\| machine \| .+ cores/m);
  // --server-cpu-prof: a profiled pass of spacekv, summarised for each of the three biggest gaps, both server threads.
  assert.equal([...report.matchAll(/^### Where spacekv's server time went in workload [A-F]: main thread/gm)].length, 3, 'the closing note lacks the main thread\'s profile summaries');
  assert.match(report, /^### Where spacekv's server time went in workload [A-F]: worker thread \d+ \(the store's writer\)/m, 'the closing note lacks the writer thread\'s profile');
  assert.match(report, /^\| [^|]*server\/src\/[^|]+ \| \d+\.\d% \|$/m, 'no spacekv module in the profile summaries');
  const charts = [...report.matchAll(/!\[[^\]]+\]\(\.\/([^)]+\.svg)\)/g)].map((m) => m[1] as string);
  assert.equal(charts.length, 5, `expected 5 charts (throughput, p50, p99, scaling throughput and p99), found ${charts.join(', ')}`);
  for (const chart of charts) {
    const path = join(reportPath, '..', chart);
    assert.ok(existsSync(path), `chart ${chart} was not written`);
    const svg = readFileSync(path, 'utf8');
    assert.match(svg, /^<svg /);
    assert.ok(svg.includes('spacekv (SQLite)'), `chart ${chart} does not name spacekv`);
  }
}
