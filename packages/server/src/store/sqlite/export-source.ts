/**
 * The embedded store read for an export (export-source.ts): a connection of its own holding one
 * read transaction from the first read to `close`. A WAL reader never blocks the writer; while it
 * is open the WAL cannot be checkpointed past it, which costs disk, not writes.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SpaceSchema } from '@spacekv/core';
import type { ExportSource, ExportedObject } from '../export-source.js';
import type { StoredSpace } from '../store.js';
import { configureReader } from './pragmas.js';
import { bind, keyOf } from './search-executor.js';
import { DATA_FILE } from './sqlite-store.js';

type ObjectRow = [key: bigint | string, version: bigint, expiresAt: bigint | null, attrs: string];

interface SqliteSpace extends StoredSpace {
  readonly id: number;
}

export function openSqliteExport(dataDir: string): ExportSource {
  const db = new Database(join(dataDir, DATA_FILE), { readonly: true, fileMustExist: true });
  configureReader(db);
  db.exec('BEGIN');
  const seq = db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck().get() as number; // the snapshot starts here
  const rows = db.prepare('SELECT id, schema, created_seq FROM spaces ORDER BY created_seq').all() as { id: number; schema: string; created_seq: number }[];
  const spaces: SqliteSpace[] = rows.map((row) => ({ id: row.id, schema: JSON.parse(row.schema) as SpaceSchema, createdSeq: row.created_seq }));
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) statements.set(sql, (stmt = db.prepare(sql).raw(true).safeIntegers(true)));
    return stmt;
  };
  const idOf = (space: StoredSpace): number => (space as SqliteSpace).id;
  return {
    seq,
    spaces: async () => spaces,
    count: async (space) => Number((prepared('SELECT count(*) FROM objects WHERE space_id = ?').get(idOf(space)) as [bigint])[0]),
    async objects(space, after, limit): Promise<readonly ExportedObject[]> {
      const page = (after === null
        ? prepared('SELECT key, version, expires_at, attrs FROM objects WHERE space_id = ? ORDER BY key LIMIT ?').all(idOf(space), limit)
        : prepared('SELECT key, version, expires_at, attrs FROM objects WHERE space_id = ? AND key > ? ORDER BY key LIMIT ?').all(idOf(space), bind(after), limit)) as ObjectRow[];
      return page.map(([key, version, expiresAt, attrs]) => ({
        key: keyOf(key), version: Number(version), expiresAt: expiresAt === null ? null : Number(expiresAt), attributesJson: attrs,
      }));
    },
    async largeChunk(id, index) {
      return (prepared('SELECT data FROM large_chunks WHERE id = ? AND idx = ?').get(id, index) as [Buffer] | undefined)?.[0] ?? null;
    },
    async close() {
      if (db.inTransaction) db.exec('COMMIT');
      db.close();
    },
  };
}
