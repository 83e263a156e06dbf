// postgres.js 3.4.9 drops the promise of its array-types query on each new connection: a connection
// cut during that query (a primary killed in a failover) raised an unhandled rejection that ended
// the spacekv server (found by the PostgreSQL fault harness). A proxy here cuts exactly there; the
// process must survive it, while any other unhandled rejection still ends the process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { POSTGRES_URL, postgresMissing } from '../helpers/postgres.js';

const missing = await postgresMissing();
const connection = fileURLToPath(new URL('../../src/store/postgres/connection.js', import.meta.url));
const guard = fileURLToPath(new URL('../../src/store/postgres/driver-rejections.js', import.meta.url));

/** Run `body` (ES module source) in a fresh Node process, so an unhandled rejection is its own. */
function runChild(body: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', body], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('a connection cut during the driver\'s array-types query leaves the process running and the next query answered', { skip: missing }, () => {
  const upstream = new URL(POSTGRES_URL);
  const child = runChild(`
    import net from 'node:net';
    import { connect } from ${JSON.stringify(connection)};
    import { droppedTypeQueryErrors } from ${JSON.stringify(guard)};
    // What a backend sends as it is terminated (a failover, pg_terminate_backend): an ErrorResponse, then EOF.
    const terminated = () => {
      const fields = Buffer.from('SFATAL\\0VFATAL\\0C57P01\\0Mterminating connection due to administrator command\\0\\0');
      const head = Buffer.alloc(5);
      head.write('E');
      head.writeInt32BE(fields.length + 4, 1);
      return Buffer.concat([head, fields]);
    };
    // Passes the startup through, then terminates the first connection when the driver sends its pg_type query.
    let cut = false;
    const proxy = net.createServer((client) => {
      const server = net.connect(${Number(upstream.port || 5432)}, ${JSON.stringify(upstream.hostname)});
      client.on('data', (chunk) => {
        if (!cut && chunk.includes('pg_catalog.pg_type')) { cut = true; client.end(terminated()); server.destroy(); return; }
        server.write(chunk);
      });
      server.on('data', (chunk) => client.write(chunk));
      client.on('error', () => {}); server.on('error', () => {});
      client.on('close', () => server.destroy()); server.on('close', () => client.destroy());
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = new URL(${JSON.stringify(POSTGRES_URL)});
    url.host = '127.0.0.1:' + proxy.address().port;
    const sql = connect({ url: url.toString(), schema: 'public', guard: false }, { poolSize: 1 });
    // The query itself may fail (the driver replays the cut onto it, porsager/postgres#1223) or be
    // answered on the reconnected session: either is for the store to handle; the process must go on.
    await sql.unsafe('SELECT 1').catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await sql.unsafe('SELECT 2 AS two');
    console.log(JSON.stringify({ after: after[0].two, swallowed: droppedTypeQueryErrors() }));
    await sql.end({ timeout: 1 }).catch(() => {});
    proxy.close();
  `);
  assert.equal(child.status, 0, `the process ended: ${child.stderr}`);
  const report = JSON.parse(child.stdout.trim().split('\n').pop() as string) as { after: number; swallowed: number };
  assert.equal(report.after, 2, 'the next query is answered on a new connection');
  assert.ok(report.swallowed >= 1, 'the dropped type query\'s rejection reached the guard');
});

test('any other unhandled rejection still ends the process', () => {
  const child = runChild(`
    import { guardDriverRejections } from ${JSON.stringify(guard)};
    guardDriverRejections();
    Promise.reject(new Error('a real bug'));
    setTimeout(() => console.log('still running'), 500);
  `);
  assert.notEqual(child.status, 0);
  assert.match(child.stderr, /a real bug/);
  assert.doesNotMatch(child.stdout, /still running/);
});
