// Proves point-in-time restore (docs/operations.md): a backup rolled forward with the change log to
// a seq in the middle of a run of concurrent, randomized writes (puts with and without expiry,
// mutations, deletions, transactions, a space added and one removed, an index added online) is
// byte for byte the state a backup taken at that very seq holds: every space, object, version,
// expiry, index entry and logged change. `--to-time` stops before a mistake made after that
// instant; a log that retention trimmed past the backup is refused, naming the gap. Seeded
// (SPACEKV_SEED replays a run); the seed is printed when it fails.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type SpacekvClient, connect } from '@spacekv/client';
import { backupFromDataDir } from '../../src/ops/backup.js';
import { killAllChildren, runCli } from '../helpers/process.js';
import { startTestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep } from '../helpers/timeout.js';
import { type Rng, rngOf, runSeed } from '../reliability/harness/seed.js';

after(killAllChildren);

const CLIENTS = 4;
const OPS_PER_PHASE = 60;
const KEYS = 25;

/** One random write of a client; failures that are answers (not_found on a deleted key) are fine. */
async function randomWrite(client: SpacekvClient, rng: Rng, space: 'accounts' | 'late'): Promise<void> {
  const key = `a${rng.int(KEYS)}`;
  const pick = rng.int(6);
  try {
    if (pick === 0) await client.put(space, key, { balance: rng.int(1000) - 500, tags: [rng.pick(['x', 'y', 'z'])] });
    else if (pick === 1) await client.put(space, key, { balance: rng.int(100) }, { expireIn: 3600 + rng.int(3600) });
    else if (pick === 2) await client.mutate(space, key, [{ add: { balance: 1 } }, { set_add: { tags: 'm' } }]);
    else if (pick === 3) await client.del(space, key);
    else if (pick === 4) await client.tx({ ops: [{ op: 'put', space, key, attributes: { balance: 7 } }, { op: 'put', space, key: `a${rng.int(KEYS)}`, attributes: { balance: 8 } }] });
    else await client.put('temp', rng.int(KEYS), { s: `v${rng.int(100)}` }).catch(() => undefined); // temp may be gone
  } catch (err) {
    if ((err as { code?: string }).code !== 'not_found') throw err;
  }
}

async function phase(clients: readonly SpacekvClient[], rng: Rng, space: 'accounts' | 'late'): Promise<void> {
  const seeds = clients.map(() => rng.int(2 ** 31));
  await Promise.all(clients.map(async (client, i) => {
    const own = rngOf(seeds[i] as number);
    for (let n = 0; n < OPS_PER_PHASE; n++) await randomWrite(client, own, space);
  }));
}

/** Everything a data file holds, table by table, in a comparable form. */
function contentsOf(file: string): Record<string, unknown> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const spaces = db.prepare('SELECT id, name, schema, created_seq FROM spaces ORDER BY name').all() as { id: number; name: string }[];
    const out: Record<string, unknown> = {
      spaces,
      last_seq: db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck().get(),
      changes: db.prepare('SELECT * FROM changes ORDER BY seq, idx').all(),
    };
    for (const { id, name } of spaces) {
      out[`objects of ${name}`] = db.prepare('SELECT key, version, expires_at, attrs FROM objects WHERE space_id = ? ORDER BY key').all(id);
      out[`index entries of ${name}`] = db.prepare('SELECT attr, hex(value) AS value, key, expires_at FROM index_entries WHERE space_id = ? ORDER BY attr, value, key').all(id);
    }
    return out;
  } finally {
    db.close();
  }
}

test('a backup rolled forward to a seq mid-run equals a backup taken at that seq; --to-time stops before a mistake', async () => {
  const seed = runSeed();
  const rng = rngOf(seed);
  const server = await startTestServer('pitr', { inMemory: true });
  const work = makeTempDir('pitr-out');
  const clients: SpacekvClient[] = [];
  try {
    for (let i = 0; i < CLIENTS; i++) clients.push(await connect(server.url));
    const admin = clients[0] as SpacekvClient;
    await admin.addSpace('space accounts key id attributes int balance, set(string) tags index balance');
    await admin.addSpace('space temp key int n attributes string s');
    await phase(clients, rng, 'accounts');
    const base = join(work, 'base.backup');
    const baseSeq = (await backupFromDataDir(server.dataDir, base)).seq;

    // After the base backup: more writes, a space added and written, an index built online, a space removed...
    await admin.addSpace('space late key id attributes int balance, set(string) tags');
    await admin.addIndex('accounts', 'tags');
    const middleBackup = join(work, 'middle.backup');
    const [, middle] = await Promise.all([phase(clients, rng, 'late'), backupFromDataDir(server.dataDir, middleBackup)]);
    await admin.rmSpace('temp');
    await phase(clients, rng, 'accounts');
    // ...then a quiet moment, its instant, and a mistake.
    const beforeMistake = join(work, 'before-mistake.backup');
    const quiet = await backupFromDataDir(server.dataDir, beforeMistake);
    const instant = Date.now();
    await sleep(5); // the mistake commits strictly after the instant
    await admin.groupDel('accounts', {});
    assert.ok(middle.seq > baseSeq && quiet.seq > middle.seq, `the run moved on (seqs ${baseSeq}, ${middle.seq}, ${quiet.seq})`);

    const restore = async (name: string, ...args: string[]): Promise<{ seq: number }> => {
      const run = await runCli(['restore', '--data', join(work, name), ...args], undefined, 60_000);
      assert.equal(run.code, 0, `seed ${seed}: ${run.stderr}`);
      return JSON.parse(run.stdout) as { seq: number };
    };
    const rolled = await restore('rolled', '--from', base, '--log', server.dataDir, '--to-seq', String(middle.seq));
    assert.equal(rolled.seq, middle.seq);
    await restore('taken', '--from', middleBackup);
    assert.deepEqual(contentsOf(join(work, 'rolled', 'spacekv.db')), contentsOf(join(work, 'taken', 'spacekv.db')), `seed ${seed}: rolled forward to seq ${middle.seq} vs taken there`);

    const timed = await restore('timed', '--from', base, '--log', server.dataDir, '--to-time', new Date(instant).toISOString());
    assert.equal(timed.seq, quiet.seq, `seed ${seed}: --to-time stops at the last seq before the instant`);
    await restore('quiet', '--from', beforeMistake);
    assert.deepEqual(contentsOf(join(work, 'timed', 'spacekv.db')), contentsOf(join(work, 'quiet', 'spacekv.db')), `seed ${seed}: the state just before the mistake`);

    // Retention trims the log past the base backup: rolling it forward is refused, saying why.
    const store = server.server.engine.store;
    while ((await store.pruneChanges({ keepSeqs: 1, throughSeqMax: quiet.seq }, 10_000)).removed > 0);
    const refused = await runCli(['restore', '--from', base, '--data', join(work, 'refused'), '--log', server.dataDir, '--to-seq', String(middle.seq)]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /"code":"compacted".*log retention removed the changes in between/);
  } catch (err) {
    console.error(`point-in-time restore failed with seed ${seed} (SPACEKV_SEED=${seed} replays it)`);
    throw err;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
    removeDir(work);
  }
});
