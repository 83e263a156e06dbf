/**
 * What removed spaces and indexes left behind (layout.ts `purges`): rm_space and rm_index change
 * the catalog at once, and their rows go here afterwards, a bounded slice per short transaction,
 * so a space of millions of objects never holds the writers. Any server may run a slice; the
 * purge row, locked for the slice's transaction, keeps two from deleting the same slice, and a
 * purge whose row is gone (an index built again, or another server finished it) stops.
 */
import type { Queries, Sql } from './connection.js';

interface PurgeRow {
  space_seq: string;
  attr: string;
}

/**
 * Run one slice of the oldest pending purge: at most `rowsMax` index entries, then (for a space)
 * at most `rowsMax` objects; the purge row goes once a slice finds nothing left. Returns whether
 * any purge was pending.
 */
export async function purgeSlice(sql: Sql, rowsMax: number): Promise<boolean> {
  const [pending] = await sql.unsafe<PurgeRow[]>('SELECT space_seq, attr FROM purges ORDER BY space_seq, attr LIMIT 1');
  if (!pending) return false;
  await sql.begin(async (tx) => {
    const spaceSeq = Number(pending.space_seq);
    const { attr } = pending;
    const [held] = await tx.unsafe('SELECT space_seq FROM purges WHERE space_seq = $1 AND attr = $2 FOR UPDATE', [spaceSeq, attr]);
    if (!held) return;
    const entries = attr === ''
      ? await tx.unsafe(
        `DELETE FROM index_entries WHERE (space_seq, attr, value, key) IN (
           SELECT space_seq, attr, value, key FROM index_entries WHERE space_seq = $1 LIMIT $2)`, [spaceSeq, rowsMax])
      : await deleteEntrySlice(tx, spaceSeq, attr, rowsMax);
    let objects = 0;
    if (attr === '' && entries.count < rowsMax) {
      objects = (await tx.unsafe(
        'DELETE FROM objects WHERE space_seq = $1 AND key IN (SELECT key FROM objects WHERE space_seq = $1 ORDER BY key LIMIT $2)', [spaceSeq, rowsMax])).count;
    }
    if (entries.count === 0 && objects === 0) await tx.unsafe('DELETE FROM purges WHERE space_seq = $1 AND attr = $2', [spaceSeq, attr]);
  });
  return true;
}

/** Delete `attr`'s entries of space `spaceSeq` (what an earlier index on it left), a slice per statement, until none is left. */
export async function clearEntries(sql: Sql, spaceSeq: number, attr: string, rowsMax: number): Promise<void> {
  while ((await deleteEntrySlice(sql, spaceSeq, attr, rowsMax)).count === rowsMax);
}

function deleteEntrySlice(sql: Queries, spaceSeq: number, attr: string, rowsMax: number): Promise<{ count: number }> {
  return sql.unsafe(
    `DELETE FROM index_entries WHERE space_seq = $1 AND attr = $2 AND (value, key) IN (
       SELECT value, key FROM index_entries WHERE space_seq = $1 AND attr = $2 LIMIT $3)`, [spaceSeq, attr, rowsMax]);
}
