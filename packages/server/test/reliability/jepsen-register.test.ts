// Proves operations on one object are linearizable (docs/architecture.md §4.1) through faults, the Jepsen way:
// clients over WebSocket and REST run seeded random get/put/put_if_not_exist/compare_and_swap/
// atomicAdd/del on a few hot keys of a real server process, through a proxy, while a nemesis kills
// the server with SIGKILL and restarts it on the same data, pauses it (SIGSTOP/SIGCONT) and cuts
// every connection. Each round's history, with writes of unknown outcome counted as possibly
// applied, is checked by the linearizability checker. The short run is a few rounds; the long run
// (`npm run test:jepsen`) many more. A failure prints the seed (SPACEKV_SEED replays it).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@spacekv/client';
import { killAllChildren } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { outcomeCounts } from './checker/history.js';
import { checkLinearizable, explain } from './checker/linearizability.js';
import { REGISTER_MODEL } from './checker/register-model.js';
import { type Fault, startNemesis } from './harness/nemesis.js';
import { type RegisterClient, restRegisterClient, wsRegisterClient } from './harness/register-client.js';
import { registerSchema, runRegisterWorkload } from './harness/register-workload.js';
import { ServerUnderTest } from './harness/server-under-test.js';
import { rngOf, roundSeed, runSeed, scaled } from './harness/seed.js';
import { recordFigures } from './harness/figures.js';

const SEED = runSeed();
const ROUNDS = scaled(4, 1_000);
const KEYS = 5;
const WS_CLIENTS = 3;
const REST_CLIENTS = 3;
const OPS_PER_CLIENT = scaled(150, 50);
const FAULTS: readonly Fault[] = ['kill', 'pause', 'drop'];

const dataDir = makeTempDir('jepsen-register');
after(async () => {
  await killAllChildren();
  removeDir(dataDir);
});

test(`register histories under kill -9, SIGSTOP and dropped connections are linearizable (seed ${SEED})`, async (t) => {
  const sut = await ServerUnderTest.launch(dataDir);
  const admin = await connect(sut.url);
  await admin.addSpace(registerSchema());
  await admin.close();
  const clients: RegisterClient[] = [];
  for (let i = 0; i < WS_CLIENTS; i++) clients.push(await wsRegisterClient(sut.url));
  for (let i = 0; i < REST_CLIENTS; i++) clients.push(restRegisterClient(sut.url));
  const nemesis = startNemesis(sut, rngOf(SEED), FAULTS, 500);
  let ops = 0;
  const outcomes = { ok: 0, fail: 0, info: 0 };
  const everyKindInjected = (): boolean => sut.faults.kills > 0 && sut.faults.pauses > 0 && sut.faults.drops > 0;
  let rounds = 0;
  try {
    // On a fast machine the short run can end before the nemesis had its turn at each kind of fault:
    // it then goes on, round by round (bounded), until it has.
    for (let round = 0; round < ROUNDS || (!everyKindInjected() && round < ROUNDS * 20); round++, rounds++) {
      const rng = rngOf(roundSeed(SEED, round));
      const keys = Array.from({ length: KEYS }, (_, i) => `r${round}k${i}`);
      const run = await runRegisterWorkload({ clients, keys, rng, opsPerClient: OPS_PER_CLIENT });
      const verdict = checkLinearizable(REGISTER_MODEL, run.history);
      ops += run.history.length;
      for (const [outcome, n] of Object.entries(outcomeCounts(run.history))) outcomes[outcome as keyof typeof outcomes] += n;
      assert.equal(verdict.result, 'ok',
        `round ${round} (seed ${SEED}) is not linearizable:\n${verdict.keys.filter((k) => k.result !== 'ok').map(explain).join('\n')}`);
    }
  } finally {
    await nemesis.stop().catch((err: Error) => t.diagnostic(`nemesis: ${err.message}`));
    await Promise.all(clients.map((c) => c.close()));
    await sut.stop();
  }
  const summary = `${rounds} histories (${ops} operations: ${outcomes.ok} ok, ${outcomes.fail} fail, ${outcomes.info} info) checked linearizable; ` +
    `faults: ${sut.faults.kills} kill -9, ${sut.faults.pauses} SIGSTOP/SIGCONT, ${sut.faults.drops} connection drops`;
  t.diagnostic(summary);
  recordFigures('jepsen-register', { histories: rounds, operations: ops, ...outcomes, kills: sut.faults.kills, pauses: sut.faults.pauses, drops: sut.faults.drops });
  assert.ok(everyKindInjected(), 'the nemesis injected every kind of fault during the run');
});
