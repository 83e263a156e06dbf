// Proves `spacekv backup --store postgres://…` (docs/operations.md, PostgreSQL): the backup is the
// store's export at one seq wrapped in a manifest with its SHA-256; `spacekv restore --from f
// --url <server>` checks it and imports it into any server, large values included; a damaged
// backup is refused with invalid_backup and restores nothing; a PostgreSQL backup is not taken for
// a data directory.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { connect } from '@spacekv/client';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { call, expectOk } from '../helpers/http.js';
import { childEnv, runCli } from '../helpers/process.js';
import { dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { startTestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { digestOf, download, generated, upload } from '../large/streams.js';

test('a PostgreSQL store backs up at one seq with a checksum and restores into another server; a damaged backup is refused', async (t) => {
  const missing = await postgresMissing();
  if (missing) return t.skip(missing);
  const work = makeTempDir('pg-backup');
  const schema = uniqueSchema('pgbackup');
  const pg = await startServer({ ...DEFAULT_CONFIG, port: 0, store: storeUrl(schema), logLevel: 'silent' }, pino({ level: 'silent' }));
  const target = await startTestServer('pg-backup-target');
  try {
    expectOk(await call(pg.url, 'POST', '/v1/spaces', { body: { schema: 'space docs key id attributes string title, bytes body, int n' } }));
    const client = await connect(pg.url);
    for (let i = 0; i < 50; i++) await client.put('docs', `d${i}`, { title: `doc ${i}`, n: i });
    await client.close();
    assert.equal((await upload(`${pg.url}/v1/spaces/docs/objects/d7/attributes/body`, generated(1024 * 1024 + 9, 40)))?.status, 200);
    const backup = join(work, 'pg.backup');
    const taken = await runCli(['backup', '--store', storeUrl(schema), '--to', backup], childEnv(), 60_000);
    assert.equal(taken.code, 0, taken.stderr);
    const manifest = JSON.parse(taken.stdout) as { store: string; seq: number; sha256: string };
    assert.equal(manifest.store, 'postgres');
    assert.match(manifest.sha256, /^[0-9a-f]{64}$/);

    const damaged = join(work, 'damaged.backup');
    const bytes = readFileSync(backup);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 1;
    writeFileSync(damaged, bytes);
    const refused = await runCli(['--url', target.url, 'restore', '--from', damaged], childEnv(), 60_000);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /invalid_backup/);
    assert.equal((await call(target.url, 'GET', '/v1/spaces/docs')).status, 404, 'nothing was restored');
    const intoDir = await runCli(['restore', '--from', backup, '--data', join(work, 'dir')], childEnv(), 60_000);
    assert.match(intoDir.stderr, /PostgreSQL store: restore it into a server/);

    const restored = await runCli(['--url', target.url, 'restore', '--from', backup], childEnv(), 60_000);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal((JSON.parse(restored.stdout) as { seq: number }).seq, manifest.seq);
    const reader = await connect(target.url);
    assert.equal(await reader.count('docs'), 50);
    assert.equal((await reader.get('docs', 'd42'))?.attributes['title'], 'doc 42');
    await reader.close();
    assert.equal((await download(`${target.url}/v1/spaces/docs/objects/d7/attributes/body`)).sha256, await digestOf(1024 * 1024 + 9, 40));
  } finally {
    await Promise.all([pg.close(), target.stop()]);
    await dropSchema(schema);
    removeDir(work);
  }
});
