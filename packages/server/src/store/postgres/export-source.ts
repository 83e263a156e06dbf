/**
 * The PostgreSQL store read for an export (export-source.ts): one connection of its own, one
 * REPEATABLE READ READ ONLY transaction from the first read to `close`, so the export is the state
 * at one seq while every server sharing the store goes on writing (writers commit in seq order, so
 * the snapshot holds exactly the seqs up to the `last_seq` it reads).
 */
import postgres from 'postgres';
import type { Key, SpaceSchema } from '@spacekv/core';
import type { ExportSource, ExportedObject } from '../export-source.js';
import type { StoredSpace } from '../store.js';
import { parseTarget } from './connection.js';
import { keyBytes, keyFromBytes } from './key-bytes.js';

export async function openPostgresExport(url: string): Promise<ExportSource> {
  const target = parseTarget(url);
  const sql = postgres(target.url, {
    max: 1,
    connect_timeout: 10,
    onnotice: () => {},
    // An export may pause while its output drains (a slow pipe), inside its one transaction.
    connection: { application_name: 'spacekv export', search_path: target.schema, idle_in_transaction_session_timeout: 0 },
  });
  const session = await sql.reserve();
  try {
    await session.unsafe('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const [meta] = await session.unsafe<{ last_seq: string }[]>('SELECT last_seq FROM meta WHERE id = 1');
    if (!meta) throw new Error(`schema ${target.schema} holds no spacekv store`);
    const rows = await session.unsafe<{ name: string; created_seq: string; schema: string }[]>('SELECT name, created_seq, schema FROM spaces ORDER BY created_seq');
    const spaces: StoredSpace[] = rows.map((row) => ({ schema: JSON.parse(row.schema) as SpaceSchema, createdSeq: Number(row.created_seq) }));
    return {
      seq: Number(meta.last_seq),
      spaces: async () => spaces,
      async count(space) {
        const [row] = await session.unsafe<{ n: string }[]>('SELECT count(*) AS n FROM objects WHERE space_seq = $1', [space.createdSeq]);
        return Number(row?.n ?? 0);
      },
      async objects(space, after: Key | null, limit): Promise<readonly ExportedObject[]> {
        const page = await session.unsafe<{ key: Buffer; version: string; expires_at: string | null; attrs: string }[]>(
          `SELECT key, version, expires_at, attrs FROM objects WHERE space_seq = $2${after === null ? '' : ' AND key > $3'} ORDER BY key LIMIT $1`,
          (after === null ? [limit, space.createdSeq] : [limit, space.createdSeq, keyBytes(after, space.schema.key.type)]) as never[],
        );
        return page.map((row) => ({
          key: keyFromBytes(row.key, space.schema.key.type), version: Number(row.version),
          expiresAt: row.expires_at === null ? null : Number(row.expires_at), attributesJson: row.attrs,
        }));
      },
      async largeChunk(id, index) {
        const [row] = await session.unsafe<{ data: Buffer }[]>('SELECT data FROM large_chunks WHERE id = $1 AND idx = $2', [id, index]);
        return row?.data ?? null;
      },
      async close() {
        await session.unsafe('COMMIT').catch(() => undefined);
        session.release();
        await sql.end({ timeout: 5 });
      },
    };
  } catch (err) {
    session.release();
    await sql.end({ timeout: 5 });
    throw err;
  }
}
