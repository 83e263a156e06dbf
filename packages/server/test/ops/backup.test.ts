// Proves online backup and restore (docs/operations.md): a backup taken through a live server while
// 8 clients write holds exactly the writes committed up to its manifest's seq, each object at the
// version and attributes it had then, and none after; restore verifies the checksum first and
// refuses a damaged, truncated or foreign file with `invalid_backup`, leaving the directory empty;
// and one server takes at most snapshotsInflightMax backups at once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS, parseJson } from '@spacekv/core';
import { type SpacekvClient, connect } from '@spacekv/client';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { backupFromDataDir } from '../../src/ops/backup.js';
import { killAllChildren, runCli } from '../helpers/process.js';
import { startTestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

const WRITERS = 8;
const KEYS_PER_WRITER = 20;
/** Writes each client makes before the backup starts, and at least after it ends. */
const WRITES_AROUND = 30;
/** A bound on each writer, whatever happens to the backup. */
const WRITES_MAX = 2_000;

interface Acked {
  readonly key: string;
  readonly version: number;
  readonly attributes: { readonly writer: number; readonly n: number };
}

after(killAllChildren);

/** The object each key held at `seq`: its acknowledged write of the highest version up to `seq`. */
function stateAt(acked: readonly Acked[], seq: number): Map<string, Acked> {
  const state = new Map<string, Acked>();
  for (const write of acked) {
    const held = state.get(write.key);
    if (write.version <= seq && (!held || held.version < write.version)) state.set(write.key, write);
  }
  return state;
}

test('a backup taken while 8 clients write restores exactly the writes committed up to its seq', async () => {
  const server = await startTestServer('backup-live');
  const work = makeTempDir('backup-live-out');
  const clients: SpacekvClient[] = [];
  try {
    const admin = await connect(server.url);
    clients.push(admin);
    await admin.addSpace('space counters key id attributes int writer, int n');
    for (let i = 0; i < WRITERS; i++) clients.push(await connect(server.url));
    const acked: Acked[] = [];
    let backupDone = false;
    let started = 0;
    let signalStarted: () => void = () => {};
    const allStarted = new Promise<void>((resolve) => (signalStarted = resolve));
    const writers = clients.slice(1).map(async (client, writer) => {
      let after = 0;
      for (let n = 0; n < WRITES_MAX && (!backupDone || after < WRITES_AROUND); n++) {
        const key = `w${writer}-${n % KEYS_PER_WRITER}`;
        const attributes = { writer, n };
        const written = await client.put('counters', key, attributes);
        acked.push({ key, version: written.version, attributes });
        if (n + 1 === WRITES_AROUND && ++started === WRITERS) signalStarted();
        if (backupDone) after++;
      }
    });
    await allStarted;
    const file = join(work, 'live.backup');
    const backup = await runCli(['--url', server.url, 'backup', '--to', file], undefined, 60_000);
    backupDone = true;
    await Promise.all(writers);
    assert.equal(backup.code, 0, backup.stderr);
    const manifest = JSON.parse(backup.stdout) as { seq: number; sha256: string; bytes: number };
    assert.ok(acked.some((w) => w.version > manifest.seq), 'writes went on after the snapshot');
    assert.ok(acked.some((w) => w.version <= manifest.seq), 'the snapshot holds writes');

    const restoredDir = join(work, 'restored');
    const restore = await runCli(['restore', '--from', file, '--data', restoredDir]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(JSON.parse(restore.stdout).seq, manifest.seq);

    const expected = stateAt(acked, manifest.seq);
    const store = new SqliteStore(restoredDir, DEFAULT_LIMITS);
    await store.open();
    try {
      for (let writer = 0; writer < WRITERS; writer++) {
        for (let k = 0; k < KEYS_PER_WRITER; k++) {
          const key = `w${writer}-${k}`;
          const found = store.get('counters', key, Date.now());
          const want = expected.get(key);
          assert.deepEqual(
            found && { version: found.version, attributes: parseJson(found.attributesJson) },
            want ? { version: want.version, attributes: want.attributes } : null,
            `${key} in the backup at seq ${manifest.seq}`,
          );
        }
      }
    } finally {
      await store.close();
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
    removeDir(work);
  }
});

test('restore refuses a damaged, truncated or foreign backup with invalid_backup and restores nothing', async () => {
  const server = await startTestServer('backup-damaged');
  const work = makeTempDir('backup-damaged-out');
  try {
    const client = await connect(server.url);
    await client.addSpace('space notes key id attributes string text');
    for (let i = 0; i < 200; i++) await client.put('notes', `n${i}`, { text: `note ${i}`.repeat(20) });
    await client.close();
    const good = join(work, 'good.backup');
    const manifest = await backupFromDataDir(server.dataDir, good);
    const bytes = readFileSync(good);
    const headBytes = bytes.length - manifest.bytes;

    const flipped = Buffer.from(bytes);
    const at = headBytes + Math.floor(manifest.bytes / 2);
    flipped[at] = (flipped[at] as number) ^ 0x40;
    const cases: [name: string, content: Buffer, says: RegExp][] = [
      ['flipped', flipped, /checksum/],
      ['truncated', bytes.subarray(0, bytes.length - 100), /truncated/],
      ['foreign', Buffer.from('SQLite format 3\0 not a spacekv backup'), /manifest/],
    ];
    for (const [name, content, says] of cases) {
      const file = join(work, `${name}.backup`);
      writeFileSync(file, content);
      const dataDir = join(work, `data-${name}`);
      const run = await runCli(['restore', '--from', file, '--data', dataDir]);
      assert.equal(run.code, 1, `${name}: ${run.stderr}`);
      const { error } = JSON.parse(run.stderr) as { error: { code: string; message: string } };
      assert.equal(error.code, 'invalid_backup', name);
      assert.match(error.message, says, name);
      assert.equal(existsSync(join(dataDir, 'spacekv.db')), false, `${name}: nothing restored`);
      assert.equal(existsSync(join(dataDir, 'spacekv.db.restoring')), false, `${name}: nothing left behind`);
    }
    // The same directory takes the good backup afterwards.
    const run = await runCli(['restore', '--from', good, '--data', join(work, 'data-flipped')]);
    assert.equal(run.code, 0, run.stderr);
    // And a restore never overwrites a store.
    const again = await runCli(['restore', '--from', good, '--data', join(work, 'data-flipped')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds a store/);
  } finally {
    await server.stop();
    removeDir(work);
  }
});

test('a backup past snapshotsInflightMax answers overloaded; one released frees its place', async () => {
  const dir = makeTempDir('backup-bound');
  const store = new SqliteStore(dir, DEFAULT_LIMITS);
  await store.open();
  try {
    const first = store.backupSnapshot();
    await assert.rejects(store.backupSnapshot(), (err: { code?: string; details?: { limit?: string } }) => err.code === 'overloaded');
    const taken = await first;
    assert.ok(existsSync(taken.path));
    await assert.rejects(store.backupSnapshot(), { code: 'overloaded' }, 'a copy not yet released still holds its place');
    taken.release();
    assert.equal(existsSync(taken.path), false, 'released: the copy is gone');
    const next = await store.backupSnapshot();
    next.release();
  } finally {
    await store.close();
    removeDir(dir);
  }
});
