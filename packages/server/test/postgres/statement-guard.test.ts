// Proves the portable-subset guard (statement-guard.ts) that every PostgreSQL test runs the store
// under: it refuses, before PostgreSQL sees them, advisory locks, backend signalling, LISTEN/NOTIFY,
// COLLATE, savepoints and DDL in a transaction that also writes data, and lets the rest through
// (DDL on its own, data writes in transactions), so "the suite passes with the guard on" means
// something.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { PortabilityError, guardSql } from '../../src/store/postgres/statement-guard.js';
import { POSTGRES_URL, dropSchema, postgresMissing, uniqueSchema } from '../helpers/postgres.js';

const missing = await postgresMissing();
const schema = uniqueSchema('guard');
after(async () => {
  if (!missing) await dropSchema(schema);
});

test('the guard refuses what CockroachDB or YugabyteDB would not run alike, and passes the rest', { skip: missing }, async () => {
  const sql = guardSql(postgres(POSTGRES_URL, { max: 2, onnotice: () => {}, connection: { search_path: schema } }));
  try {
    for (const statement of [
      'SELECT pg_advisory_xact_lock(1, 2)', 'SELECT pg_try_advisory_lock(7)', 'SELECT pg_cancel_backend(1)', 'SELECT pg_terminate_backend(1)',
      "SELECT pg_notify('c', 'x')", 'NOTIFY c', 'LISTEN c', 'CREATE TABLE x (k TEXT COLLATE "C")', 'SAVEPOINT a',
    ]) {
      await assert.rejects(sql.unsafe(statement), PortabilityError, statement);
    }
    await assert.rejects(sql.listen('c', () => {}), PortabilityError);

    // DDL alone, and writes in a transaction, pass.
    await sql.unsafe(`CREATE SCHEMA ${schema}`);
    await sql.unsafe('CREATE TABLE t (k INT PRIMARY KEY)');
    await sql.begin(async (tx) => {
      await tx.unsafe('INSERT INTO t VALUES (1)');
      await tx.unsafe('UPDATE t SET k = 2');
    });
    // DDL and a write in one transaction: refused, in either order, on begin() and on a reserved connection.
    await assert.rejects(sql.begin(async (tx) => {
      await tx.unsafe('INSERT INTO t VALUES (3)');
      await tx.unsafe('CREATE TABLE u (k INT)');
    }), PortabilityError);
    const session = await sql.reserve();
    try {
      await session.unsafe('BEGIN');
      await session.unsafe('CREATE TABLE v (k INT)');
      await assert.rejects(session.unsafe('DELETE FROM t'), PortabilityError);
      await session.unsafe('ROLLBACK');
      // After the transaction, autocommit statements are their own transactions again.
      await session.unsafe('DELETE FROM t');
    } finally {
      session.release();
    }
    const [row] = await sql.unsafe<{ n: number }[]>('SELECT count(*)::int AS n FROM t');
    assert.equal(row?.n, 0, 'the refused transaction wrote nothing; the last delete did');
  } finally {
    await sql.end({ timeout: 1 });
  }
});
