/**
 * `spacekv backup`: a backup file from a live server (`GET /v1/backup`, the server takes the
 * snapshot) or straight from a data directory (a reader of its file, so a server may be running
 * on it). Either way the file is written under a temporary name, flushed, renamed, then read back
 * and checked against its manifest, so a backup that reports success is whole.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { SpacekvError, isErrorCode } from '@spacekv/core';
import { DATA_FILE } from '../store/sqlite/sqlite-store.js';
import { takeSnapshot } from '../store/sqlite/snapshot.js';
import { openPostgresExport } from '../store/postgres/export-source.js';
import { exportNdjson } from './export.js';
import { type BackupManifest, backupBytes, manifestOf, verifyBackup, writeFileDurably } from './backup-file.js';

/** Ask the first server of `urls` that answers for a backup (with `token`, if it requires one), and write it to `to`. */
export async function backupFromServer(urls: readonly string[], to: string, token?: string): Promise<BackupManifest> {
  let response: Response | undefined;
  const unreachable: string[] = [];
  for (const url of urls) {
    try {
      response = await fetch(new URL('/v1/backup', url), token ? { headers: { authorization: `Bearer ${token}` } } : {});
      break;
    } catch (err) {
      unreachable.push(`${url}: ${(err as Error).message}`);
    }
  }
  if (!response) throw new SpacekvError('unavailable', `cannot reach ${unreachable.join('; ')}`);
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    const code = body.error?.code;
    throw new SpacekvError(code && isErrorCode(code) ? code : 'internal', body.error?.message ?? `the server answered HTTP ${response.status}`);
  }
  await writeFileDurably(to, Readable.fromWeb(response.body as ReadableStream<Uint8Array>));
  return verifyBackup(to);
}

/** Take a backup of the store in `dataDir` directly and write it to `to`. */
export async function backupFromDataDir(dataDir: string, to: string): Promise<BackupManifest> {
  const copy = join(dataDir, `backup-${randomBytes(6).toString('hex')}.tmp`);
  try {
    const { seq } = await takeSnapshot(join(dataDir, DATA_FILE), copy);
    const snapshot = { seq, path: copy, store: 'sqlite' as const, release: () => {} };
    await writeFileDurably(to, backupBytes(await manifestOf(snapshot), copy));
  } finally {
    await rm(copy, { force: true });
  }
  return verifyBackup(to);
}

/**
 * A backup of a PostgreSQL store: its export (NDJSON, one REPEATABLE READ snapshot, so exactly the
 * commits up to one seq, large values included) written beside the backup, then wrapped in the same
 * manifest (seq, size, SHA-256) as a SQLite backup, with `store: "postgres"`.
 */
export async function backupFromPostgres(storeUrl: string, to: string): Promise<BackupManifest> {
  const exported = `${to}.export-${randomBytes(6).toString('hex')}.tmp`;
  const source = await openPostgresExport(storeUrl);
  try {
    const out = createWriteStream(exported, { flags: 'wx' });
    const { seq } = await exportNdjson(source, out);
    out.end();
    await finished(out);
    await writeFileDurably(to, backupBytes(await manifestOf({ seq, path: exported, store: 'postgres' }), exported));
  } finally {
    await source.close();
    await rm(exported, { force: true });
  }
  return verifyBackup(to);
}
