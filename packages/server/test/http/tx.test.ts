// Proves the tx operation over the fronts (docs/transactions.md, docs/protocol.md): POST /v1/tx takes
// the tx with or without "op": "tx" and answers 200 with `seq` and the per-operation results, or 409
// tx_failed with `failures` (every failing check, or the first failing operation, with index, code
// and current version) and nothing applied; POST /v1/ops takes the same tx; bad tx bodies are 400
// (413 past txOpsMax, 415 for non-JSON); and the WebSocket front answers the same tx with the same body.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { DEFAULT_LIMITS, SUBPROTOCOLS, WS_PATH } from '@spacekv/core';
import { type ObjectBody, type WrittenBody, call, expectError, expectOk, objectPath } from '../helpers/http.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

let srv: TestServer;
let versionA = 0;

before(async () => {
  srv = await startTestServer('tx');
  expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space accounts key id attributes int balance' } }), 201);
  versionA = expectOk<WrittenBody>(await call(srv.url, 'PUT', objectPath('accounts', 'a'), { body: { balance: 100 } }), 201).version;
});
after(async () => {
  await srv.stop();
});

interface TxBody {
  readonly ok: true;
  readonly seq: number | null;
  readonly results: readonly Record<string, unknown>[];
}

interface TxFailedBody {
  readonly ok: false;
  readonly error: { readonly code: string; readonly message: string; readonly failures: readonly Record<string, unknown>[] };
}

const transfer = (amount: number, to: string): object => ({
  checks: [{ space: 'accounts', key: 'a', if: { balance: { gte: amount } } }, { space: 'accounts', key: to, exists: false }],
  ops: [
    { op: 'mutate', space: 'accounts', key: 'a', mutations: [{ sub: { balance: amount } }] },
    { op: 'put', space: 'accounts', key: to, attributes: { balance: amount } },
  ],
});

async function balance(key: string): Promise<ObjectBody> {
  return expectOk<ObjectBody>(await call(srv.url, 'GET', objectPath('accounts', key)), 200);
}

test('POST /v1/tx → 200 with the seq and each operation\'s result; every write at that seq', async () => {
  const reply = await call(srv.url, 'POST', '/v1/tx', { body: transfer(30, 'b') });
  const body = expectOk<TxBody>(reply, 200);
  const seq = versionA + 1;
  assert.deepEqual(body, {
    ok: true, seq,
    results: [
      { ok: true, key: 'a', version: seq, created: false, attributes: { balance: 70 } },
      { ok: true, key: 'b', version: seq, created: true },
    ],
  });
  assert.equal(reply.headers.get('etag'), null, 'a tx has no single version to tag');
  assert.deepEqual(await balance('a'), { ok: true, key: 'a', version: seq, attributes: { balance: 70 } });
  assert.deepEqual(await balance('b'), { ok: true, key: 'b', version: seq, attributes: { balance: 30 } });
  // "op": "tx" may be given, and POST /v1/ops takes the same tx.
  const readOnly = { op: 'tx', ops: [{ op: 'get', space: 'accounts', key: 'b' }] };
  const expected = { ok: true, seq: null, results: [{ ok: true, key: 'b', version: seq, attributes: { balance: 30 } }] };
  assert.deepEqual(expectOk(await call(srv.url, 'POST', '/v1/tx', { body: readOnly }), 200), expected);
  assert.deepEqual(expectOk(await call(srv.url, 'POST', '/v1/ops', { body: readOnly }), 200), expected);
});

test('POST /v1/tx → 409 tx_failed with every failing check, and nothing applied', async () => {
  const before = await balance('a');
  const reply = await call(srv.url, 'POST', '/v1/tx', { body: transfer(1000, 'b') });
  const error = expectError(reply, 409, 'tx_failed') as TxFailedBody['error'];
  assert.deepEqual(error.failures.map(({ message, ...rest }) => (assert.equal(typeof message, 'string'), rest)), [
    { at: 'check', index: 0, code: 'cmp_fail', version: before.version },
    { at: 'check', index: 1, code: 'exists', version: before.version },
  ]);
  assert.deepEqual(await balance('a'), before);
});

test('POST /v1/tx → 409 tx_failed naming the first failing operation; its earlier writes undone', async () => {
  const before = await balance('a');
  const body = {
    ops: [
      { op: 'put', space: 'accounts', key: 'c', attributes: { balance: 1 } },
      { op: 'put_if_not_exist', space: 'accounts', key: 'a', attributes: { balance: 0 } },
      { op: 'del', space: 'accounts', key: 'nobody' },
    ],
  };
  const error = expectError(await call(srv.url, 'POST', '/v1/tx', { body }), 409, 'tx_failed') as TxFailedBody['error'];
  assert.equal(error.failures.length, 1);
  assert.deepEqual({ ...error.failures[0], message: undefined }, { at: 'op', index: 1, code: 'exists', version: before.version, message: undefined });
  expectError(await call(srv.url, 'GET', objectPath('accounts', 'c')), 404, 'not_found');
  assert.deepEqual(await balance('a'), before);
});

test('bad tx bodies are refused with their code, and change nothing', async (t) => {
  const before = await balance('a');
  const put = { op: 'put', space: 'accounts', key: 'z', attributes: { balance: 1 } };
  const cases: readonly [string, unknown, number, string][] = [
    ['a list', [put], 400, 'bad_request'],
    ['another op', put, 400, 'bad_request'],
    ['an admin op inside', { ops: [put, { op: 'rm_space', space: 'accounts' }] }, 400, 'bad_request'],
    ['a check with two tests', { checks: [{ space: 'accounts', key: 'a', exists: true, version: 1 }], ops: [put] }, 400, 'bad_request'],
    ['a check with an unknown field', { checks: [{ space: 'accounts', key: 'a', exist: true }], ops: [put] }, 400, 'bad_request'],
    ['ops not a list', { ops: put }, 400, 'bad_request'],
    ['an unknown space', { ops: [put, { ...put, space: 'nowhere' }] }, 404, 'unknown_space'],
    ['past txOpsMax', { ops: Array.from({ length: DEFAULT_LIMITS.txOpsMax + 1 }, () => put) }, 413, 'too_large'],
  ];
  for (const [name, body, status, code] of cases) {
    await t.test(name, async () => {
      const error = expectError(await call(srv.url, 'POST', '/v1/tx', { body }), status, code);
      if (code === 'too_large') assert.equal(error.limit, 'txOpsMax');
    });
  }
  expectError(await call(srv.url, 'POST', '/v1/tx'), 400, 'bad_request');
  expectError(await call(srv.url, 'POST', '/v1/tx', { body: 'ops', contentType: 'text/plain' }), 415, 'unsupported_media_type');
  expectError(await call(srv.url, 'GET', objectPath('accounts', 'z')), 404, 'not_found');
  assert.deepEqual(await balance('a'), before);
});

test('the WebSocket front answers a tx with the same body as REST, under the request id', async () => {
  const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}${WS_PATH}`, [...SUBPROTOCOLS]);
  try {
    ws.once('error', (err) => assert.fail(err));
    const next = (): Promise<unknown> => new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
    assert.equal((await next() as { type: string }).type, 'hello');
    const before = await balance('a');
    ws.send(JSON.stringify([
      { id: 1, op: 'tx', checks: [{ space: 'accounts', key: 'a', version: before.version }], ops: [{ op: 'mutate', space: 'accounts', key: 'a', mutations: [{ add: { balance: 1 } }] }] },
      { id: 2, op: 'tx', checks: [{ space: 'accounts', key: 'a', version: before.version }], ops: [] },
    ]));
    const replies = new Map<number, unknown>();
    while (replies.size < 2) for (const reply of (await next()) as { id: number }[]) replies.set(reply.id, reply);
    const seq = (replies.get(1) as TxBody).seq as number;
    assert.ok(seq > before.version);
    assert.deepEqual(replies.get(1), {
      id: 1, ok: true, seq, results: [{ ok: true, key: 'a', version: seq, created: false, attributes: { balance: before.attributes.balance as number + 1 } }],
    });
    const failed = replies.get(2) as { id: number } & TxFailedBody;
    assert.equal(failed.ok, false);
    assert.equal(failed.error.code, 'tx_failed');
    assert.deepEqual(failed.error.failures.map((f) => [f.at, f.index, f.code, f.version]), [['check', 0, 'cmp_fail', seq]]);
  } finally {
    ws.close();
  }
});
