// Proves what large values promise a process (docs/large-values.md), on real `spacekv serve`
// processes: a value of 256 MiB (2 GiB in the long run, SPACEKV_JEPSEN=long: about 2 minutes on a
// 2-core machine, too long for npm test) uploads and downloads intact (SHA-256 both ways, made and
// checked as streams) while the server's resident memory stays under 200 MB; and a kill -9 in the
// middle of uploads loses nothing committed, shows nothing of them, and their chunks go after the
// restart.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { call, expectError, expectOk, objectPath } from '../helpers/http.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { eventually, sqlitePeek } from './peek.js';
import { digestOf, download, generated, upload } from './streams.js';

const MiB = 1024 * 1024;
const LONG = process.env['SPACEKV_JEPSEN'] === 'long';
const SIZE = LONG ? 2048 * MiB : 256 * MiB;
const RSS_MAX_BYTES = 200 * 1000 * 1000;
const SCHEMA = 'space files key id attributes bytes blob, string name';

const dirs: string[] = [];
after(async () => {
  await killAllChildren();
  for (const dir of dirs) removeDir(dir);
});

async function serve(dataDir: string, extra: readonly string[] = []): Promise<ServerProcess> {
  return spawnServer(['--port', '0', '--data', dataDir, ...extra]);
}

/** The highest VmRSS of `pid` seen while `work` runs, sampled every 20 ms. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  let peakBytes = 0;
  const sample = (): void => {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    peakBytes = Math.max(peakBytes, Number(match?.[1] ?? 0) * 1024);
  };
  const timer = setInterval(sample, 20);
  try {
    const result = await work();
    sample();
    return { result, peakBytes };
  } finally {
    clearInterval(timer);
  }
}

/** generated(size, seed), hashed as it is sent. */
function hashed(size: number, seed: number, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  return (async function* () {
    for await (const block of generated(size, seed)) {
      hash.update(block);
      yield block;
    }
  })();
}

test(`a value of ${SIZE / MiB} MiB uploads and downloads intact with the server's RSS under 200 MB`, { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const dataDir = makeTempDir('large-rss');
  dirs.push(dataDir);
  const server = await serve(dataDir);
  expectOk(await call(server.url, 'POST', '/v1/spaces', { body: SCHEMA, contentType: 'application/x-spacekv-schema' }));
  const url = `${server.url}${objectPath('files', 'big')}/attributes/blob`;
  const sent = createHash('sha256');
  const up = await peakRss(server.pid, () => upload(url, hashed(SIZE, 42, sent)));
  assert.equal(up.result?.status, 201, up.result?.body.toString());
  const digest = sent.digest('hex');
  const down = await peakRss(server.pid, () => download(url));
  assert.equal(down.result.bytes, SIZE);
  assert.equal(down.result.sha256, digest, 'the bytes read back are the bytes sent');
  assert.equal(down.result.headers['x-spacekv-sha256'], digest, 'the server hashed what it stored');
  t.diagnostic(`peak RSS: ${(up.peakBytes / 1e6).toFixed(0)} MB uploading, ${(down.peakBytes / 1e6).toFixed(0)} MB downloading ${SIZE / MiB} MiB`);
  assert.ok(up.peakBytes < RSS_MAX_BYTES, `RSS peaked at ${(up.peakBytes / 1e6).toFixed(0)} MB during the upload`);
  assert.ok(down.peakBytes < RSS_MAX_BYTES, `RSS peaked at ${(down.peakBytes / 1e6).toFixed(0)} MB during the download`);
});

test('a kill -9 in the middle of uploads loses nothing committed, shows nothing of them, and their chunks go after the restart', async () => {
  const dataDir = makeTempDir('large-kill');
  dirs.push(dataDir);
  const flags = ['--limit', 'largeUploadIdleMs=300', '--sweep-interval-ms', '50'];
  const first = await serve(dataDir, flags);
  expectOk(await call(first.url, 'POST', '/v1/spaces', { body: SCHEMA, contentType: 'application/x-spacekv-schema' }));
  const path = (key: string) => `${objectPath('files', key)}/attributes/blob`;
  const committedSize = 3 * MiB + 7;
  assert.equal((await upload(`${first.url}${path('a')}`, generated(committedSize, 1)))?.status, 201);
  const committed = await digestOf(committedSize, 1);
  // Two uploads under way (one replacing the committed value, one new); the kill comes once both have sent 8 MiB.
  let midway = 0;
  const killed = new Promise<void>((resolve) => {
    const onProgress = (bytes: number): void => {
      if (bytes >= 8 * MiB && bytes - 256 * 1024 < 8 * MiB && ++midway === 2) resolve();
    };
    void upload(`${first.url}${path('a')}`, generated(64 * MiB, 2), { onProgress }).catch(() => null);
    void upload(`${first.url}${path('b')}`, generated(64 * MiB, 3), { onProgress }).catch(() => null);
  });
  await killed;
  first.signal('SIGKILL');
  await first.exited;

  const second = await serve(dataDir, flags);
  const peek = sqlitePeek(`${dataDir}/spacekv.db`);
  try {
    const a = await download(`${second.url}${path('a')}`);
    assert.deepEqual([a.status, a.bytes, a.sha256], [200, committedSize, committed], 'the committed value is whole and unchanged');
    expectError(await call(second.url, 'GET', objectPath('files', 'b')), 404, 'not_found');
    await eventually('the cut uploads to be removed after the restart', async () => (await peek.values()).every((v) => v.adopted));
    assert.equal((await peek.values()).length, 1);
    assert.equal(await peek.chunks(), 4, 'the committed value\'s 4 chunks, no more');
  } finally {
    await peek.close();
  }
});
