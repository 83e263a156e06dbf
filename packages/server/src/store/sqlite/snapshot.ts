/**
 * A consistent copy of the embedded store's file while the server keeps writing: `VACUUM INTO`
 * reads the database in one read transaction (WAL readers never wait for the writer, and the
 * writer never waits for them), so the copy is the state at exactly one seq, the one its `meta`
 * row holds. SQLite's backup API would restart every time the writer commits, and under steady
 * writes might never finish. The copy runs on a worker thread: it takes as long as the file is big.
 */
import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface SnapshotTaken {
  /** The store's last committed seq in the copy: every commit up to it is in, none after it. */
  readonly seq: number;
}

/** Copy the database at `sourcePath` into `targetPath` (which must not exist), off the calling thread. */
export function takeSnapshot(sourcePath: string, targetPath: string): Promise<SnapshotTaken> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./snapshot-worker.js', import.meta.url), { workerData: { sourcePath, targetPath } });
    let answered = false;
    worker.once('message', (message: { seq: number } | { error: string }) => {
      answered = true;
      if ('seq' in message) resolve({ seq: message.seq });
      else reject(new Error(`the snapshot of ${sourcePath} failed: ${message.error}`));
    });
    worker.once('error', (err) => {
      answered = true;
      rmSync(targetPath, { force: true });
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the snapshot thread exited with code ${code}`));
    });
  });
}

/**
 * Check that a restored file is a whole, sound spacekv database at `seq` (SQLite's quick_check, and
 * the seq its `meta` row holds); throws saying what is wrong.
 */
export function checkSnapshotFile(path: string, seq: number): void {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const problems = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
    const first = problems[0]?.quick_check;
    if (first !== 'ok') throw new Error(`SQLite finds it damaged: ${first ?? 'no answer'}`);
    const stored = db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck().get() as number | undefined;
    if (stored !== seq) throw new Error(`it holds seq ${String(stored)}, its manifest says ${seq}`);
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_NOTADB' || /no such table/.test((err as Error).message)) {
      throw new Error('it is not a spacekv database');
    }
    throw err;
  } finally {
    db.close();
  }
}
