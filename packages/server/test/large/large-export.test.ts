// Proves large values travel with the data (docs/large-values.md): export writes each one after its
// object as chunk lines, import streams them into any server, SQLite -> PostgreSQL and back, with
// the same bytes (size and SHA-256) and the other attributes intact; a point-in-time restore from a
// backup taken before an upload replays the upload with its value (copied from the log's store).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pino } from 'pino';
import { type SpacekvClient, connect } from '@spacekv/client';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { call, expectOk } from '../helpers/http.js';
import { childEnv, runCli } from '../helpers/process.js';
import { dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { startTestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { digestOf, download, generated, upload } from './streams.js';

const MiB = 1024 * 1024;
const SCHEMA = 'space files key id attributes bytes blob, string name';

async function cli(args: readonly string[]): Promise<void> {
  const run = await runCli(args, childEnv(), 60_000);
  assert.equal(run.code, 0, `spacekv ${args.join(' ')}: ${run.stderr}`);
}

interface LargeLine { type: 'large'; key: string; attribute: string; size: number; sha256: string; chunks: number }

function largeLines(file: string): LargeLine[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{"type":"large"')).map((l) => JSON.parse(l) as LargeLine);
}

async function blobOf(client: SpacekvClient, key: string): Promise<unknown> {
  return (await client.get('files', key))?.attributes['blob'];
}

test('large values go SQLite -> PostgreSQL -> SQLite by export and import with the same bytes', async (t) => {
  const missing = await postgresMissing();
  if (missing) return t.skip(missing);
  const work = makeTempDir('large-export');
  const schema = uniqueSchema('largeexp');
  const first = await startTestServer('large-export-first');
  const pg = await startServer({ ...DEFAULT_CONFIG, port: 0, store: storeUrl(schema), logLevel: 'silent' }, pino({ level: 'silent' }));
  const last = await startTestServer('large-export-last');
  try {
    expectOk(await call(first.url, 'POST', '/v1/spaces', { body: SCHEMA, contentType: 'application/x-spacekv-schema' }));
    const size = 2 * MiB + 77;
    expectOk(await call(first.url, 'PUT', '/v1/spaces/files/objects/doc', { body: { name: 'the doc' } }));
    assert.equal((await upload(`${first.url}/v1/spaces/files/objects/doc/attributes/blob`, generated(size, 20)))?.status, 200);
    expectOk(await call(first.url, 'PUT', '/v1/spaces/files/objects/plain', { body: { name: 'no large value', blob: 'AQID' } }));
    const [fromSqlite, fromPg, back] = ['sqlite', 'pg', 'back'].map((n) => join(work, `${n}.ndjson`)) as [string, string, string];
    await cli(['export', '--data', first.dataDir, '--to', fromSqlite, '--quiet']);
    await cli(['--url', pg.url, 'import', '--from', fromSqlite, '--quiet']);
    await cli(['export', '--store', storeUrl(schema), '--to', fromPg, '--quiet']);
    await cli(['--url', last.url, 'import', '--from', fromPg, '--quiet']);
    await cli(['export', '--data', last.dataDir, '--to', back, '--quiet']);
    const digest = await digestOf(size, 20);
    for (const file of [fromSqlite, fromPg, back]) {
      assert.deepEqual(largeLines(file).map((l) => [l.key, l.attribute, l.size, l.sha256, l.chunks]), [['doc', 'blob', size, digest, 3]], file);
    }
    for (const url of [pg.url, last.url]) {
      const client = await connect(url);
      const doc = await client.get('files', 'doc');
      assert.equal(doc?.attributes['name'], 'the doc');
      assert.deepEqual((doc?.attributes['blob'] as { $large: { size: number; sha256: string } }).$large.sha256, digest);
      assert.equal(await blobOf(client, 'plain'), 'AQID');
      await client.close();
      assert.equal((await download(`${url}/v1/spaces/files/objects/doc/attributes/blob`)).sha256, digest, `the bytes on ${url}`);
    }
  } finally {
    await Promise.all([first.stop(), pg.close(), last.stop()]);
    await dropSchema(schema);
    removeDir(work);
  }
});

test('a backup holds the large values committed at its seq, and a point-in-time restore replays a later upload with its value', async () => {
  const work = makeTempDir('large-pitr');
  const server = await startTestServer('large-pitr');
  let restored: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    expectOk(await call(server.url, 'POST', '/v1/spaces', { body: SCHEMA, contentType: 'application/x-spacekv-schema' }));
    const url = (key: string) => `${server.url}/v1/spaces/files/objects/${key}/attributes/blob`;
    assert.equal((await upload(url('before'), generated(MiB + 3, 30)))?.status, 201);
    const backup = join(work, 'b.backup');
    await cli(['backup', '--to', backup, '--data', server.dataDir]);
    assert.equal((await upload(url('after'), generated(2 * MiB + 5, 31)))?.status, 201);
    const target = join(work, 'restored');
    await cli(['restore', '--from', backup, '--data', target, '--log', server.dataDir]);
    restored = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir: target, logLevel: 'silent' }, pino({ level: 'silent' }));
    for (const [key, size, seed] of [['before', MiB + 3, 30], ['after', 2 * MiB + 5, 31]] as const) {
      const got = await download(`${restored.url}/v1/spaces/files/objects/${key}/attributes/blob`);
      assert.deepEqual([got.status, got.bytes, got.sha256], [200, size, await digestOf(size, seed)], key);
    }
  } finally {
    await restored?.close();
    await server.stop();
    removeDir(work);
  }
});
