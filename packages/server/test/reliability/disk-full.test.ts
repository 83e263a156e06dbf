// Proves a full disk is a clean, recoverable fault (the issue's crash-recovery bullet): a real server
// process runs on a tiny tmpfs of its own (a private mount namespace via `unshare -rm`, so no root is
// needed), with a ballast file taking part of it. Clients write large objects over WebSocket and REST
// until the disk is full: those writes fail with `storage_full` (507) and nothing else; the process
// stays up and keeps serving reads; every acknowledged write reads back with its value. Then, the disk
// still full, the server is killed with SIGKILL and restarted in the same mount namespace (kept alive
// by a holder process): it opens cleanly, every acknowledged write is there, writes are still refused
// cleanly. Then the ballast is removed (through /proc/<pid>/root): writes succeed again and nothing
// acknowledged is lost.
// Where the sandbox allows no user namespaces the test is skipped with one line saying so.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type SpacekvClient, SpacekvError } from '@spacekv/client';
import { call } from '../helpers/http.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

const TMPFS_BYTES = 4 * 1024 * 1024;
const BALLAST_BYTES = 1536 * 1024;
const VALUE_BYTES = 16 * 1024;
/** Writes per client once the disk first refuses one, to see that every refusal is the same clean code. */
const REFUSALS_PER_CLIENT = 5;

const mountPoint = makeTempDir('disk-full');
/** The process that holds the private mount namespace, once started. */
let holder: number | undefined;
after(async () => {
  await killAllChildren();
  if (holder !== undefined) {
    try {
      process.kill(holder, 'SIGKILL'); // the mount goes with it
    } catch {
      // already gone
    }
  }
  removeDir(mountPoint);
});

/** Why this machine cannot give the server a tmpfs in a user namespace of its own (and let a restart join it), if it cannot. */
function canMountPrivately(): string | undefined {
  const probe = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$0"', mountPoint], { encoding: 'utf8' });
  if (probe.error) return `unshare is not available (${probe.error.message})`;
  if (probe.status !== 0) return `no private tmpfs here (unshare -rm: ${probe.stderr.trim() || `exit ${probe.status}`})`;
  if (spawnSync('nsenter', ['--version']).error) return 'nsenter is not available';
  return undefined;
}

const valueOf = (key: string): string => key.padEnd(VALUE_BYTES, '.');

test('a full disk fails writes with storage_full, keeps the server up with nothing acknowledged lost, and recovers when space returns', async (t) => {
  const why = canMountPrivately();
  if (why) {
    t.skip(`skipped: ${why}`);
    return;
  }
  // A holder process keeps the private mount alive across the server's kill -9; its pid is in the tmpfs.
  const launcher = ['unshare', '-rm', 'sh', '-c',
    `mount -t tmpfs -o size=${TMPFS_BYTES} tmpfs "$0" && head -c ${BALLAST_BYTES} /dev/zero > "$0/ballast" && ` +
    `{ sleep 100000 & echo $! > "$0/holder.pid"; } && exec "$@"`, mountPoint];
  const args = ['--port', '0', '--data', join(mountPoint, 'data'), '--log-level', 'info'];
  let server: ServerProcess = await spawnServer(args, undefined, undefined, launcher);
  holder = Number(readFileSync(`/proc/${server.pid}/root${mountPoint}/holder.pid`, 'utf8'));
  let clients: SpacekvClient[] = [await connect(server.url), await connect(server.url)];
  try {
    await clients[0]!.addSpace('space blobs key k attributes string s');
    const acked: string[] = [];
    const refusals = new Map<string, number>();
    const refuse = (code: string): void => void refusals.set(code, (refusals.get(code) ?? 0) + 1);
    // Two WebSocket writers and one REST writer, each until the disk has refused it a few times.
    const wsWriter = async (db: SpacekvClient, id: number): Promise<void> => {
      let refused = 0;
      for (let i = 0; refused < REFUSALS_PER_CLIENT; i++) {
        const key = `ws${id}-${i}`;
        try {
          await db.put('blobs', key, { s: valueOf(key) });
          acked.push(key);
        } catch (err) {
          refused++;
          refuse(err instanceof SpacekvError ? err.code : String(err));
        }
      }
    };
    const restWriter = async (): Promise<void> => {
      let refused = 0;
      for (let i = 0; refused < REFUSALS_PER_CLIENT; i++) {
        const key = `rest-${i}`;
        const reply = await call(server.url, 'PUT', `/v1/spaces/blobs/objects/${key}`, { body: { s: valueOf(key) } });
        if (reply.status < 300) acked.push(key);
        else {
          refused++;
          const { error } = JSON.parse(reply.text) as { error: { code: string } };
          refuse(`${error.code} ${reply.status}`);
        }
      }
    };
    await Promise.all([wsWriter(clients[0]!, 0), wsWriter(clients[1]!, 1), restWriter()]);
    t.diagnostic(`${acked.length} writes acknowledged before the disk filled; refusals ${JSON.stringify(Object.fromEntries(refusals))}`);
    assert.deepEqual(Object.fromEntries(refusals), { storage_full: 2 * REFUSALS_PER_CLIENT, 'storage_full 507': REFUSALS_PER_CLIENT },
      'every write the full disk refused says storage_full');
    assert.ok(acked.length > 10, 'writes were acknowledged before the disk filled');

    const health = await call(server.url, 'GET', '/healthz');
    assert.equal(health.status, 200, 'the server stays up while the disk is full');
    const readBack = async (): Promise<string[]> => {
      const objects = await Promise.all(acked.map((key) => clients[0]!.get('blobs', key)));
      return acked.filter((key, i) => objects[i]?.attributes.s !== valueOf(key));
    };
    assert.deepEqual(await readBack(), [], 'every acknowledged write reads back while the disk is full');

    // kill -9 with the disk full, and a restart in the same mount namespace, the disk still full.
    await Promise.all(clients.map((c) => c.close()));
    await server.kill();
    server = await spawnServer(args, undefined, undefined, ['nsenter', '-t', String(holder), '-U', '-m', '--preserve-credentials']);
    clients = [await connect(server.url), await connect(server.url)];
    assert.deepEqual(await readBack(), [], 'every acknowledged write survives a kill -9 on a full disk');
    const stillFull = await call(server.url, 'PUT', '/v1/spaces/blobs/objects/still-full', { body: { s: valueOf('still-full') } });
    assert.equal(JSON.parse(stillFull.text).error?.code, 'storage_full', 'after the restart a write is still refused cleanly');

    rmSync(`/proc/${server.pid}/root${mountPoint}/ballast`); // space returns
    await clients[1]!.put('blobs', 'after-1', { s: valueOf('after-1') });
    const rest = await call(server.url, 'PUT', '/v1/spaces/blobs/objects/after-2', { body: { s: 'x' } });
    assert.equal(rest.status, 201, rest.text);
    assert.deepEqual(await readBack(), [], 'nothing acknowledged was lost');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.kill();
  }
});
