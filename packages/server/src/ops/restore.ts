/**
 * `spacekv restore`: rebuild a data directory from a backup file, and optionally roll it forward
 * with the change log of the store it was taken of to a chosen seq or instant (point-in-time
 * restore). The checksum and size are verified while the snapshot is copied out, SQLite checks the
 * copy, and the log is replayed into it, all before anything is put where a server would open it: a
 * damaged backup or a log that cannot reach the target is refused and leaves the directory as it was.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SpacekvError } from '@spacekv/core';
import { DATA_FILE } from '../store/sqlite/sqlite-store.js';
import { type ReplayOutcome, type ReplayUntil, replayChangeLog } from '../store/sqlite/log-replay.js';
import { checkSnapshotFile } from '../store/sqlite/snapshot.js';
import { randomBytes } from 'node:crypto';
import type { SpacekvClient } from '@spacekv/client';
import { type BackupManifest, readManifest, verifyBackup } from './backup-file.js';
import { type ImportOptions, type ImportSummary, importNdjson, progressFileOf } from './import.js';

/** Rolling a restored backup forward: the data directory whose change log follows the backup, and how far. */
export interface PointInTime {
  readonly logDataDir: string;
  readonly until: ReplayUntil;
}

export interface Restored {
  readonly manifest: BackupManifest;
  readonly replayed?: ReplayOutcome;
}

/** Restore `from` into `dataDir`, which must hold no store yet. */
export async function restoreBackup(from: string, dataDir: string, pointInTime?: PointInTime): Promise<Restored> {
  mkdirSync(dataDir, { recursive: true });
  const target = join(dataDir, DATA_FILE);
  if (existsSync(target) || readdirSync(dataDir).some((name) => name.startsWith(`${DATA_FILE}-`))) {
    throw new SpacekvError('bad_request', `${dataDir} already holds a store; restore into an empty directory (a restore never overwrites data)`);
  }
  if ((await readManifest(from)).manifest.store !== 'sqlite') {
    throw new SpacekvError('bad_request', `${from} is a backup of a PostgreSQL store: restore it into a server (--url), not a data directory`);
  }
  const restoring = `${target}.restoring`;
  const removeWork = () => Promise.all(['', '-wal', '-shm', '-journal'].map((suffix) => rm(`${restoring}${suffix}`, { force: true })));
  await removeWork(); // left by a restore that was killed
  const manifest = await verifyBackup(from, restoring);
  try {
    checkSnapshotFile(restoring, manifest.seq);
  } catch (err) {
    await removeWork();
    throw new SpacekvError('invalid_backup', `${from} is not a usable backup: ${(err as Error).message}; nothing was restored`);
  }
  let replayed: ReplayOutcome | undefined;
  try {
    if (pointInTime) replayed = replayChangeLog(restoring, join(pointInTime.logDataDir, DATA_FILE), pointInTime.until);
  } catch (err) {
    await removeWork();
    if (err instanceof SpacekvError) throw new SpacekvError(err.code, `${err.message}; nothing was restored`, err.details);
    throw err;
  }
  await rename(restoring, target);
  const dir = await open(dataDir, 'r');
  await dir.sync().finally(() => dir.close()); // the rename itself is durable
  return replayed ? { manifest, replayed } : { manifest };
}

/**
 * Restore a backup of a PostgreSQL store (an export wrapped in a manifest) into the server `client`
 * is connected to, of either store: the checksum is verified while the export is copied out beside
 * the backup, then the copy is imported (idempotent: run again after an interruption, it ends with
 * one copy of everything).
 */
export async function restoreIntoServer(from: string, client: SpacekvClient, options: Omit<ImportOptions, 'restart'>): Promise<{ manifest: BackupManifest; imported: ImportSummary }> {
  if ((await readManifest(from)).manifest.store !== 'postgres') {
    throw new SpacekvError('bad_request', `${from} is a backup of the embedded store: restore it into a data directory (--data)`);
  }
  const copy = `${from}.restoring-${randomBytes(6).toString('hex')}.ndjson`;
  const manifest = await verifyBackup(from, copy);
  try {
    return { manifest, imported: await importNdjson(client, copy, { ...options, restart: true }) };
  } finally {
    await rm(copy, { force: true });
    await rm(progressFileOf(copy), { force: true });
  }
}
