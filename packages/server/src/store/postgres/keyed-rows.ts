/**
 * The rows of a list of keys of one space, read as one primary-key probe per key.
 *
 * Why not `WHERE space_seq = $1 AND key = ANY($2)`: on the shared `objects` table the planner may
 * take only `space_seq` as the index condition and test `key = ANY($2)` on every row of the space,
 * which it does whenever it believes the space is a few rows (a table never analyzed, autovacuum
 * off or not round yet: `space_seq = $1` is then guessed at 0.5 % of the table). A prepared
 * statement keeps the generic plan made at its sixth run, when the table may well have been nearly
 * empty, for the life of the connection; measured on PostgreSQL 15, a batch's row fetch then read
 * the whole space each time (5,696 rows for 64 keys, 4 ms, growing with the space) and made
 * durable puts 3 to 6 times dearer in PostgreSQL CPU than the layout of one table per space, whose
 * `key = ANY($1)` had no other index condition to choose. Here each key drives a lateral lookup
 * with LIMIT 1, which the planner cannot turn into a scan of the space: it is an index scan on
 * `(space_seq, key)` per key, whatever the statistics, from the first run on.
 */

/** Columns of `objects` a lookup returns. */
const COLUMNS = 'key, version, expires_at, attrs';

/**
 * A FROM item `o` (columns key, version, expires_at, attrs) of the objects of space `spaceSeq` (an
 * SQL expression) whose keys are in `keys` (a bytea[] expression); absent keys give no row, and
 * `lock` locks those found (FOR UPDATE).
 */
export function rowsOfKeys(spaceSeq: string, keys: string, lock: boolean): string {
  return `unnest(${keys}) AS k(key) CROSS JOIN LATERAL (
    SELECT ${COLUMNS} FROM objects WHERE space_seq = ${spaceSeq} AND key = k.key LIMIT 1${lock ? ' FOR UPDATE' : ''}) o`;
}
