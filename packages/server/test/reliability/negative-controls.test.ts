// Proves the checkers and workloads catch the bugs they exist for: each runs against an in-process
// server whose store is deliberately broken (harness/broken-stores.ts, test-only) in 100 seeded runs,
// and must report a violation in at least 95 of them:
// - the linearizability checker, on a store whose compare_and_swap skips its version check;
// - the linearizability checker, on a store that acknowledges puts before committing them;
// - the set workload, on that store crashed mid-run (what kill -9 does to it): acknowledged adds lost;
// - the Elle list-append checker, on a store that computes appends from the batch's start (lost appends);
// - the bank workload, on that store (lost transfers change the total).
// The same workloads on the real store pass (a few runs each), so a catch is the bug's, not the harness's.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type SpacekvClient } from '@spacekv/client';
import { sleep } from '../helpers/timeout.js';
import { checkLinearizable, explain } from './checker/linearizability.js';
import { REGISTER_MODEL } from './checker/register-model.js';
import { checkListAppend } from './checker/elle.js';
import { BANK_SCHEMA, accountKey, bankViolations, runBank } from './harness/bank-workload.js';
import { type BrokenStore, type Breakage, breakStore } from './harness/broken-stores.js';
import { recordFigures } from './harness/figures.js';
import { type TestServerOptions, startTestServer } from '../helpers/server.js';
import { LIST_SCHEMA, runListAppend } from './harness/list-append-workload.js';
import { type RegisterClient, restRegisterClient, wsRegisterClient } from './harness/register-client.js';
import { registerSchema, runRegisterWorkload } from './harness/register-workload.js';
import { type Rng, rngOf, roundSeed, runSeed } from './harness/seed.js';
import { runSetAdds, setViolations } from './harness/set-workload.js';
import { type TxClient, restTxClient, wsTxClient } from './harness/tx-client.js';

const SEED = runSeed();
const RUNS = 100;
const CAUGHT_MIN = 95;
const HEALTHY_RUNS = 3;

/** The server a workload runs against, and the crash of its store (a no-op for the real store). */
interface Target {
  readonly url: string;
  crash(): void;
}

/** One seeded run of a workload against `server`: a description of what went wrong, or null. */
type Workload = (server: Target, rng: Rng, run: number) => Promise<string | null>;

interface Clients {
  readonly admin: SpacekvClient;
  readonly register: RegisterClient[];
  readonly tx: TxClient[];
}
const clientsOf = new Map<Target, Clients>();
after(async () => {
  for (const server of clientsOf.keys()) await closeClients(server);
});

async function closeClients(server: Target): Promise<void> {
  const made = clientsOf.get(server);
  clientsOf.delete(server);
  if (!made) return;
  await Promise.all([...made.register, ...made.tx].map((c) => c.close()));
  await made.admin.close();
}

async function clients(server: Target): Promise<Clients> {
  let made = clientsOf.get(server);
  if (!made) {
    made = {
      admin: await connect(server.url),
      register: [await wsRegisterClient(server.url), await wsRegisterClient(server.url), restRegisterClient(server.url), restRegisterClient(server.url)],
      tx: [await wsTxClient(server.url), await wsTxClient(server.url), await wsTxClient(server.url), restTxClient(server.url)],
    };
    clientsOf.set(server, made);
  }
  return made;
}

const register: Workload = async (server, rng, run) => {
  const { admin, register: registerClients } = await clients(server);
  await admin.addSpace(registerSchema(`reg${run}`));
  const { history } = await runRegisterWorkload({ clients: registerClients, keys: ['a', 'b'], rng, opsPerClient: 40, space: `reg${run}` });
  const verdict = checkLinearizable(REGISTER_MODEL, history);
  return verdict.result === 'illegal' ? verdict.keys.filter((k) => k.result === 'illegal').map(explain).join('\n') : null;
};

const listAppend: Workload = async (server, rng, run) => {
  const { admin, tx } = await clients(server);
  const space = `la${run}`;
  const keys = ['x', 'y'];
  await admin.addSpace(LIST_SCHEMA(space));
  await Promise.all(keys.map((k) => admin.put(space, k, { l: [] })));
  const verdict = checkListAppend(await runListAppend({ clients: tx, space, keys, rng, txnsPerClient: 15 }));
  return verdict.valid ? null : verdict.anomalies.map((a) => `${a.type}: ${a.message}`).join('\n');
};

const BANK_ACCOUNTS = 4;
const BANK_BALANCE = 100;
const bank: Workload = async (server, rng, run) => {
  const { admin, tx } = await clients(server);
  const space = `bank${run}`;
  await admin.addSpace(BANK_SCHEMA(space));
  await Promise.all(Array.from({ length: BANK_ACCOUNTS }, (_, a) => admin.put(space, accountKey(a), { balance: BANK_BALANCE })));
  const result = await runBank({ clients: tx, space, accounts: BANK_ACCOUNTS, rng, opsPerClient: 20 });
  const violations = bankViolations(result, BANK_ACCOUNTS * BANK_BALANCE);
  return violations.length > 0 ? violations.slice(0, 3).join('\n') : null;
};

/** The set workload with a crash of the store (when it can crash) at a seeded moment mid-run. */
const setWithCrash: Workload = async (server, rng, run) => {
  const { admin, register: registerClients } = await clients(server);
  const space = `set${run}`;
  await admin.addSpace(registerSchema(space));
  const adding = runSetAdds({ clients: registerClients, space, prefix: 'e', addsPerClient: 40, rng });
  await sleep(5 + rng.int(20));
  server.crash();
  const violations = await setViolations(registerClients[0]!, space, await adding);
  return violations.length > 0 ? `${violations.length} violations, e.g. ${violations[0]}` : null;
};

interface Control {
  readonly name: string;
  readonly breakage: Breakage;
  readonly workload: Workload;
}

const CONTROLS: readonly Control[] = [
  { name: 'linearizability checker vs a compare_and_swap that skips its check', breakage: 'cas-skips-check', workload: register },
  { name: 'linearizability checker vs a store that acknowledges puts before committing', breakage: 'ack-before-commit', workload: register },
  { name: 'set workload vs acknowledge-before-commit and a crash (kill -9)', breakage: 'ack-before-commit', workload: setWithCrash },
  { name: 'Elle list-append checker vs appends computed from a stale snapshot (lost update)', breakage: 'batch-snapshot', workload: listAppend },
  { name: 'bank workload vs transfers computed from a stale snapshot (lost update)', breakage: 'batch-snapshot', workload: bank },
];

async function runs(control: Control, breakage: Breakage | undefined, count: number, firstRun: number): Promise<{ caught: number; example?: string }> {
  let caught = 0;
  let example: string | undefined;
  let broken: BrokenStore | undefined;
  const options: TestServerOptions = { inMemory: true, ...(breakage ? { wrapStore: (real) => (broken = breakStore(real, breakage)) } : {}) };
  const running = await startTestServer('negative', options);
  const server: Target = { url: running.url, crash: () => broken?.crash() };
  try {
    for (let run = firstRun; run < firstRun + count; run++) {
      const found = await control.workload(server, rngOf(roundSeed(SEED, run)), run);
      if (found !== null) {
        caught++;
        example ??= `run ${run}: ${found}`;
      }
    }
  } finally {
    await closeClients(server);
    await running.stop();
  }
  return { caught, ...(example === undefined ? {} : { example }) };
}

for (const control of CONTROLS) {
  test(`negative control: ${control.name} (seed ${SEED})`, async (t) => {
    const broken = await runs(control, control.breakage, RUNS, 0);
    t.diagnostic(`caught in ${broken.caught} of ${RUNS} seeded runs; first: ${broken.example?.split('\n')[0] ?? 'none'}`);
    recordFigures(`negative control: ${control.name}`, { controlHistories: RUNS, caught: broken.caught });
    assert.ok(broken.caught >= CAUGHT_MIN, `the harness caught the broken store in only ${broken.caught} of ${RUNS} runs (seed ${SEED})`);

    const healthy = await runs(control, undefined, HEALTHY_RUNS, RUNS);
    assert.equal(healthy.caught, 0, `the real store failed the same workload (seed ${SEED}):\n${healthy.example}`);
  });
}
