// Proves every bound of the limits module (packages/core/src/limits.ts) is enforced with its code.
// Most are proven where their feature is tested; the ledger below names, for each limit, the test
// that proves it, and a test here checks that every limit has an entry, that the named test exists
// and that it names the limit, so a new limit cannot land unproven. The limits only core's unit tests
// covered get their end-to-end proof here, through REST and the WebSocket client, on a server
// configured with small bounds: nameLengthMax, attributesMax, expireInSecondsMax, searchPageObjectsMax,
// subscriptionsMax and watchersMax.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS, LIMIT_MS_MAX, type Limits, makeLimits } from '@spacekv/core';
import { type SpacekvClient, SpacekvError, connect } from '@spacekv/client';
import WebSocket from 'ws';
import { SUBPROTOCOLS, WS_PATH } from '@spacekv/core';
import { call } from '../helpers/http.js';
import { withTimeout } from '../helpers/timeout.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
const HERE = 'packages/server/test/reliability/limits.test.ts';
const ABUSE = 'packages/server/test/reliability/abuse.test.ts';
const AUTH = 'packages/server/test/auth/auth-limits.test.ts';
const AMQP_WATCH = 'packages/server/test/amqp/amqp-watch.test.ts';
const LARGE = 'packages/server/test/large/large-values.test.ts';

/** For each limit: the test file and a piece of the test's title that prove it enforced. */
const PROOFS: Readonly<Record<keyof Limits, { readonly file: string; readonly test: string }>> = {
  keyBytesMax: { file: 'packages/server/test/http/bad-input.test.ts', test: 'a key of keyBytesMax + 1' },
  valueBytesMax: { file: 'packages/server/test/http/bad-input.test.ts', test: 'an object past valueBytesMax' },
  requestBytesMax: { file: 'packages/client/test/protocol.test.ts', test: 'closes with 1009 on a frame larger than requestBytesMax' },
  refusedBodyBytesMax: { file: 'packages/server/test/http/refused-body.test.ts', test: 'a declared body past refusedBodyBytesMax is answered 413 at once' },
  refusedBodyDrainMsMax: { file: 'packages/server/test/http/refused-body.test.ts', test: 'a refused body that stalls is answered 413 after refusedBodyDrainMsMax' },
  attributesMax: { file: HERE, test: 'a space past attributesMax' },
  nameLengthMax: { file: HERE, test: 'a space name past nameLengthMax' },
  collectionElementsMax: { file: 'packages/server/test/http/bad-input.test.ts', test: 'a set of collectionElementsMax + 1 elements' },
  documentDepthMax: { file: 'packages/server/test/http/bad-input.test.ts', test: 'a document nested past documentDepthMax' },
  documentPathDepthMax: { file: 'packages/server/test/conformance/cases-hyperdex.ts', test: 'a path past documentPathDepthMax' },
  documentPathLengthMax: { file: 'packages/server/test/conformance/cases-hyperdex.ts', test: 'a path past documentPathLengthMax' },
  mutationsPerOpMax: { file: 'packages/server/test/http/bad-input.test.ts', test: 'mutationsPerOpMax + 1 mutations' },
  txOpsMax: { file: 'packages/server/test/conformance/cases-tx.ts', test: 'past txOpsMax (checks and operations together) a tx is too_large' },
  predicatesPerOpMax: { file: 'packages/server/test/http/bad-input.test.ts', test: 'a condition of predicatesPerOpMax + 1 predicates' },
  schemaLengthMax: { file: 'packages/server/test/http/bad-input.test.ts', test: 'a schema text past schemaLengthMax' },
  spacesMax: { file: 'packages/server/test/conformance/cases-admin.ts', test: 'past spacesMax add_space is too_large and adds nothing' },
  batchWritesMax: { file: 'packages/server/test/conformance/cases-order.ts', test: 'a batch never exceeds batchWritesMax' },
  writeQueueDepthMax: { file: 'packages/server/test/conformance/cases-order.ts', test: 'past writeQueueDepthMax a write answers overloaded' },
  inflightRequestsMax: { file: 'packages/client/test/protocol.test.ts', test: 'answers requests past inflightRequestsMax' },
  sendBufferBytesMax: { file: ABUSE, test: 'HTTP pipelining that never reads holds at most sendBufferBytesMax' },
  connectionsMax: { file: ABUSE, test: 'past connectionsMax a new connection is refused' },
  replyBufferBytesMax: { file: ABUSE, test: 'past replyBufferBytesMax new work answers overloaded' },
  connectionIdleMs: { file: ABUSE, test: 'past connectionsMax a new connection is refused' },
  requestHeadersMs: { file: ABUSE, test: 'a client that never finishes its headers is closed after requestHeadersMs' },
  requestReceiveMs: { file: ABUSE, test: 'a client that never finishes its body is closed after requestReceiveMs' },
  watchLogPagesPerTurnMax: { file: ABUSE, test: 'replaying a long log from seq 0 leaves the server responsive' },
  expireInSecondsMax: { file: HERE, test: 'an expire_in past expireInSecondsMax' },
  searchPageObjectsMax: { file: HERE, test: 'a search limit past searchPageObjectsMax' },
  scanRowsMax: { file: 'packages/server/test/conformance/cases-search.ts', test: 'cursors page through every match once, even when a scan stops at scanRowsMax' },
  searchPageBytesMax: { file: 'packages/server/test/conformance/cases-search.ts', test: 'a page stops once its objects pass searchPageBytesMax' },
  // A bound on work per writer transaction, not on input: proven by a build that completes in batches of 7.
  indexBuildBatchRowsMax: { file: 'packages/server/test/conformance/cases-search.ts', test: 'an index added to a space with data while writes continue is complete' },
  // A bound on work per writer transaction: proven by a purge that runs in several slices while writes are answered.
  purgeBatchRowsMax: { file: 'packages/server/test/store/sqlite-layout.test.ts', test: 'a removed space of many rows is purged in slices of purgeBatchRowsMax' },
  snapshotsInflightMax: { file: 'packages/server/test/ops/backup.test.ts', test: 'a backup past snapshotsInflightMax answers overloaded' },
  readCacheBytesMax: { file: 'packages/server/test/store/read-cache.test.ts', test: 'holds at most readCacheBytesMax bytes, least recently used first' },
  largeValueBytesMax: { file: LARGE, test: 'a value past largeValueBytesMax is too_large' },
  largeUploadsInflightMax: { file: LARGE, test: 'past largeUploadsInflightMax an upload answers overloaded' },
  largeUploadIdleMs: { file: LARGE, test: 'a cut upload is removed once idle past largeUploadIdleMs' },
  largeUploadsPerClientMax: { file: LARGE, test: 'slow uploads from one client hold at most largeUploadsPerClientMax places' },
  largeUploadProgressBytesMin: { file: LARGE, test: 'an upload that sends fewer than largeUploadProgressBytesMin in largeUploadProgressWindowMs is cut' },
  largeUploadProgressWindowMs: { file: LARGE, test: 'an upload that sends fewer than largeUploadProgressBytesMin in largeUploadProgressWindowMs is cut' },
  subscriptionsMax: { file: HERE, test: 'a watch past subscriptionsMax on one connection' },
  watchersMax: { file: HERE, test: 'a watch past the server-wide watchersMax' },
  // Bounds on memory and page size, not on input: proven by the feed keeping whole seqs within them.
  watchPageChangesMax: { file: 'packages/server/test/events/change-feed.test.ts', test: 'a subscription gets every change after its position, in order, across memory and log' },
  recentChangesMax: { file: 'packages/server/test/events/change-feed.test.ts', test: 'keeps whole seqs within its bounds and sends older positions to the log' },
  recentChangeBytesMax: { file: 'packages/server/test/events/change-feed.test.ts', test: 'keeps whole seqs within its bounds and sends older positions to the log' },
  txReplyBytesMax: { file: 'packages/server/test/reliability/abuse-work.test.ts', test: 'a tx of many reads of a large object is refused too_large (txReplyBytesMax)' },
  batchReplyBytesMax: { file: 'packages/server/test/reliability/abuse-work.test.ts', test: 'past batchReplyBytesMax a tx answers overloaded' },
  conditionStepsMax: { file: 'packages/core/test/cost.test.ts', test: 'a regex past conditionStepsMax fails too_costly before it runs' },
  pointReadBatchKeysMax: { file: 'packages/server/test/postgres/point-reads.test.ts', test: 'gets in flight together share statements of at most pointReadBatchKeysMax keys' },
  searchStepsMax: { file: 'packages/core/test/cost.test.ts', test: 'a regex past conditionStepsMax fails too_costly before it runs' },
  tokenCacheEntriesMax: { file: AUTH, test: 'the verified-token cache stays within tokenCacheEntriesMax' },
  tokensMax: { file: AUTH, test: 'a token record past tokensMax' },
  tokenLengthMax: { file: AUTH, test: 'a token past tokenLengthMax' },
  authFailuresPerMinuteMax: { file: AUTH, test: 'failed authentications past authFailuresPerMinuteMax' },
  authFailureAddressesMax: { file: AUTH, test: 'failure counters stay within authFailureAddressesMax' },
  clientRequestsPerSecondMax: { file: AUTH, test: 'requests past clientRequestsPerSecondMax' },
  rateLimitedClientsMax: { file: AUTH, test: 'the rate table stays within rateLimitedClientsMax' },
  amqpWatchQueueMessagesMax: { file: AMQP_WATCH, test: 'a stream whose queue reaches amqpWatchQueueMessagesMax unread ends' },
  amqpWatchIdleMs: { file: AMQP_WATCH, test: 'a stream whose queue has no consumer for amqpWatchIdleMs ends' },
};

test('every limit of the limits module has a test that proves it, and that test names the limit', () => {
  assert.deepEqual(Object.keys(PROOFS).sort(), Object.keys(DEFAULT_LIMITS).sort(), 'one ledger entry per limit');
  for (const [limit, proof] of Object.entries(PROOFS)) {
    const text = readFileSync(REPO + proof.file, 'utf8');
    assert.ok(text.includes(proof.test), `${proof.file} has a test titled '${proof.test}' (the proof of ${limit})`);
    assert.ok(text.includes(limit), `${proof.file} names ${limit}`);
  }
});

const SMALL = makeLimits({ nameLengthMax: 8, attributesMax: 4, expireInSecondsMax: 100, searchPageObjectsMax: 5, subscriptionsMax: 2, watchersMax: 3 });
let server: TestServer;
let db: SpacekvClient;

before(async () => {
  server = await startTestServer('limits', { limits: SMALL });
  db = await connect(server.url);
  await db.addSpace('space `ttl` key k attributes int n');
});
after(async () => {
  await db?.close();
  await server?.stop();
});

async function refused(promise: Promise<unknown>): Promise<SpacekvError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SpacekvError) return err;
    throw err;
  }
  assert.fail('the request was accepted');
}

test('a space name past nameLengthMax is too_large (REST), and one at the bound is created', async () => {
  const long = await call(server.url, 'POST', '/v1/spaces', { body: { schema: `space ${'n'.repeat(SMALL.nameLengthMax + 1)} key k` } });
  assert.equal(long.status, 413, long.text);
  const { error } = JSON.parse(long.text) as { error: { code: string; limit?: string } };
  assert.deepEqual([error.code, error.limit], ['too_large', 'nameLengthMax']);
  const exact = await call(server.url, 'POST', '/v1/spaces', { body: { schema: `space ${'n'.repeat(SMALL.nameLengthMax)} key k` } });
  assert.equal(exact.status, 201, exact.text);
});

test('a space past attributesMax is too_large (WebSocket), and one at the bound is created', async () => {
  const attributes = (n: number): string => Array.from({ length: n }, (_, i) => `int a${i}`).join(', ');
  const err = await refused(db.addSpace(`space wide key k attributes ${attributes(SMALL.attributesMax + 1)}`));
  assert.deepEqual([err.code, err.details.limit], ['too_large', 'attributesMax']);
  await db.addSpace(`space wide key k attributes ${attributes(SMALL.attributesMax)}`);
  assert.equal((await db.describeSpace('wide')).attributes.length, SMALL.attributesMax);
});

test('an expire_in past expireInSecondsMax is too_large over REST and WebSocket, and writes nothing', async () => {
  const rest = await call(server.url, 'PUT', `/v1/spaces/ttl/objects/r?expire_in=${SMALL.expireInSecondsMax + 1}`, { body: { n: 1 } });
  assert.equal(rest.status, 413, rest.text);
  assert.equal((JSON.parse(rest.text) as { error: { limit?: string } }).error.limit, 'expireInSecondsMax');
  const err = await refused(db.put('ttl', 'w', { n: 1 }, { expireIn: SMALL.expireInSecondsMax + 1 }));
  assert.deepEqual([err.code, err.details.limit], ['too_large', 'expireInSecondsMax']);
  assert.equal(await db.get('ttl', 'r'), null);
  assert.equal(await db.get('ttl', 'w'), null);
  await db.put('ttl', 'w', { n: 1 }, { expireIn: SMALL.expireInSecondsMax });
  assert.equal((await db.get('ttl', 'w'))?.attributes.n, 1);
});

test('a search limit past searchPageObjectsMax is invalid_limit naming the limit (REST), and one at the bound pages', async () => {
  await Promise.all(Array.from({ length: 7 }, (_, i) => db.put('ttl', `s${i}`, { n: i })));
  const past = await call(server.url, 'POST', '/v1/spaces/ttl/search', { body: { where: {}, limit: SMALL.searchPageObjectsMax + 1 } });
  assert.equal(past.status, 400, past.text);
  const { error } = JSON.parse(past.text) as { error: { code: string; limit?: string } };
  assert.deepEqual([error.code, error.limit], ['invalid_limit', 'searchPageObjectsMax']);
  const page = await call(server.url, 'POST', '/v1/spaces/ttl/search', { body: { where: {}, limit: SMALL.searchPageObjectsMax } });
  assert.equal(page.status, 200, page.text);
  const body = JSON.parse(page.text) as { objects: unknown[]; cursor?: string };
  assert.equal(body.objects.length, SMALL.searchPageObjectsMax);
  assert.ok(body.cursor, 'a cursor brings the rest');
});

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: { readonly code: string; readonly limit?: string };
}

/** A raw WebSocket connection that sends `count` watch requests and resolves with their replies, in id order. */
async function watches(count: number, sockets: WebSocket[]): Promise<Reply[]> {
  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + WS_PATH, [...SUBPROTOCOLS]);
  sockets.push(ws);
  const replies: Reply[] = [];
  await withTimeout(new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as unknown;
      if (!Array.isArray(message)) {
        if ((message as { type?: string }).type === 'hello') ws.send(JSON.stringify(Array.from({ length: count }, (_, i) => ({ id: i + 1, op: 'watch', space: 'ttl' }))));
        return;
      }
      replies.push(...(message as Reply[]).filter((r) => typeof r.id === 'number'));
      if (replies.length === count) resolve();
    });
  }), 10_000, `${count} watch replies`);
  return replies.sort((a, b) => a.id - b.id);
}

test('a watch past subscriptionsMax on one connection is overloaded naming the limit; the ones within it hold', async () => {
  const sockets: WebSocket[] = [];
  try {
    const replies = await watches(SMALL.subscriptionsMax + 1, sockets);
    assert.deepEqual(replies.slice(0, SMALL.subscriptionsMax).map((r) => r.ok), [true, true]);
    assert.deepEqual([replies.at(-1)?.error?.code, replies.at(-1)?.error?.limit], ['overloaded', 'subscriptionsMax']);
  } finally {
    for (const ws of sockets) ws.terminate();
  }
});

test('a watch past the server-wide watchersMax is overloaded naming the limit, whatever the connection', async () => {
  const sockets: WebSocket[] = [];
  try {
    const first = await watches(SMALL.subscriptionsMax, sockets); // 2 of the server's 3
    assert.ok(first.every((r) => r.ok));
    const second = await watches(SMALL.subscriptionsMax, sockets); // the 3rd holds, the 4th is past watchersMax
    assert.equal(second[0]?.ok, true);
    assert.deepEqual([second[1]?.error?.code, second[1]?.error?.limit], ['overloaded', 'watchersMax']);
  } finally {
    for (const ws of sockets) ws.terminate();
  }
});

test('a duration past LIMIT_MS_MAX is refused when the limits are made; at it, keep-alive requests arm no timer Node must truncate', async (t) => {
  for (const name of ['connectionIdleMs', 'refusedBodyDrainMsMax', 'largeUploadIdleMs']) {
    assert.throws(() => makeLimits({ [name]: LIMIT_MS_MAX + 1 }), new RegExp(`limit '${name}' is a duration in milliseconds of at most ${LIMIT_MS_MAX}`));
  }
  // Node's HTTP server arms the keep-alive timer 1 s past connectionIdleMs: at 2^31-1 that overflowed,
  // and Node wrote a TimeoutOverflowWarning (a stack trace) on every response.
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning);
  };
  process.on('warning', onWarning);
  const longest = await startTestServer('limits-ms', { limits: makeLimits({ connectionIdleMs: LIMIT_MS_MAX, requestHeadersMs: LIMIT_MS_MAX, requestReceiveMs: LIMIT_MS_MAX }) });
  t.after(async () => {
    process.off('warning', onWarning);
    await longest.stop();
  });
  for (let i = 0; i < 3; i++) assert.equal((await call(longest.url, 'GET', '/healthz')).status, 200); // fetch keeps the connection alive
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  assert.deepEqual(warnings.filter((w) => w.name === 'TimeoutOverflowWarning').map((w) => w.message), []);
});
