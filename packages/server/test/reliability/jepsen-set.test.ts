// Proves "durable on reply" through repeated crashes (docs/architecture.md §4.2), with a set workload: WebSocket
// and REST clients add unique elements to a real server process, which is killed with SIGKILL at a
// seeded moment and restarted on the same data, cycle after cycle. While it is down, SQLite's
// integrity check passes on the files it left; after each restart, every add acknowledged in any
// cycle so far is present and every add that definitely failed is absent (unknown ones may be
// either). The negative control runs the same cycles against a test-only server whose store
// acknowledges puts before committing them, and must find acknowledged adds lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { killAllChildren } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { recordFigures } from './harness/figures.js';
import { cyclesCatching, killCycles } from './harness/kill-cycles.js';
import { ServerUnderTest } from './harness/server-under-test.js';
import { runSeed, scaled } from './harness/seed.js';

const SEED = runSeed();
const CYCLES = scaled(5, 60);
const CONTROL_CYCLES = scaled(3, 20);
const BROKEN_SERVER = fileURLToPath(new URL('./harness/broken-server.js', import.meta.url));

const dirs: string[] = [];
after(async () => {
  await killAllChildren();
  for (const dir of dirs) removeDir(dir);
});

/** While the killed server is down: SQLite's integrity check passes on the files it left. */
function assertIntact(dataDir: string): void {
  const db = new Database(join(dataDir, 'spacekv.db'), { fileMustExist: true });
  try {
    assert.equal(String(db.pragma('integrity_check', { simple: true })), 'ok', "SQLite integrity check of the killed server's files");
  } finally {
    db.close();
  }
}

test(`set: ${CYCLES} kill -9 cycles under write load lose no acknowledged add (seed ${SEED})`, async (t) => {
  const dataDir = makeTempDir('jepsen-set');
  dirs.push(dataDir);
  const sut = await ServerUnderTest.launch(dataDir);
  try {
    const result = await killCycles(sut, CYCLES, SEED, () => assertIntact(dataDir));
    const violations = result.violationsPerCycle.flat();
    t.diagnostic(`${result.cycles} kill -9 cycles, ${result.acked} acknowledged adds, ${violations.length} lost or wrongly present`);
    recordFigures('jepsen-set', { histories: result.cycles, kills: result.cycles, acknowledged: result.acked, lost: violations.length });
    assert.deepEqual(violations.slice(0, 10), [], `seed ${SEED}`);
    assert.ok(result.acked > 0, 'adds were acknowledged');
  } finally {
    await sut.stop();
  }
});

test(`negative control: the set workload finds acknowledged adds lost by a store that acknowledges before committing (seed ${SEED})`, async (t) => {
  const dataDir = makeTempDir('jepsen-set-broken');
  dirs.push(dataDir);
  const sut = await ServerUnderTest.launch(dataDir, BROKEN_SERVER, ['--breakage', 'ack-before-commit']);
  try {
    const result = await killCycles(sut, CONTROL_CYCLES, SEED + 1, () => assertIntact(dataDir));
    // A cycle catches the bug when its restart shows new losses.
    const caught = cyclesCatching(result);
    t.diagnostic(`caught in ${caught} of ${CONTROL_CYCLES} kill -9 cycles`);
    recordFigures('negative control ack-before-commit kill -9', { controlHistories: CONTROL_CYCLES, caught });
    assert.ok(caught >= Math.ceil(0.95 * CONTROL_CYCLES), `caught in only ${caught} of ${CONTROL_CYCLES} cycles (seed ${SEED})`);
  } finally {
    await sut.stop();
  }
});
