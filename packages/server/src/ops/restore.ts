/**
 * `spacekv restore`: rebuild a data directory from a backup file. The checksum and size are
 * verified while the snapshot is copied out, and SQLite checks the copy, all before anything is
 * put where a server would open it: a damaged backup is refused and leaves the directory as it was.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SpacekvError } from '@spacekv/core';
import { DATA_FILE } from '../store/sqlite/sqlite-store.js';
import { checkSnapshotFile } from '../store/sqlite/snapshot.js';
import { type BackupManifest, verifyBackup } from './backup-file.js';

/** Restore `from` into `dataDir`, which must hold no store yet; resolves with the backup's manifest. */
export async function restoreBackup(from: string, dataDir: string): Promise<BackupManifest> {
  mkdirSync(dataDir, { recursive: true });
  const target = join(dataDir, DATA_FILE);
  if (existsSync(target) || readdirSync(dataDir).some((name) => name.startsWith(`${DATA_FILE}-`))) {
    throw new SpacekvError('bad_request', `${dataDir} already holds a store; restore into an empty directory (a restore never overwrites data)`);
  }
  const restoring = `${target}.restoring`;
  await rm(restoring, { force: true }); // left by a restore that was killed
  const manifest = await verifyBackup(from, restoring);
  try {
    checkSnapshotFile(restoring, manifest.seq);
  } catch (err) {
    await rm(restoring, { force: true });
    throw new SpacekvError('invalid_backup', `${from} is not a usable backup: ${(err as Error).message}; nothing was restored`);
  }
  await rename(restoring, target);
  const dir = await open(dataDir, 'r');
  await dir.sync().finally(() => dir.close()); // the rename itself is durable
  return manifest;
}
