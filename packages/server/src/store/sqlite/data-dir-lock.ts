/**
 * Keeps two servers from opening one data directory: two writers on one file would each think it
 * owns the seq and the change log. The lock is an exclusive SQLite lock on `<dir>/spacekv.lock`,
 * held for the life of the store. It is an OS file lock, so the kernel drops it when the process
 * dies, even by kill -9: a restart never finds a stale lock, and no pid file can be fooled.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SpacekvError } from '@spacekv/core';

export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /** Take the lock or throw `unavailable` saying another server holds the directory. */
  static take(dataDir: string): DataDirLock {
    const path = join(dataDir, 'spacekv.lock');
    const db = new Database(path);
    try {
      db.pragma('busy_timeout = 0');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      throw new SpacekvError('unavailable', `another spacekv server has the data directory ${dataDir} open (${(err as Error).message})`);
    }
    return new DataDirLock(db);
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}
