/**
 * Connection settings, set explicitly rather than left to defaults (STYLE.md §15).
 * WAL lets readers run beside the one writer; synchronous=FULL makes every commit durable on
 * return (docs/architecture.md §4.2), which group commit pays for once per batch.
 */
import type Database from 'better-sqlite3';

export function configureWriter(db: Database.Database): void {
  // 8 KiB pages, set before anything creates the file's first page (a file made earlier keeps its
  // size). With 4 KiB pages a WITHOUT ROWID row past about 1 KB (YCSB's are 1.1 KB) spills into an
  // overflow page of its own: the file grew to 4.7 KB per object, past the page cache, and a point
  // read took four page fetches instead of two. An 8 KiB page keeps rows up to about 2 KB whole.
  db.pragma('page_size = 8192');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = OFF');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536'); // 64 MiB
  db.pragma('wal_autocheckpoint = 4000');
}

export function configureReader(db: Database.Database): void {
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('query_only = ON');
}

/**
 * Pages cached by a connection that moves large-value chunks: they are read or written once, so a
 * cache only fills memory with them (1 MiB chunks would fill the usual 64 MiB in 64 of them).
 */
export const LARGE_VALUE_CACHE_KIB = 1024;

/** The writer thread's second connection, for large-value chunks (large-value-writer.ts). */
export function configureStaging(db: Database.Database): void {
  configureWriter(db);
  db.pragma(`cache_size = -${LARGE_VALUE_CACHE_KIB}`);
}
