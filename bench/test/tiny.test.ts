// Proves the benchmark still runs end to end (STYLE.md §14): the compiled bench in tiny mode exits 0
// and prints every step with a figure (search included), the summary table and a verdict per target. It asserts no
// timing: how fast spacekv is belongs to `npm run bench`, not to the test suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../run.js', import.meta.url));
const FIGURE = /\d[\d,]*(\.\d+)?/;

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runTiny(): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, '--tiny'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Whether redis-server can be started here: if so, step 6 must run both Redis peers, never skip one. */
function redisServerOnPath(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The lines of the section headed `[n]`, up to the next section or the blank line before the table. */
function section(stdout: string, n: number): string {
  const start = stdout.indexOf(`[${n}] `);
  assert.notEqual(start, -1, `section [${n}] is missing:\n${stdout}`);
  const rest = stdout.slice(start);
  const end = rest.search(/\n(\[\d\] |\n)/);
  return end === -1 ? rest : rest.slice(0, end);
}

test('the tiny benchmark runs every step and prints a figure for each', { timeout: 120_000 }, async () => {
  const { code, stdout, stderr } = await runTiny();
  assert.equal(code, 0, `bench --tiny exited ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);

  assert.match(stdout, /^machine: .+, \d+ cores, node v\d+/m);
  assert.match(section(stdout, 1), new RegExp(`GET: ${FIGURE.source} req/s`));
  assert.match(section(stdout, 2), new RegExp(`GET \\S+: ${FIGURE.source} req/s`));
  assert.match(section(stdout, 3), new RegExp(`PUT \\S+: ${FIGURE.source} req/s`));
  const inProcess = section(stdout, 4);
  for (const label of ['engine group commit', 'engine one commit per write', 'raw better-sqlite3, one transaction per write', 'raw better-sqlite3, \\d+ writes per transaction']) {
    assert.match(inProcess, new RegExp(`${label}[^:]*: ${FIGURE.source} ops/s`), `section [4] lacks '${label}':\n${inProcess}`);
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
    }
    for (const peer of ['Redis GET', 'Redis SET \\(no persistence\\)', 'Redis SET \\(appendfsync always\\)']) {
      assert.match(vsRedis, new RegExp(`^    ${peer}, ${level} in flight(, ioredis plain: ${FIGURE.source} ops/s|: SKIPPED \\(.+\\))`, 'm'),
        `section [6] lacks ${peer} at ${level} in flight:\n${vsRedis}`);
    }
  }
  if (redisServerOnPath()) {
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
  // Step 8: search, each figure present, counts served from the index, and the two verdicts.
  const search = section(stdout, 8);
  assert.match(search, new RegExp(`indexed equality search, 100 objects.*p50 ${FIGURE.source} ms.*raw SQLite p50 ${FIGURE.source} ms.*\[target p50 < 2 ms: (PASS|MISS)\]`));
  assert.match(search, /count of an indexed range .*served from the index: yes/);
  assert.match(search, /count of an indexed equality: .*served from the index: yes/);
  assert.match(search, new RegExp(`server event-loop delay p50 ${FIGURE.source} ms, p99 ${FIGURE.source} ms.*\[target p99 < 10 ms: (PASS|MISS)\]`));

  // Step 10: PostgreSQL, a row of figures for each store set-up and raw PostgreSQL (or skipped with its reason).
  const pg = section(stdout, 10);
  if (!/SKIPPED: PostgreSQL is not reachable/.test(pg)) {
    for (const label of ['SQLite \\(embedded\\), 1 server', 'PostgreSQL, 1 server', 'PostgreSQL, 2 servers', 'raw PostgreSQL']) {
      assert.match(pg, new RegExp(`${label}.*  ${FIGURE.source} +[\\d.]+/[\\d.]+ +${FIGURE.source} +[\\d.]+/[\\d.]+ +[\\d.]+x +[\\d.]+x$`, 'm'), `section [10] lacks '${label}':\n${pg}`);
    }
  }
  assert.doesNotMatch(stdout, /BROKEN/);
});
