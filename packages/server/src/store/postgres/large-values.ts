/**
 * Large values on PostgreSQL (store.ts `LargeValues`): chunks as bytea rows of `large_chunks`,
 * each staged by an autocommit statement of its own on the pool, so an upload holds no
 * transaction and no meta row lock; a batch adopts a value in its own transaction (batch.ts). Any
 * server sharing the schema may read a value, and the sweepers of every server may remove one
 * (the statements are idempotent).
 */
import { type Key, type StoredObject, parseJson, refersToLargeValue, stringifyJson } from '@spacekv/core';
import type { LargeValueCandidate, LargeValueOwner, LargeValues } from '../store.js';
import type { Sql } from './connection.js';

/** Chunks removed per statement when a value is dropped, as on SQLite. */
const DROP_CHUNKS_PER_STEP = 64;

interface CandidateRow {
  id: string;
  space: string;
  key_json: string;
  attribute: string;
  state: LargeValueCandidate['state'];
}

/** Run one statement on the pool, with the store's deadline and failure mapping. */
export type RunStatement = <T>(query: (sql: Sql) => Promise<T>) => Promise<T>;

export class PgLargeValues implements LargeValues {
  constructor(private readonly run: RunStatement, private readonly readObject: (space: string, key: Key, nowMs: number) => Promise<StoredObject | null>) {}

  async begin(id: string, owner: LargeValueOwner, nowMs: number): Promise<void> {
    await this.run((sql) => sql.unsafe(
      'INSERT INTO large_values (id, space, key_json, attribute, touched_at) VALUES ($1, $2, $3, $4, $5)',
      [id, owner.space, stringifyJson(owner.key), owner.attribute, nowMs], { prepare: true }));
  }

  async append(id: string, index: number, data: Uint8Array, nowMs: number): Promise<void> {
    // One statement: the chunk goes in only while the value is still staged (the sweeper may have judged the upload abandoned).
    const rows = await this.run((sql) => sql.unsafe<{ ok: number }[]>(
      `WITH touched AS (UPDATE large_values SET touched_at = $4 WHERE id = $1 AND adopted_seq IS NULL RETURNING id)
       INSERT INTO large_chunks (id, idx, data) SELECT id, $2, $3 FROM touched
       ON CONFLICT (id, idx) DO UPDATE SET data = excluded.data RETURNING 1 AS ok`,
      [id, index, Buffer.from(data.buffer, data.byteOffset, data.byteLength), nowMs], { prepare: true }));
    if (rows.length === 0) throw new Error(`the upload ${id} is no longer staged`);
  }

  async readChunk(id: string, index: number): Promise<Uint8Array | null> {
    const [row] = await this.run((sql) => sql.unsafe<{ data: Buffer }[]>('SELECT data FROM large_chunks WHERE id = $1 AND idx = $2', [id, index], { prepare: true }));
    return row?.data ?? null;
  }

  async sweepCandidates(idleBeforeMs: number, afterId: string, limit: number): Promise<readonly LargeValueCandidate[]> {
    const rows = await this.run((sql) => sql.unsafe<CandidateRow[]>(
      `(SELECT id, space, key_json, attribute, 'staged' AS state FROM large_values
         WHERE adopted_seq IS NULL AND touched_at < $1 ORDER BY touched_at LIMIT $3)
       UNION ALL
       (SELECT v.id, v.space, v.key_json, v.attribute,
               CASE WHEN v.orphaned_seq <= l.floor_seq THEN 'droppable' ELSE 'adopted' END AS state
          FROM large_values v CROSS JOIN log_state l
         WHERE v.adopted_seq IS NOT NULL AND v.id > $2 ORDER BY v.id LIMIT $3)`,
      [idleBeforeMs, afterId, limit], { prepare: true }));
    return rows.slice(0, limit).map((row) => ({ id: row.id, owner: { space: row.space, key: parseJson(row.key_json) as Key, attribute: row.attribute }, state: row.state }));
  }

  /**
   * A read on the pool sees every committed write (read committed), and nothing can make an object
   * refer to a value again once it stopped (clients cannot write references), so read, then mark.
   */
  async orphanIfUnreferenced(id: string, owner: LargeValueOwner, nowMs: number): Promise<void> {
    const stored = await this.readObject(owner.space, owner.key, nowMs);
    if (stored && refersToLargeValue(stored.attributesJson, owner.attribute, id)) return;
    await this.run((sql) => sql.unsafe(
      'UPDATE large_values SET orphaned_seq = (SELECT last_seq FROM meta WHERE id = 1) WHERE id = $1 AND orphaned_seq IS NULL', [id], { prepare: true }));
  }

  async drop(id: string): Promise<boolean> {
    const removed = await this.run((sql) => sql.unsafe(
      'DELETE FROM large_chunks WHERE (id, idx) IN (SELECT id, idx FROM large_chunks WHERE id = $1 LIMIT $2)', [id, DROP_CHUNKS_PER_STEP], { prepare: true }));
    if (removed.count >= DROP_CHUNKS_PER_STEP) return false;
    await this.run((sql) => sql.unsafe('DELETE FROM large_values WHERE id = $1', [id], { prepare: true }));
    return true;
  }
}

/** The adoption statement a batch sends with its writes (batch.ts): values first referred to by an object written at `seq`. */
export const ADOPT_SQL = 'UPDATE large_values SET adopted_seq = v.seq FROM unnest($1::text[], $2::int8[]) AS v(id, seq) WHERE large_values.id = v.id AND large_values.adopted_seq IS NULL';

