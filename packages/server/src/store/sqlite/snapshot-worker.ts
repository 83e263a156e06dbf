/** The snapshot thread (snapshot.ts): one `VACUUM INTO`, then the copy's seq, then exit. */
import { rmSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { sourcePath, targetPath } = workerData as { sourcePath: string; targetPath: string };

function snapshot(): number {
  // Not opened read-only: SQLite attaches the VACUUM target with the connection's flags. The
  // connection writes nothing to the source; it only reads it, in VACUUM's one transaction.
  const source = new Database(sourcePath, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    source.prepare('VACUUM INTO ?').run(targetPath);
  } finally {
    source.close();
  }
  const copy = new Database(targetPath, { readonly: true, fileMustExist: true });
  try {
    return copy.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck().get() as number;
  } finally {
    copy.close();
  }
}

try {
  parentPort?.postMessage({ seq: snapshot() });
} catch (err) {
  rmSync(targetPath, { force: true });
  parentPort?.postMessage({ error: (err as Error).message });
}
