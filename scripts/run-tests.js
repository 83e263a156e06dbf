#!/usr/bin/env node
// Runs every compiled test file with node's test runner. Node 20's `--test` takes no globs, so the
// files are listed here. Arguments narrow the run: `npm test -- core` runs files whose path has "core".
//
// Files run two at a time: the suite mostly waits (fsync, PostgreSQL, timers, child processes), so a
// second file uses the idle core. SPACEKV_TEST_CONCURRENCY sets how many (1 runs them one by one).
// The files in RUN_ALONE change what other files read or count, so they run after the concurrent
// batch, one at a time, with nothing beside them.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['packages/core/dist/test', 'packages/server/dist/test', 'packages/client/dist/test', 'bench/dist/test', 'examples/dist'];

/** Test files (compiled paths) that must not share the machine with another test file, and why. */
const RUN_ALONE = {
  // `npm start` runs `npm run build`, whose console build deletes and rewrites
  // packages/console/dist, which the console and browser tests serve and the pack test packs.
  'packages/server/dist/test/process/npm-start.test.js': 'npm start rebuilds packages/console/dist',
};

function collect(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

function concurrency() {
  const value = process.env.SPACEKV_TEST_CONCURRENCY ?? '2';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`SPACEKV_TEST_CONCURRENCY must be a whole number of at least 1, not ${JSON.stringify(value)}`);
    process.exit(1);
  }
  return n;
}

/** Whether this node takes --test-concurrency (20.10 and newer; before, it ran cores - 1 files at a time). */
function takesTestConcurrency() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major > 20 || (major === 20 && minor >= 10);
}

const counts = { tests: 0, pass: 0, fail: 0 };

/**
 * Adds the totals of a run's TAP summary (`# tests N`, `# pass N`, `# fail N`, `# cancelled N`). A run
 * that failed without counting a failure (node itself ended early, with a partial summary or none)
 * counts as one failure, so the closing line never reads "0 failed" over a failed run.
 */
function addCounts(tapFile, failed) {
  let tap = '';
  try {
    tap = readFileSync(tapFile, 'utf8');
  } catch {
    // no summary written: the failure below stands for it
  }
  const total = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  const fails = total('fail') + total('cancelled');
  counts.tests += total('tests');
  counts.pass += total('pass');
  counts.fail += failed && fails === 0 ? 1 : fails;
}

/** Runs the files with node's test runner, `n` files at a time, its TAP copy in `tapDir`; true when every test passed. */
function runFiles(files, n, tapDir, name) {
  if (files.length === 0) return true;
  const flags = takesTestConcurrency() ? [`--test-concurrency=${n}`] : [];
  const tapFile = join(tapDir, `${name}.tap`);
  const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`];
  const result = spawnSync(process.execPath, ['--test', ...flags, ...reporters, ...files], { stdio: 'inherit' });
  const passed = result.status === 0;
  addCounts(tapFile, !passed);
  return passed;
}

const all = roots.flatMap(collect);
const missing = Object.keys(RUN_ALONE).filter((f) => !all.includes(f));
if (all.length > 0 && missing.length > 0) {
  console.error(`run-tests.js names files to run alone that do not exist (renamed?): ${missing.join(', ')}`);
  process.exit(1);
}
const filters = process.argv.slice(2);
const files = all.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
const together = files.filter((f) => !(f in RUN_ALONE));
const alone = files.filter((f) => f in RUN_ALONE);
if (!takesTestConcurrency()) console.log(`# node ${process.version} chooses how many test files run at once (--test-concurrency came in 20.10)`);
// Each run's TAP copy, for the whole suite's count printed at the end.
const tapDir = mkdtempSync(join(tmpdir(), 'spacekv-tests-'));
const passedTogether = runFiles(together, concurrency(), tapDir, 'together');
for (const file of alone) console.log(`# alone, after the others: ${file} (${RUN_ALONE[file]})`);
const passedAlone = runFiles(alone, 1, tapDir, 'alone');
rmSync(tapDir, { recursive: true, force: true });
// The runs above each print node's own summary; this line is the whole suite's.
console.log(`\n# every test file: ${counts.tests} tests in ${together.length + alone.length} files`);
console.log(`${counts.pass} passed, ${counts.fail} failed`);
process.exit(passedTogether && passedAlone ? 0 : 1);
