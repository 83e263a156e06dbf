/** What the large-value tests read straight from a store's tables, and a bounded wait for the sweeper. */
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { POSTGRES_URL } from '../helpers/postgres.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

/** What is staged or stored of large values, read straight from the store's tables. */
export interface Peek {
  values(): Promise<{ id: string; adopted: boolean }[]>;
  chunks(): Promise<number>;
  close(): Promise<void>;
}

export function sqlitePeek(path: string): Peek {
  const db = new Database(path, { readonly: true });
  return {
    values: async () => (db.prepare('SELECT id, adopted_seq FROM large_values ORDER BY id').all() as { id: string; adopted_seq: number | null }[])
      .map((r) => ({ id: r.id, adopted: r.adopted_seq !== null })),
    chunks: async () => db.prepare('SELECT count(*) FROM large_chunks').pluck().get() as number,
    close: async () => {
      db.close();
    },
  };
}

export function pgPeek(schema: string): Peek {
  const sql = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
  return {
    values: async () => (await sql.unsafe<{ id: string; adopted_seq: string | null }[]>(`SELECT id, adopted_seq FROM ${schema}.large_values ORDER BY id`))
      .map((r) => ({ id: r.id, adopted: r.adopted_seq !== null })),
    chunks: async () => Number((await sql.unsafe<{ n: string }[]>(`SELECT count(*) AS n FROM ${schema}.large_chunks`))[0]?.n),
    close: () => sql.end({ timeout: 1 }),
  };
}

/** Wait (bounded) until `check` holds: the sweeper runs on its own schedule. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await withTimeout((async () => {
    while (!(await check())) await sleep(25);
  })(), timeoutMs, what);
}

