// The reliability harness on PostgreSQL (docs/reliability.md, "On PostgreSQL"): the register
// (linearizability), list-append (Elle), bank and set workloads run, in turn, against two
// `spacekv serve` processes on one schema of a high-availability PostgreSQL (Patroni + etcd, two
// nodes, synchronous replication), while a nemesis kills a spacekv server with SIGKILL, cuts every
// connection between spacekv and PostgreSQL, blackholes them (1-2.5 s short, 1-20 s long), and kills the primary's
// PostgreSQL (every process of it) so that Patroni fails over. Clients are spread over both servers. The negative
// control runs the set workload's kill -9 cycles against a server whose store (PostgreSQL, wrapped)
// acknowledges puts before committing them, and must find acknowledged adds lost. The short run
// (`npm test`) goes on until every fault kind has landed; the long run takes >= 200 histories and
// >= 20 failovers. A failure prints the seed (SPACEKV_SEED replays the workload and fault schedule).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { connect, type SpacekvClient } from '@spacekv/client';
import { PgHaCluster, pgHaMissing } from '../helpers/pg-ha.js';
import { uniqueSchema } from '../helpers/postgres.js';
import { killAllChildren } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep } from '../helpers/timeout.js';
import { untilKnown } from '../helpers/spaces.js';
import { checkListAppend } from './checker/elle.js';
import { checkLinearizable, explain } from './checker/linearizability.js';
import { REGISTER_MODEL } from './checker/register-model.js';
import { BANK_SCHEMA, accountKey, bankViolations, runBank } from './harness/bank-workload.js';
import { recordFigures } from './harness/figures.js';
import { cyclesCatching, killCycles } from './harness/kill-cycles.js';
import { LIST_SCHEMA, runListAppend } from './harness/list-append-workload.js';
import { PgSystemUnderTest } from './harness/pg-under-test.js';
import { type RegisterClient, restRegisterClient, wsRegisterClient } from './harness/register-client.js';
import { registerSchema, runRegisterWorkload } from './harness/register-workload.js';
import { ServerUnderTest } from './harness/server-under-test.js';
import { type Rng, rngOf, roundSeed, runSeed, scaled } from './harness/seed.js';
import { type SetRun, runSetAdds, setViolations } from './harness/set-workload.js';
import { type TxClient, restTxClient, wsTxClient } from './harness/tx-client.js';

const SEED = runSeed();
/** Rounds with every workload in turn (register, list-append, bank, set). */
const ROUNDS = scaled(4, 200);
const FAILOVERS_MIN = scaled(1, 20);
/** Past ROUNDS, register and set rounds go on (bounded) until every fault kind and FAILOVERS_MIN have landed. */
const EXTRA_ROUNDS_MAX = scaled(40, 400);
const NEMESIS_INTERVAL_MS = scaled(1_000, 2_000);
/** The longest blackhole: short runs keep to delays; long ones also pass the store's read and batch deadlines. */
const BLACKHOLE_MAX_MS = scaled(2_500, 20_000);
const CONTROL_CYCLES = scaled(3, 20);
const BROKEN_SERVER = fileURLToPath(new URL('./harness/broken-server.js', import.meta.url));
const BANK_ACCOUNTS = 5;
const BANK_BALANCE = 100;
const WORKLOADS = ['register', 'list-append', 'bank', 'set'] as const;
/** The set workload's space (`set` itself is a type word of the schema language). */
const SET_SPACE = 'adds';
type Workload = (typeof WORKLOADS)[number];

const missing = pgHaMissing();
const dataDir = makeTempDir('jepsen-postgres');
let cluster: PgHaCluster | undefined;

before(async () => {
  if (!missing) cluster = await PgHaCluster.create();
});
after(async () => {
  await killAllChildren();
  await cluster?.destroy();
  removeDir(dataDir);
});

interface Clients {
  readonly register: readonly RegisterClient[];
  readonly tx: readonly TxClient[];
  /** Reads the set back, on server 0. */
  readonly reader: RegisterClient;
}

test(`register, list-append, bank and set on PostgreSQL under server kill -9, store cuts, blackholes and failovers (seed ${SEED})`, { skip: missing }, async (t) => {
  const ha = cluster as PgHaCluster;
  const sut = await PgSystemUnderTest.launch(ha, dataDir, uniqueSchema('jepsen'));
  const admin = await connect(sut.url(0));
  const clients: Clients = {
    register: [await wsRegisterClient(sut.url(0)), await wsRegisterClient(sut.url(1)), restRegisterClient(sut.url(0)), restRegisterClient(sut.url(1))],
    tx: [await wsTxClient(sut.url(0)), await wsTxClient(sut.url(1)), restTxClient(sut.url(0)), restTxClient(sut.url(1))],
    reader: await wsRegisterClient(sut.url(0)),
  };
  const histories: Record<Workload, number> = { register: 0, 'list-append': 0, bank: 0, set: 0 };
  let acknowledged = 0;
  try {
    // Every round's spaces and objects exist before the first fault: set-up is not what is under test.
    await admin.addSpace(registerSchema('reg'));
    await admin.addSpace(registerSchema(SET_SPACE));
    for (let round = 0; round < ROUNDS; round++) await setUp(admin, workloadOf(round), round);
    for (const server of [0, 1]) await untilKnown(sut.url(server), SET_SPACE);
    const nemesis = sut.nemesis(rngOf(SEED), NEMESIS_INTERVAL_MS, BLACKHOLE_MAX_MS);
    const done = (): boolean => {
      const f = sut.faults;
      return f.kills > 0 && f.drops > 0 && f.blackholes > 0 && f.failovers >= FAILOVERS_MIN;
    };
    try {
      for (let round = 0; (round < ROUNDS || (!done() && round < ROUNDS + EXTRA_ROUNDS_MAX)) && !nemesis.failed(); round++) {
        const workload = round < ROUNDS ? workloadOf(round) : round % 2 === 0 ? 'register' : 'set';
        const problem = await runRound(workload, clients, round, rngOf(roundSeed(SEED, round)));
        histories[workload]++;
        acknowledged += problem.acknowledged;
        assert.equal(problem.found, null, `round ${round}, ${workload} (seed ${SEED}): ${problem.found}`);
      }
    } finally {
      await nemesis.stop();
    }
  } finally {
    await Promise.all([...clients.register, ...clients.tx, clients.reader].map((c) => c.close()));
    await admin.close();
    await sut.stop();
  }
  const faults = sut.faults;
  const total = Object.values(histories).reduce((a, b) => a + b, 0);
  t.diagnostic(`${total} histories checked on PostgreSQL (${JSON.stringify(histories)}); ${acknowledged} acknowledged adds, 0 lost; faults: ${JSON.stringify(faults)}`);
  recordFigures('pg-jepsen', {
    histories: total, register: histories.register, listAppend: histories['list-append'], bank: histories.bank, set: histories.set,
    acknowledged, lost: 0, kills: faults.kills, storeDrops: faults.drops, blackholes: faults.blackholes, failovers: faults.failovers,
  });
  assert.ok(faults.kills > 0 && faults.drops > 0 && faults.blackholes > 0, `every kind of fault landed: ${JSON.stringify(faults)}`);
  assert.ok(faults.failovers >= FAILOVERS_MIN, `${faults.failovers} failovers, at least ${FAILOVERS_MIN} wanted`);
});

test(`negative control on PostgreSQL: the set workload finds acknowledged adds lost by a store that acknowledges before committing (seed ${SEED})`, { skip: missing }, async (t) => {
  const broken = await ServerUnderTest.launch(dataDir, BROKEN_SERVER, ['--breakage', 'ack-before-commit', '--store', (cluster as PgHaCluster).storeUrl(uniqueSchema('broken'))]);
  try {
    const result = await killCycles(broken, CONTROL_CYCLES, SEED + 1);
    const caught = cyclesCatching(result);
    t.diagnostic(`caught in ${caught} of ${CONTROL_CYCLES} kill -9 cycles`);
    recordFigures('pg negative control ack-before-commit kill -9', { controlHistories: CONTROL_CYCLES, caught });
    assert.ok(caught >= Math.ceil(0.95 * CONTROL_CYCLES), `caught in only ${caught} of ${CONTROL_CYCLES} cycles (seed ${SEED})`);
  } finally {
    await broken.stop();
  }
});

function workloadOf(round: number): Workload {
  return WORKLOADS[round % WORKLOADS.length]!;
}

async function setUp(admin: SpacekvClient, workload: Workload, round: number): Promise<void> {
  if (workload === 'list-append') {
    await admin.addSpace(LIST_SCHEMA(`la${round}`));
    await Promise.all(['x', 'y', 'z'].map((k) => admin.put(`la${round}`, k, { l: [] })));
  } else if (workload === 'bank') {
    await admin.addSpace(BANK_SCHEMA(`bank${round}`));
    await Promise.all(Array.from({ length: BANK_ACCOUNTS }, (_, a) => admin.put(`bank${round}`, accountKey(a), { balance: BANK_BALANCE })));
  }
}

/** One round of `workload`: what its checker found (null: nothing), and the adds it acknowledged. */
async function runRound(workload: Workload, clients: Clients, round: number, rng: Rng): Promise<{ found: string | null; acknowledged: number }> {
  if (workload === 'register') {
    const keys = Array.from({ length: 4 }, (_, i) => `r${round}k${i}`);
    const { history } = await runRegisterWorkload({ clients: clients.register, keys, rng, opsPerClient: scaled(30, 40), space: 'reg' });
    const verdict = checkLinearizable(REGISTER_MODEL, history);
    return { found: verdict.result === 'ok' ? null : verdict.keys.filter((k) => k.result !== 'ok').map(explain).join('\n'), acknowledged: 0 };
  }
  if (workload === 'list-append') {
    const verdict = checkListAppend(await runListAppend({ clients: clients.tx, space: `la${round}`, keys: ['x', 'y', 'z'], rng, txnsPerClient: 15 }));
    return { found: verdict.valid ? null : verdict.anomalies.map((a) => `${a.type}: ${a.message}`).join('\n'), acknowledged: 0 };
  }
  if (workload === 'bank') {
    const run = await runBank({ clients: clients.tx, space: `bank${round}`, accounts: BANK_ACCOUNTS, rng, opsPerClient: 15 });
    const violations = bankViolations(run, BANK_ACCOUNTS * BANK_BALANCE);
    return { found: violations.length > 0 ? violations.slice(0, 3).join('\n') : null, acknowledged: 0 };
  }
  const added = await runSetAdds({ clients: clients.register, space: SET_SPACE, prefix: `s${round}`, addsPerClient: 25, rng });
  const violations = await readBack(clients.reader, added);
  return { found: violations.length > 0 ? `${violations.length} violations, e.g. ${violations[0]}` : null, acknowledged: added.acked.length };
}

/** The set's violations, read back through faults: a read that fails (a fault in progress) is retried. */
async function readBack(reader: RegisterClient, run: SetRun): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await setViolations(reader, SET_SPACE, run);
    } catch (err) {
      if (attempt >= 60) throw err;
      await sleep(500);
    }
  }
}
