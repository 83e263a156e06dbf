// Proves that one read at a time meets one PostgreSQL backend (PgPool.reading, issue 18): the
// driver hands out a pool's idle connections in turn, so without the hot connection each read met
// the backend that had waited longest, its caches cold. Reads at once overflow to the pool, and a
// replaced set of connections replaces the hot one too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PgPool, type Sql, parseTarget } from '../../src/store/postgres/connection.js';
import { POSTGRES_URL, postgresMissing } from '../helpers/postgres.js';

const missing = await postgresMissing();

async function pid(sql: Sql): Promise<number> {
  const [row] = await sql.unsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
  return (row as { pid: number }).pid;
}

test('reads one at a time all meet one backend, reads at once spread over the pool, a replaced set a new one', { skip: missing }, async () => {
  const pool = new PgPool(parseTarget(POSTGRES_URL), { poolSize: 4 }, () => {});
  try {
    // Open every pooled connection: sleeps at once.
    await Promise.all(Array.from({ length: 4 }, () => pool.current.unsafe('SELECT pg_sleep(0.05)')));
    const pooled = new Set<number>();
    for (let i = 0; i < 8; i++) pooled.add(await pid(pool.current));
    assert.ok(pooled.size > 1, 'the driver hands its idle connections out in turn (else this test proves nothing)');

    const hot = new Set<number>();
    for (let i = 0; i < 8; i++) hot.add(await pool.reading(pid));
    assert.equal(hot.size, 1);
    const [hotPid] = hot;
    assert.ok(!pooled.has(hotPid as number), 'the hot connection is not one of the pool');

    const both = await Promise.all([pool.reading(pid), pool.reading(pid)]);
    assert.equal(new Set(both).size, 2, 'a read while the hot connection is busy goes to the pool');
    assert.equal(both[0], hotPid);

    await pool.reading(async (sql) => pool.replace(sql));
    assert.notEqual(await pool.reading(pid), hotPid, 'replacing the set replaces the hot connection');
  } finally {
    await pool.end();
  }
});
