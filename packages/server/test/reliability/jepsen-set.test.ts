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
import { connect } from '@spacekv/client';
import { killAllChildren } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';
import { recordFigures } from './harness/figures.js';
import { type RegisterClient, restRegisterClient, wsRegisterClient } from './harness/register-client.js';
import { registerSchema } from './harness/register-workload.js';
import { ServerUnderTest } from './harness/server-under-test.js';
import { rngOf, roundSeed, runSeed, scaled } from './harness/seed.js';
import { type SetRun, runSetAdds, setViolations } from './harness/set-workload.js';

const SEED = runSeed();
const CYCLES = scaled(5, 60);
const CONTROL_CYCLES = scaled(3, 20);
const BROKEN_SERVER = fileURLToPath(new URL('./harness/broken-server.js', import.meta.url));
const SPACE = 'elements';
const ACKS_BEFORE_KILL_MIN = 20;

const dirs: string[] = [];
after(async () => {
  await killAllChildren();
  for (const dir of dirs) removeDir(dir);
});

function integrityOf(dataDir: string): string {
  const db = new Database(join(dataDir, 'spacekv.db'), { fileMustExist: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}

interface CycleResult {
  readonly cycles: number;
  readonly acked: number;
  /** Violations found after each cycle's restart. */
  readonly violationsPerCycle: readonly string[][];
}

async function killCycles(sut: ServerUnderTest, dataDir: string, cycles: number, seed: number): Promise<CycleResult> {
  const admin = await connect(sut.url);
  await admin.addSpace(registerSchema(SPACE));
  await admin.close();
  const clients: RegisterClient[] = [await wsRegisterClient(sut.url), await wsRegisterClient(sut.url), restRegisterClient(sut.url), restRegisterClient(sut.url)];
  const reader = await wsRegisterClient(sut.url);
  const all: { acked: string[]; failed: string[]; unknown: string[] } = { acked: [], failed: [], unknown: [] };
  const violationsPerCycle: string[][] = [];
  try {
    for (let cycle = 0; cycle < cycles; cycle++) {
      const rng = rngOf(roundSeed(seed, cycle));
      let killed = false;
      let acks = 0;
      const adding = runSetAdds({ clients, space: SPACE, prefix: `c${cycle}`, addsPerClient: 100_000, rng, stop: () => killed, onAck: () => acks++ });
      // The kill lands under load: once this cycle's writes are being acknowledged, at a seeded moment.
      await withTimeout((async () => {
        while (acks < ACKS_BEFORE_KILL_MIN) await sleep(10);
      })(), 20_000, `${ACKS_BEFORE_KILL_MIN} acknowledged adds in cycle ${cycle}`);
      await sleep(rng.int(150));
      await sut.crash(() => {
        const integrity = integrityOf(dataDir);
        assert.equal(integrity, 'ok', `cycle ${cycle}: SQLite integrity check of the killed server's files`);
      });
      killed = true;
      const run: SetRun = await adding;
      all.acked.push(...run.acked);
      all.failed.push(...run.failed);
      all.unknown.push(...run.unknown);
      violationsPerCycle.push(await setViolations(reader, SPACE, all));
    }
  } finally {
    await Promise.all([...clients, reader].map((c) => c.close()));
  }
  return { cycles, acked: all.acked.length, violationsPerCycle };
}

test(`set: ${CYCLES} kill -9 cycles under write load lose no acknowledged add (seed ${SEED})`, async (t) => {
  const dataDir = makeTempDir('jepsen-set');
  dirs.push(dataDir);
  const sut = await ServerUnderTest.launch(dataDir);
  try {
    const result = await killCycles(sut, dataDir, CYCLES, SEED);
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
    const result = await killCycles(sut, dataDir, CONTROL_CYCLES, SEED + 1);
    // A cycle catches the bug when its restart shows new losses.
    const caught = result.violationsPerCycle.filter((v, i) => v.length > (result.violationsPerCycle[i - 1]?.length ?? 0)).length;
    t.diagnostic(`caught in ${caught} of ${CONTROL_CYCLES} kill -9 cycles`);
    recordFigures('negative control ack-before-commit kill -9', { controlHistories: CONTROL_CYCLES, caught });
    assert.ok(caught >= Math.ceil(0.95 * CONTROL_CYCLES), `caught in only ${caught} of ${CONTROL_CYCLES} cycles (seed ${SEED})`);
  } finally {
    await sut.stop();
  }
});
