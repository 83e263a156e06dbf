// The store's array parameters are its own literals (store/postgres/array-literals.ts), so a
// statement never depends on the driver having fetched the database's array types first: during a
// failover a fresh connection sent `bytea[]` keys typed as one bytea and PostgreSQL refused them
// (42846), answered `internal`. Here: the connections send no array-types query at all, the first
// statement of a brand-new connection takes arrays, and every value comes back exactly, quotes,
// backslashes, braces, commas, empty strings, empty and binary bytea and NULL included.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { byteaArray, integerArray, textArray } from '../../src/store/postgres/array-literals.js';
import { connect } from '../../src/store/postgres/connection.js';
import { POSTGRES_URL, postgresMissing } from '../helpers/postgres.js';

const missing = await postgresMissing();
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

/** A pass-through proxy in front of PostgreSQL that records what the client sent. */
async function recordingProxy(): Promise<{ url: string; sent: () => string }> {
  const upstream = new URL(POSTGRES_URL);
  let sent = '';
  const proxy = net.createServer((client) => {
    const server = net.connect(Number(upstream.port || 5432), upstream.hostname);
    client.on('data', (chunk: Buffer) => {
      sent += chunk.toString('latin1');
      server.write(chunk);
    });
    server.on('data', (chunk) => client.write(chunk));
    client.on('error', () => {});
    server.on('error', () => {});
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => proxy.close(resolve)));
  const url = new URL(POSTGRES_URL);
  url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  return { url: url.toString(), sent: () => sent };
}

test('the first statement of a new connection takes array literals, values exact, and no array-types query is sent', { skip: missing }, async () => {
  const proxy = await recordingProxy();
  const sql = connect({ url: proxy.url, schema: 'public', guard: false }, { poolSize: 1 });
  closers.push(() => sql.end({ timeout: 1 }));
  const texts = [
    '', 'plain', 'a "quoted" word', 'back\\slash', '{braces},commas', 'NULL', ' spaced ', 'é ✓ 𝄞', '\\"',
    // Control characters take the escaping path; JSON text (what the store sends most) the fast one.
    'line\nbreak\ttab\u0001', JSON.stringify({ v: 'x\n"y\\', n: [1, 2] }), '\u007f\u2028',
  ];
  const bytes = [Buffer.alloc(0), Buffer.from([0, 1, 0x5c, 0x22, 0x7b, 0xff]), Buffer.from('\\x00', 'latin1')];
  const ints = [0, -1, Number.MAX_SAFE_INTEGER, null, Number.MIN_SAFE_INTEGER];
  const rows = await sql.unsafe<{ t: string; n: number }[]>(
    'SELECT t, n FROM unnest($1::text[]) WITH ORDINALITY AS x(t, n) ORDER BY n', [textArray(texts)] as never[], { prepare: true });
  assert.deepEqual(rows.map((r) => r.t), texts);
  const blobs = await sql.unsafe<{ b: Buffer }[]>('SELECT b FROM unnest($1::bytea[]) WITH ORDINALITY AS x(b, n) ORDER BY n', [byteaArray(bytes)] as never[]);
  assert.deepEqual(blobs.map((r) => Buffer.from(r.b)), bytes);
  const numbers = await sql.unsafe<{ i: string | null }[]>('SELECT i::text AS i FROM unnest($1::int8[]) WITH ORDINALITY AS x(i, n) ORDER BY n', [integerArray(ints)] as never[]);
  assert.deepEqual(numbers.map((r) => (r.i === null ? null : Number(r.i))), ints);
  const empty = await sql.unsafe<{ c: number }[]>('SELECT count(*)::int AS c FROM unnest($1::bytea[])', [byteaArray([])] as never[]);
  assert.equal(empty[0]?.c, 0);
  assert.doesNotMatch(proxy.sent(), /pg_catalog\.pg_type/, 'the driver sent its array-types query');
});

test('a lone surrogate is written as itself, as the driver would, not as a JSON escape', () => {
  // PostgreSQL cannot store one (UTF-8 has no encoding for it), so this checks the literal only.
  assert.equal(textArray(['a\ud800"', '\udc00']), '{"a\ud800\\"","\udc00"}');
  assert.equal(textArray(['𝄞"', null]), '{"𝄞\\"",NULL}');
});
