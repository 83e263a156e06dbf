// postgres.js 3.4.9 throws from a setImmediate when a query is given to a reserved connection whose
// backend has died (porsager/postgres#1208), which ended a spacekv server under the reliability
// suite's connection cuts. The store's guard (store/postgres/driver-guard.ts) takes that one
// exception and leaves the query to the store's deadlines; anything else still ends the process.
// Each case runs in a child process, since what is under test is whether a process survives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { POSTGRES_URL, postgresMissing } from '../helpers/postgres.js';
import { type CliRun, runNode } from '../helpers/process.js';

const missing = await postgresMissing();
const CONNECTION = new URL('../../src/store/postgres/connection.js', import.meta.url).href;
const DRIVER = import.meta.resolve('postgres');

/** A reserved connection whose backend is terminated, then a small query on it; prints what became of it. */
function scenario(guarded: boolean): string {
  return `
    import postgres from ${JSON.stringify(DRIVER)};
    import { connect } from ${JSON.stringify(CONNECTION)};
    const url = ${JSON.stringify(POSTGRES_URL)};
    const sql = ${guarded ? "connect({ url, schema: 'public', guard: false }, { poolSize: 2 })" : 'postgres(url, { max: 2, fetch_types: false, onnotice: () => {} })'};
    const killer = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe('SELECT 1');
    const reserved = await sql.reserve();
    const [{ pid }] = await reserved.unsafe('SELECT pg_backend_pid() AS pid');
    await killer.unsafe('SELECT pg_terminate_backend($1)', [pid]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const query = reserved.unsafe('SELECT 1').then(() => 'answered', (err) => 'rejected ' + err.code);
    console.log(await Promise.race([query, new Promise((resolve) => setTimeout(() => resolve('left to its deadline'), 1000))]));
    process.exit(0);
  `;
}

/** Run `source` as an ES module in a child process of its own, to its exit. */
function run(source: string): Promise<CliRun> {
  return runNode(['--input-type=module', '-e', source], 'the driver-guard scenario');
}

test('a query on a reserved connection whose backend died leaves the process up, warned', { skip: missing }, async () => {
  const { code, stdout, stderr } = await run(scenario(true));
  assert.equal(code, 0, `the process ended with ${code}:\n${stderr}`);
  assert.match(stdout, /left to its deadline|rejected/);
  assert.match(stderr, /SPACEKV_PG_CLOSED_WRITE/);
});

test('negative control: without the guard the same query ends the process with the driver\'s TypeError', { skip: missing }, async () => {
  const { code, stderr } = await run(scenario(false));
  assert.equal(code, 1);
  assert.match(stderr, /Cannot read properties of null \(reading 'write'\)\n\s+at Immediate\.nextWrite/);
});

test('with the guard installed, any other uncaught exception still ends the process with code 1', { skip: missing }, async () => {
  const { code, stderr } = await run(`
    import { connect } from ${JSON.stringify(CONNECTION)};
    const sql = connect({ url: ${JSON.stringify(POSTGRES_URL)}, schema: 'public', guard: false }, { poolSize: 1 });
    await sql.unsafe('SELECT 1');
    setImmediate(() => { throw new TypeError("Cannot read properties of null (reading 'write')"); });
    setTimeout(() => { console.log('still running'); process.exit(0); }, 1000);
  `);
  assert.equal(code, 1, 'an exception that is not the driver\'s own was swallowed');
  assert.match(stderr, /Uncaught exception: TypeError/);
});
