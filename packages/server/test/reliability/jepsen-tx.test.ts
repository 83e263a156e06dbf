// Proves transactions stay atomic, serializable and linearizable through faults (docs/architecture.md §4.1,
// docs/transactions.md): WebSocket and REST clients run seeded list-append transactions (checked by
// the Elle checker: no G0, G1a/b/c, G-single, G2, no stale or incompatible reads) and bank transfers
// (every snapshot read sees the same total and no negative balance) against a real server process
// while a nemesis kills it with SIGKILL and restarts it, pauses it and cuts connections. Failed and
// unknown transactions are recorded as such. A failure prints the seed (SPACEKV_SEED replays it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@spacekv/client';
import { killAllChildren } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { checkListAppend } from './checker/elle.js';
import { outcomeCounts } from './checker/history.js';
import { BANK_SCHEMA, accountKey, bankViolations, runBank } from './harness/bank-workload.js';
import { recordFigures } from './harness/figures.js';
import { LIST_SCHEMA, runListAppend } from './harness/list-append-workload.js';
import { startNemesis } from './harness/nemesis.js';
import { type FaultCounts, ServerUnderTest } from './harness/server-under-test.js';
import { rngOf, roundSeed, runSeed, scaled } from './harness/seed.js';
import { type TxClient, restTxClient, wsTxClient } from './harness/tx-client.js';

const SEED = runSeed();
const ROUNDS = scaled(3, 200);
const TXNS_PER_CLIENT = scaled(40, 20);
const dataDir = makeTempDir('jepsen-tx');
let sut: ServerUnderTest;
let clients: TxClient[];

before(async () => {
  sut = await ServerUnderTest.launch(dataDir);
  clients = [await wsTxClient(sut.url), await wsTxClient(sut.url), await wsTxClient(sut.url), restTxClient(sut.url), restTxClient(sut.url)];
});
after(async () => {
  await Promise.all((clients ?? []).map((c) => c.close()));
  await sut?.stop();
  await killAllChildren();
  removeDir(dataDir);
});

function faultsSince(before: FaultCounts): FaultCounts {
  return { kills: sut.faults.kills - before.kills, pauses: sut.faults.pauses - before.pauses, drops: sut.faults.drops - before.drops };
}

async function setUp(schema: string, objects: readonly [string, string, Record<string, unknown>][]): Promise<void> {
  const admin = await connect(sut.url);
  try {
    await admin.addSpace(schema);
    await Promise.all(objects.map(([space, key, attributes]) => admin.put(space, key, attributes)));
  } finally {
    await admin.close();
  }
}

test(`list-append transactions under kill -9, SIGSTOP and dropped connections show no anomaly (seed ${SEED})`, async (t) => {
  const keys = ['x', 'y', 'z'];
  // Every round's space and lists exist before the first fault: set-up is not what is under test.
  for (let round = 0; round < ROUNDS; round++) await setUp(LIST_SCHEMA(`la${round}`), keys.map((k) => [`la${round}`, k, { l: [] }]));
  const faultsBefore = { ...sut.faults };
  const nemesis = startNemesis(sut, rngOf(SEED), ['kill', 'pause', 'drop'], 400);
  let txns = 0;
  const outcomes = { ok: 0, fail: 0, info: 0 };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const space = `la${round}`;
      const history = await runListAppend({ clients, space, keys, rng: rngOf(roundSeed(SEED, round)), txnsPerClient: TXNS_PER_CLIENT });
      const verdict = checkListAppend(history);
      txns += history.length;
      for (const [o, n] of Object.entries(outcomeCounts(history))) outcomes[o as keyof typeof outcomes] += n;
      assert.deepEqual(verdict.anomalies, [], `round ${round} (seed ${SEED})`);
    }
  } finally {
    await nemesis.stop();
  }
  t.diagnostic(`${ROUNDS} list-append histories (${txns} transactions: ${outcomes.ok} ok, ${outcomes.fail} fail, ${outcomes.info} info) without anomalies; ` +
    `faults so far: ${JSON.stringify(sut.faults)}`);
  recordFigures('jepsen-list-append', { histories: ROUNDS, transactions: txns, ...outcomes, ...faultsSince(faultsBefore) });
});

test(`bank transfers under kill -9, SIGSTOP and dropped connections keep the total (seed ${SEED})`, async (t) => {
  const accounts = 5;
  const balance = 100;
  for (let round = 0; round < ROUNDS; round++) {
    await setUp(BANK_SCHEMA(`bank${round}`), Array.from({ length: accounts }, (_, a) => [`bank${round}`, accountKey(a), { balance }]));
  }
  const faultsBefore = { ...sut.faults };
  const nemesis = startNemesis(sut, rngOf(SEED + 1), ['kill', 'pause', 'drop'], 400);
  const transfers = { ok: 0, fail: 0, info: 0 };
  let reads = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const space = `bank${round}`;
      const run = await runBank({ clients, space, accounts, rng: rngOf(roundSeed(SEED + 1, round)), opsPerClient: TXNS_PER_CLIENT });
      reads += run.reads.length;
      for (const [o, n] of Object.entries(run.transfers)) transfers[o as keyof typeof transfers] += n;
      assert.deepEqual(bankViolations(run, accounts * balance), [], `round ${round} (seed ${SEED})`);
    }
  } finally {
    await nemesis.stop();
  }
  assert.ok(transfers.ok > 0 && reads > 0, 'transfers committed and snapshots were read');
  t.diagnostic(`${ROUNDS} bank histories: transfers ${JSON.stringify(transfers)}, ${reads} snapshot reads all at the total; faults so far: ${JSON.stringify(sut.faults)}`);
  recordFigures('jepsen-bank', { histories: ROUNDS, reads, ...transfers, ...faultsSince(faultsBefore) });
});
