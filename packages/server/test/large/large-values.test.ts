// Proves large values (docs/large-values.md) on both stores: a bytes attribute streamed in past the
// inline limit commits with its object in one write (one seq, one change carrying the reference,
// conditional forms honoured), reads back as a stream and by Range, and a get of the object returns
// the reference; a cut, refused or failed upload leaves nothing visible and nothing staged once the
// sweeper has run; an overwritten value goes once log retention passes it. PostgreSQL runs the same
// cases at the same (small) sizes. The sizes that matter for memory are in large-memory.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { CmpFailError, ExistsError, NotFoundError, connect } from '@spacekv/client';
import { type Limits, LARGE_CHUNK_BYTES, makeLimits } from '@spacekv/core';
import { DEFAULT_CONFIG, type ServerConfig } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import type { Store } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { ROOT_SECRET, bearer, createToken, startAuthServer } from '../helpers/auth.js';
import { call, expectError, expectOk, objectPath } from '../helpers/http.js';
import { dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep } from '../helpers/timeout.js';
import { type Peek, eventually, pgPeek, sqlitePeek } from './peek.js';
import { type Answer, digestOf, download, fetchBytes, generated, slice, upload } from './streams.js';

const MiB = 1024 * 1024;
const SCHEMA = 'space files key id attributes bytes blob, string name, bytes small, int n index small';

interface Harness {
  readonly url: string;
  readonly store: Store;
  readonly peek: Peek;
  stop(): Promise<void>;
}

type Kind = 'sqlite' | 'postgres';

const pgMissing = await postgresMissing();

async function startOn(kind: Kind, limits: Limits, config: Partial<ServerConfig> = {}): Promise<Harness> {
  const dataDir = makeTempDir(`large-${kind}`);
  const schema = uniqueSchema('large');
  const store: Store = kind === 'sqlite' ? new SqliteStore(dataDir, limits) : new PostgresStore(storeUrl(schema), limits);
  const server: RunningServer = await startServer(
    { ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', limits, ...(kind === 'postgres' ? { store: storeUrl(schema) } : {}), ...config },
    pino({ level: 'silent' }), store,
  );
  const peek = kind === 'sqlite' ? sqlitePeek(`${dataDir}/spacekv.db`) : pgPeek(schema);
  expectOk(await call(server.url, 'POST', '/v1/spaces', { body: SCHEMA, contentType: 'application/x-spacekv-schema' }));
  return {
    url: server.url, store, peek,
    async stop() {
      await peek.close();
      await server.close();
      removeDir(dataDir);
      if (kind === 'postgres') await dropSchema(schema);
    },
  };
}

/** Declare `size` bytes, send a few, and read the answer (the server refuses on the header alone). */
function declaredUpload(url: string, size: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': size } });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
        request.destroy();
      });
    });
    request.on('error', reject);
    request.write(Buffer.alloc(16));
  });
}

function attributePath(key: string, attribute = 'blob'): string {
  return `${objectPath('files', key)}/attributes/${attribute}`;
}

interface LargeRef {
  $large: { id: string; size: number; sha256: string };
}

async function objectOf(h: Harness, key: string): Promise<{ version: number; attributes: { blob: LargeRef | string; name: string } }> {
  return expectOk(await call(h.url, 'GET', objectPath('files', key)));
}

const LIMITS = makeLimits({ largeValueBytesMax: 8 * MiB, largeUploadsInflightMax: 2, largeUploadIdleMs: 300 });
const FAST_SWEEP = { sweepIntervalMs: 50 };

function storeCases(kind: Kind): void {
  const skip = kind === 'postgres' ? pgMissing : undefined;
  describe(`large values on ${kind}`, { skip }, () => {
    let h: Harness;
    before(async () => {
      h = await startOn(kind, LIMITS, FAST_SWEEP);
    });
    after(async () => h?.stop());

    test('a large value commits with its object in one write (one seq, one change with the reference), streams back whole, and a get returns the reference', async () => {
      const size = 5 * MiB + 123;
      const first = expectOk<{ version: number }>(await call(h.url, 'PUT', objectPath('files', 'one'), { body: { name: 'kept', n: 1 } }));
      const reply = await upload(`${h.url}${attributePath('one')}`, generated(size, 1), { headers: { 'if-match': `"${first.version}"` } });
      assert.equal(reply?.status, 200, reply?.body.toString());
      const written = JSON.parse(reply.body.toString()) as { version: number };
      const object = await objectOf(h, 'one');
      assert.equal(object.version, written.version);
      assert.equal(object.attributes.name, 'kept', 'the other attributes are kept, as by a PUT naming one attribute');
      const ref = object.attributes.blob as LargeRef;
      assert.deepEqual({ size: ref.$large.size, sha256: ref.$large.sha256 }, { size, sha256: await digestOf(size, 1) });
      const whole = await download(`${h.url}${attributePath('one')}`);
      assert.equal(whole.status, 200);
      assert.equal(whole.bytes, size);
      assert.equal(whole.sha256, ref.$large.sha256);
      assert.equal(whole.headers['etag'], `"${written.version}"`);
      assert.equal(whole.headers['x-spacekv-sha256'], ref.$large.sha256);
      const changes = (await h.store.readChanges(first.version, 100)).changes.filter((c) => c.key === 'one');
      assert.equal(changes.length, 1, 'one change for the upload');
      assert.equal(changes[0]?.seq, written.version);
      assert.deepEqual((JSON.parse(changes[0]?.attributesJson ?? '{}') as { blob: LargeRef }).blob, ref, 'the change carries the reference, not the bytes');
      assert.deepEqual((await h.peek.values()).filter((v) => v.id === ref.$large.id), [{ id: ref.$large.id, adopted: true }]);
    });

    test('a conditional upload that does not hold (If-Match, If-None-Match) changes nothing and leaves nothing staged', async () => {
      const created = expectOk<{ version: number }>(await call(h.url, 'PUT', objectPath('files', 'cond'), { body: { name: 'before' } }));
      const stale = await upload(`${h.url}${attributePath('cond')}`, generated(2 * MiB, 2), { headers: { 'if-match': `"${created.version + 1000}"` } });
      assert.equal(stale?.status, 412);
      const exists = await upload(`${h.url}${attributePath('cond')}`, generated(2 * MiB, 2), { headers: { 'if-none-match': '*' } });
      assert.equal(exists?.status, 412);
      const object = await objectOf(h, 'cond');
      assert.equal(object.version, created.version);
      assert.equal(object.attributes.blob, '');
      const fresh = await upload(`${h.url}${attributePath('cond-new')}`, generated(MiB, 3), { headers: { 'if-none-match': '*' } });
      assert.equal(fresh?.status, 201);
      await eventually('the refused uploads to be removed', async () => (await h.peek.values()).every((v) => v.adopted));
    });

    test('Range: single ranges across chunk edges, suffixes, open ends and clamps (206); past the end 416 with the size; others ignored (200)', async () => {
      const size = 2 * LARGE_CHUNK_BYTES + 5;
      const reply = await upload(`${h.url}${attributePath('ranged')}`, generated(size, 4));
      assert.equal(reply?.status, 201);
      const url = `${h.url}${attributePath('ranged')}`;
      const cases: [string, number, number][] = [
        ['bytes=0-0', 0, 0],
        [`bytes=${LARGE_CHUNK_BYTES - 1}-${LARGE_CHUNK_BYTES}`, LARGE_CHUNK_BYTES - 1, LARGE_CHUNK_BYTES],
        ['bytes=-5', size - 5, size - 1],
        ['bytes=-999999999', 0, size - 1],
        [`bytes=${2 * LARGE_CHUNK_BYTES}-`, 2 * LARGE_CHUNK_BYTES, size - 1],
        ['bytes=100-999999999', 100, size - 1],
        [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
      ];
      for (const [range, start, end] of cases) {
        const answer = await fetchBytes(url, { range });
        assert.equal(answer.status, 206, range);
        assert.equal(answer.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
        assert.ok(answer.body.equals(await slice(size, 4, start, end)), `the bytes of ${range}`);
      }
      for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
        const answer = await fetchBytes(url, { range });
        assert.equal(answer.status, 416, range);
        assert.equal(answer.headers['content-range'], `bytes */${size}`, range);
        assert.equal((JSON.parse(answer.body.toString()) as { error: { code: string } }).error.code, 'range_not_satisfiable');
      }
      for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=5-2']) {
        const answer = await download(url, { range });
        assert.equal(answer.status, 200, range);
        assert.equal(answer.bytes, size, range);
      }
      // An empty value, and an inline one written by a normal PUT, are served the same way.
      assert.equal((await upload(`${h.url}${attributePath('empty')}`, generated(0, 5)))?.status, 201);
      const empty = await fetchBytes(`${h.url}${attributePath('empty')}`);
      assert.deepEqual([empty.status, empty.body.length], [200, 0]);
      assert.equal((await fetchBytes(`${h.url}${attributePath('empty')}`, { range: 'bytes=0-' })).status, 416);
      expectOk(await call(h.url, 'PUT', objectPath('files', 'inline'), { body: { blob: Buffer.from('hello world').toString('base64') } }));
      const inline = await fetchBytes(`${h.url}${attributePath('inline')}`, { range: 'bytes=6-' });
      assert.deepEqual([inline.status, inline.body.toString(), inline.headers['content-range']], [206, 'world', 'bytes 6-10/11']);
    });

    test('a cut upload is removed once idle past largeUploadIdleMs, and was never visible', async () => {
      const cut = await upload(`${h.url}${attributePath('cut')}`, generated(6 * MiB, 6), { cutAfter: 3 * MiB });
      assert.equal(cut, null);
      expectError(await call(h.url, 'GET', objectPath('files', 'cut')), 404, 'not_found');
      await eventually('the cut upload to be removed', async () => (await h.peek.values()).every((v) => v.adopted));
      const adopted = (await h.peek.values()).length;
      assert.ok(await h.peek.chunks() >= adopted, 'only adopted values keep chunks');
      expectError(await call(h.url, 'GET', objectPath('files', 'cut')), 404, 'not_found');
    });

    test('a value past largeValueBytesMax is too_large (declared or streamed) and leaves nothing staged', async () => {
      const streamed = await upload(`${h.url}${attributePath('big')}`, generated(9 * MiB, 7));
      assert.equal(streamed?.status, 413);
      assert.match(streamed.body.toString(), /largeValueBytesMax/);
      const declared = await declaredUpload(`${h.url}${attributePath('big')}`, 9 * MiB);
      assert.equal(declared.status, 413, 'answered before the body is sent');
      assert.match(declared.body.toString(), /too_large/);
      expectError(await call(h.url, 'GET', objectPath('files', 'big')), 404, 'not_found');
      await eventually('the refused upload to be removed', async () => (await h.peek.values()).every((v) => v.adopted));
    });

    test('past largeUploadsInflightMax an upload answers overloaded; the held ones then complete', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started = 0;
      const uploads: Promise<unknown>[] = [];
      const allStarted = new Promise<void>((resolve) => {
        const source = async function* (): AsyncGenerator<Buffer> {
          yield Buffer.alloc(1024, 1);
          if (++started === 2) resolve();
          await held;
          yield Buffer.alloc(1024, 2);
        };
        // Three clients (addresses), so no one's share (largeUploadsPerClientMax) is what refuses the third.
        uploads.push(
          upload(`${h.url}${attributePath('held-a')}`, source(), { localAddress: '127.0.0.1' }),
          upload(`${h.url}${attributePath('held-b')}`, source(), { localAddress: '127.0.0.2' }),
        );
      });
      await allStarted;
      await eventually('both held uploads to be staged', async () => (await h.peek.values()).filter((v) => !v.adopted).length === 2);
      const third = await upload(`${h.url}${attributePath('held-c')}`, generated(1024, 8), { localAddress: '127.0.0.3' });
      assert.equal(third?.status, 503);
      assert.match(third.body.toString(), /largeUploadsInflightMax/);
      release();
      const done = (await Promise.all(uploads)) as { status: number }[];
      assert.deepEqual(done.map((d) => d.status), [201, 201]);
    });

    test('an upload is refused for an attribute that is not bytes, unknown, or indexed, and for a body that is not application/octet-stream', async () => {
      expectError(await call(h.url, 'PUT', attributePath('r', 'name'), { body: 'abc', contentType: 'application/octet-stream' }), 400, 'invalid_value');
      expectError(await call(h.url, 'PUT', attributePath('r', 'nope'), { body: 'abc', contentType: 'application/octet-stream' }), 400, 'unknown_attribute');
      expectError(await call(h.url, 'PUT', attributePath('r', 'small'), { body: 'abc', contentType: 'application/octet-stream' }), 400, 'bad_request');
      expectError(await call(h.url, 'PUT', attributePath('r'), { body: { blob: 'AAAA' } }), 415, 'unsupported_media_type');
      expectError(await call(h.url, 'GET', objectPath('files', 'r')), 404, 'not_found');
    });
  });
}

storeCases('sqlite');
storeCases('postgres');

test('an overwritten large value is removed once log retention passes the seq it was replaced at; the current one stays', async () => {
  const h = await startOn('sqlite', LIMITS, { ...FAST_SWEEP, logRetentionSeqs: 1, retentionIntervalMs: 50 });
  try {
    assert.equal((await upload(`${h.url}${attributePath('k')}`, generated(2 * MiB, 10)))?.status, 201);
    const [old] = await h.peek.values();
    assert.equal((await upload(`${h.url}${attributePath('k')}`, generated(3 * MiB, 11)))?.status, 200);
    // The log moves on only with writes: retention passes the seq the value was replaced at once later ones commit.
    let i = 0;
    await eventually('the replaced value to be removed', async () => {
      expectOk(await call(h.url, 'PUT', objectPath('files', `other-${i++ % 3}`), { body: { n: i } }));
      return !(await h.peek.values()).some((v) => v.id === old?.id);
    });
    assert.equal(await h.peek.chunks(), 3, 'the current value\'s 3 chunks, no more');
    assert.equal((await download(`${h.url}${attributePath('k')}`)).sha256, await digestOf(3 * MiB, 11));
  } finally {
    await h.stop();
  }
});

test('an upload may take longer than requestReceiveMs while its bytes keep coming', async () => {
  const h = await startOn('sqlite', makeLimits({ requestReceiveMs: 1000, requestHeadersMs: 1000 }), FAST_SWEEP);
  try {
    const hash = createHash('sha256');
    const slow = async function* (): AsyncGenerator<Buffer> {
      for await (const block of generated(3 * MiB, 12)) {
        hash.update(block);
        yield block;
        await sleep(150); // 12 blocks: about 1.8 s in all, past requestReceiveMs
      }
    };
    const reply = await upload(`${h.url}${attributePath('slow')}`, slow());
    assert.equal(reply?.status, 201, reply?.body.toString());
    assert.equal((await download(`${h.url}${attributePath('slow')}`)).sha256, hash.digest('hex'));
  } finally {
    await h.stop();
  }
});

/** A body that sends one small piece, then waits for `held` before its last. */
async function* heldBody(held: Promise<void>): AsyncGenerator<Buffer> {
  yield Buffer.alloc(1024, 1);
  await held;
  yield Buffer.alloc(1024, 2);
}

test('slow uploads from one client hold at most largeUploadsPerClientMax places; another client\'s upload goes through', async () => {
  const limits = makeLimits({ largeUploadsInflightMax: 8, largeUploadsPerClientMax: 2 });
  const h = await startOn('sqlite', limits, FAST_SWEEP);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  try {
    // Eight uploads that trickle from one address: enough to fill every place without the per-client share.
    const answers: (Answer | null)[] = [];
    const slow = Array.from({ length: limits.largeUploadsInflightMax }, (_, i) =>
      upload(`${h.url}${attributePath(`slow-${i}`)}`, heldBody(held), { localAddress: '127.0.0.1' }).then((answer) => {
        answers.push(answer);
        return answer;
      }));
    const staged = async () => (await h.peek.values()).filter((v) => !v.adopted).length;
    await eventually('each slow upload to be refused or staged', async () => answers.length + (await staged()) === slow.length);
    // Another client (another address) is not held up by them.
    const other = await upload(`${h.url}${attributePath('other')}`, generated(2 * MiB, 14), { localAddress: '127.0.0.2' });
    assert.equal(other?.status, 201, other?.body.toString());
    assert.equal((await download(`${h.url}${attributePath('other')}`)).sha256, await digestOf(2 * MiB, 14));
    // The slow client holds its share, and is told why the rest were refused.
    const refusals = limits.largeUploadsInflightMax - limits.largeUploadsPerClientMax;
    assert.equal(answers.length, refusals);
    for (const answer of answers) {
      assert.equal(answer?.status, 429);
      assert.match(answer.body.toString(), /"code":"rate_limited".*largeUploadsPerClientMax/);
    }
    release();
    const done = await Promise.all(slow);
    assert.deepEqual(done.map((d) => d?.status).sort(), [201, 201, ...Array(refusals).fill(429)]);
  } finally {
    release();
    await h.stop();
  }
});

test('with tokens, the share of largeUploadsPerClientMax is per token: another token from the same address still uploads', async () => {
  const srv = await startAuthServer('large-share', { limits: makeLimits({ largeUploadsPerClientMax: 1 }) });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  try {
    expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: SCHEMA, contentType: 'application/x-spacekv-schema', headers: bearer(ROOT_SECRET) }));
    const other = await createToken(srv.url, { ops: ['read', 'write'], spaces: ['files'] });
    let staged = false;
    const holding = upload(`${srv.url}${attributePath('held')}`, heldBody(held), { headers: bearer(ROOT_SECRET), onProgress: () => (staged = true) });
    await eventually('the held upload to be under way', async () => staged);
    // The root token's one place is taken: a second upload of it waits its turn...
    let second: Answer | null = null;
    await eventually('the root token\'s second upload to be refused', async () => {
      second = await upload(`${srv.url}${attributePath('second')}`, generated(1024, 16), { headers: bearer(ROOT_SECRET) });
      return second?.status === 429;
    });
    assert.match((second as Answer | null)?.body.toString() ?? '', /largeUploadsPerClientMax/);
    // ...while another token, from the same address, has a share of its own.
    const theirs = await upload(`${srv.url}${attributePath('theirs')}`, generated(1024, 17), { headers: bearer(other.token) });
    assert.equal(theirs?.status, 201, theirs?.body.toString());
    release();
    assert.equal((await holding)?.status, 201);
  } finally {
    release();
    await srv.stop();
  }
});

test('an upload that sends fewer than largeUploadProgressBytesMin in largeUploadProgressWindowMs is cut with request_timeout and leaves no trace', async () => {
  // largeUploadIdleMs keeps its default (10 min): no sweeper removes the chunks, only the cut itself.
  const h = await startOn('sqlite', makeLimits({ largeUploadProgressBytesMin: 64 * 1024, largeUploadProgressWindowMs: 1000 }), FAST_SWEEP);
  let answered = false;
  let stagedChunks = 0;
  try {
    // 2 MiB at full speed (two chunks staged), then 1 KiB every 100 ms: a tenth of the pace the rule asks.
    // Bounded: with no rule it ends after 15 s and the upload commits, which fails the test.
    const trickle = async function* (): AsyncGenerator<Buffer> {
      yield* generated(2 * MiB, 15);
      for (let i = 0; i < 150 && !answered; i++) {
        await sleep(100);
        yield Buffer.alloc(1024, i);
      }
    };
    const watching = (async () => {
      while (!answered) {
        stagedChunks = Math.max(stagedChunks, await h.peek.chunks());
        await sleep(25);
      }
    })();
    const reply = await upload(`${h.url}${attributePath('trickle')}`, trickle());
    answered = true;
    await watching;
    assert.equal(reply?.status, 408, reply?.body.toString());
    assert.match(reply.body.toString(), /"code":"request_timeout".*largeUploadProgressBytesMin/);
    assert.equal(reply.headers.connection, 'close');
    assert.ok(stagedChunks >= 2, `chunks were staged before the cut (${stagedChunks})`);
    expectError(await call(h.url, 'GET', objectPath('files', 'trickle')), 404, 'not_found');
    await eventually('the cut upload\'s chunks to be removed', async () => (await h.peek.values()).length === 0 && (await h.peek.chunks()) === 0);
  } finally {
    answered = true;
    await h.stop();
  }
});

test('the client streams a large value in (putLarge, from a Node stream) and out (getLarge, whole and by range), with its conditions', async () => {
  const h = await startOn('sqlite', LIMITS, FAST_SWEEP);
  const db = await connect(h.url);
  try {
    const size = 3 * MiB + 1;
    const written = await db.putLarge('files', 'c', 'blob', Readable.from(generated(size, 13)));
    assert.equal(written.created, true);
    await assert.rejects(db.putLarge('files', 'c', 'blob', new Uint8Array(10), { ifAbsent: true }), ExistsError);
    await assert.rejects(db.putLarge('files', 'c', 'blob', new Uint8Array(10), { ifVersion: written.version + 1 }), CmpFailError);
    const whole = await db.getLarge('files', 'c', 'blob');
    const hash = createHash('sha256');
    for await (const chunk of whole.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
    assert.deepEqual([whole.version, whole.size, whole.length, whole.sha256], [written.version, size, size, await digestOf(size, 13)]);
    assert.equal(hash.digest('hex'), whole.sha256);
    const part = await db.getLarge('files', 'c', 'blob', { start: MiB - 2, end: MiB + 1 });
    const bytes: Uint8Array[] = [];
    for await (const chunk of part.body as unknown as AsyncIterable<Uint8Array>) bytes.push(chunk);
    assert.deepEqual([part.size, part.length], [size, 4]);
    assert.ok(Buffer.concat(bytes).equals(await slice(size, 13, MiB - 2, MiB + 1)));
    await assert.rejects(db.getLarge('files', 'absent', 'blob'), NotFoundError);
    const replaced = await db.putLarge('files', 'c', 'blob', new Uint8Array([1, 2, 3]), { ifVersion: written.version });
    assert.equal(replaced.created, false);
  } finally {
    await db.close();
    await h.stop();
  }
});
