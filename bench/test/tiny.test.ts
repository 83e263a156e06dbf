// Proves the benchmark still runs end to end (STYLE.md §14): the compiled bench in tiny mode exits 0
// and prints every step with a figure, the summary table and a verdict per target. It asserts no
// timing: how fast spacekv is belongs to `npm run bench`, not to the test suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
});
