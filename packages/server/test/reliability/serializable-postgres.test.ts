// The reliability harness's register (linearizability) and bank workloads on PostgreSQL with every
// session SERIALIZABLE (CockroachDB's default isolation, docs/postgres.md "Portability"): two
// `spacekv serve` processes on one schema, WebSocket and REST clients spread over both, so racing
// batches fail with 40001 and the store retries them; in every other round one server is killed
// with SIGKILL mid-round and restarted. Each history must check (linearizable registers; every
// bank read sees the whole total and no negative balance), and the 40001/40P01 retries the servers
// counted (/metrics) are reported. A failure prints the seed (SPACEKV_SEED replays the workload).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@spacekv/client';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { killAllChildren } from '../helpers/process.js';
import { untilKnown } from '../helpers/spaces.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep } from '../helpers/timeout.js';
import { checkLinearizable, explain } from './checker/linearizability.js';
import { REGISTER_MODEL } from './checker/register-model.js';
import { BANK_SCHEMA, accountKey, bankViolations, runBank } from './harness/bank-workload.js';
import { restRegisterClient, wsRegisterClient } from './harness/register-client.js';
import { registerSchema, runRegisterWorkload } from './harness/register-workload.js';
import { ServerUnderTest } from './harness/server-under-test.js';
import { rngOf, roundSeed, runSeed } from './harness/seed.js';
import { restTxClient, wsTxClient } from './harness/tx-client.js';

const SEED = runSeed();
/** register, bank, register, bank: the second of each kind has a server killed mid-round. */
const ROUNDS = 4;
const REGISTER_OPS_PER_CLIENT = 40;
const BANK_OPS_PER_CLIENT = 20;
const BANK_ACCOUNTS = 5;
const BANK_BALANCE = 100;

const missing = await postgresMissing();
const schema = uniqueSchema('serial');
const dataDir = makeTempDir('pg-serializable');
after(async () => {
  await killAllChildren();
  removeDir(dataDir);
  if (!missing) await dropSchema(schema);
});

/** Batches the server at `url` ran again after a serialization failure, since it started. */
async function retriesOf(url: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const found = /^spacekv_store_retries_total (\d+)$/m.exec(text);
  assert.ok(found, `spacekv_store_retries_total is exposed:\n${text.slice(0, 500)}`);
  return Number(found[1]);
}

test(`register and bank workloads on PostgreSQL under SERIALIZABLE, two servers, kill -9 (seed ${SEED})`, { skip: missing }, async (t) => {
  const store = storeUrl(schema, POSTGRES_URL, 'serializable');
  const servers = [await ServerUnderTest.launch(dataDir, undefined, ['--store', store]), await ServerUnderTest.launch(dataDir, undefined, ['--store', store])];
  const urls = servers.map((s) => s.url);
  const admin = await connect(urls[0] as string);
  const register = [...await Promise.all(urls.map((url) => wsRegisterClient(url))), ...urls.map((url) => restRegisterClient(url))];
  const tx = [...await Promise.all(urls.map((url) => wsTxClient(url))), ...urls.map((url) => restTxClient(url))];
  /** Retries counted by servers since killed (a restart starts its counter again). */
  let retriesOfKilled = 0;
  let kills = 0;
  const histories = { register: 0, bank: 0 };
  try {
    await admin.addSpace(registerSchema('reg'));
    for (let round = 1; round < ROUNDS; round += 2) {
      await admin.addSpace(BANK_SCHEMA(`bank${round}`));
      await Promise.all(Array.from({ length: BANK_ACCOUNTS }, (_, a) => admin.put(`bank${round}`, accountKey(a), { balance: BANK_BALANCE })));
    }
    for (const url of urls) await untilKnown(url, `bank${ROUNDS - 1}`);

    for (let round = 0; round < ROUNDS; round++) {
      const rng = rngOf(roundSeed(SEED, round));
      const victim = round >= 2 ? servers[round % 2] : undefined;
      const crash = victim
        ? (async () => {
          await sleep(200 + rng.int(300));
          retriesOfKilled += await retriesOf(victim.url);
          await victim.crash();
          kills++;
        })()
        : Promise.resolve();
      if (round % 2 === 0) {
        const keys = Array.from({ length: 4 }, (_, i) => `r${round}k${i}`);
        const { history } = await runRegisterWorkload({ clients: register, keys, rng, opsPerClient: REGISTER_OPS_PER_CLIENT, space: 'reg' });
        const verdict = checkLinearizable(REGISTER_MODEL, history);
        assert.equal(verdict.result, 'ok', `round ${round} (seed ${SEED}): ${verdict.keys.filter((k) => k.result !== 'ok').map(explain).join('\n')}`);
        histories.register++;
      } else {
        const run = await runBank({ clients: tx, space: `bank${round}`, accounts: BANK_ACCOUNTS, rng, opsPerClient: BANK_OPS_PER_CLIENT });
        assert.deepEqual(bankViolations(run, BANK_ACCOUNTS * BANK_BALANCE), [], `round ${round} (seed ${SEED})`);
        assert.ok(run.transfers.ok > 0 && run.reads.length > 0, `round ${round}: transfers and reads succeeded: ${JSON.stringify(run.transfers)}`);
        histories.bank++;
      }
      await crash;
    }
    const retries = retriesOfKilled + (await Promise.all(urls.map(retriesOf))).reduce((a, b) => a + b, 0);
    t.diagnostic(`${histories.register} register and ${histories.bank} bank histories checked under SERIALIZABLE, ${kills} servers killed; ` +
      `batches retried on 40001/40P01 across both servers: ${retries}`);
    assert.equal(kills, 2);
  } finally {
    await Promise.all([...register, ...tx].map((c) => c.close()));
    await admin.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
});
