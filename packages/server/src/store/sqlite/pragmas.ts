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
  // A statement that rebalances the B-tree in a batch's transaction journals the pages it changes,
  // in memory up to 64 KiB and past that in a file SQLite creates in /var/tmp: 8 KiB pages pass that
  // in most batches, so nearly every commit created, unlinked and closed a temporary file (220 for
  // 200 batches of 30 writes). In memory, the journal is bounded by one statement's pages (a
  // batch's statements each touch a few rows; purges and index fills are bounded by their limits).
  // The writer's CPU per write at 30 writes per commit fell from 61-72 µs to 55-60 µs (four
  // interleaved pairs, 2026-12-07), and commits no longer need a writable temporary directory.
  db.pragma('temp_store = MEMORY');
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
