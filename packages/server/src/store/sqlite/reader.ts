/**
 * Point reads on the engine's thread. A primary-key lookup in SQLite's page cache takes a few
 * microseconds and WAL readers never wait for the writer, so it stays far below the ~1 ms the
 * event loop may be held (docs/architecture.md §4.5) while sparing a thread hop per read. Scans, which can be
 * long, do not belong here.
 *
 * Reads share one snapshot: starting a read transaction takes file locks on the WAL index (several
 * syscalls, ~8 µs), against ~1.5 µs for a lookup inside an open one. The snapshot ends before any
 * commit outcome is delivered (`endSnapshot`, called by the store), so no read that starts after a
 * write is acknowledged can miss it: reads stay linearizable and per-key order holds. (No
 * one can learn of a commit but through its acknowledgement, which comes after.) It also ends
 * after SNAPSHOT_MS at most, so a quiet period never pins old WAL frames.
 */
import Database from 'better-sqlite3';
import { type Key, SpacekvError, type StoredObject } from '@spacekv/core';
import { configureReader } from './pragmas.js';

type Row = [version: number, expiresAt: number | null, attrs: string];

/** The longest a read snapshot stays open. */
const SNAPSHOT_MS = 50;

function removed(space: string): SpacekvError {
  return new SpacekvError('unknown_space', `no space named '${space}'`);
}

export class SqliteReader {
  private readonly db: Database.Database;
  private readonly ids = new Map<string, number>();
  private readonly spaceId: Database.Statement;
  private readonly lookup: Database.Statement;
  private readonly begin: Database.Statement;
  private readonly end: Database.Statement;
  private inSnapshot = false;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    configureReader(this.db);
    this.spaceId = this.db.prepare('SELECT id FROM spaces WHERE name = ?').pluck();
    this.lookup = this.db.prepare('SELECT version, expires_at, attrs FROM objects WHERE space_id = ? AND key = ?').raw(true);
    this.begin = this.db.prepare('BEGIN');
    this.end = this.db.prepare('COMMIT');
  }

  /** The object's row as stored, expired or not (the caller checks the expiry: see object-cache.ts). */
  get(space: string, key: Key): StoredObject | null {
    this.startSnapshot();
    const row = this.lookup.get(this.idOf(space), key) as Row | undefined;
    if (!row) return null;
    return { version: row[0], expiresAt: row[1], attributesJson: row[2] };
  }

  /** End the current snapshot, so the next read sees every commit acknowledged so far. */
  endSnapshot(): void {
    if (!this.inSnapshot) return;
    this.inSnapshot = false;
    this.end.run();
  }

  private startSnapshot(): void {
    if (this.inSnapshot) return;
    this.begin.run();
    this.inSnapshot = true;
    setTimeout(() => this.endSnapshot(), SNAPSHOT_MS).unref();
  }

  /**
   * Forget what is cached about a space that was added or removed. A removed space's rows may
   * still be there (purged in the background) under its old id: the engine invalidates before it
   * acknowledges the removal, so no read after it can find them.
   */
  invalidate(space: string): void {
    this.ids.delete(space);
  }

  close(): void {
    this.endSnapshot();
    this.db.close();
  }

  private idOf(space: string): number {
    const cached = this.ids.get(space);
    if (cached !== undefined) return cached;
    const id = this.spaceId.get(space) as number | undefined;
    if (id === undefined) throw removed(space); // a missing space is not cached: it may be created any moment
    this.ids.set(space, id);
    return id;
  }
}
