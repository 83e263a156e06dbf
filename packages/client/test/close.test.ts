/**
 * Proves graceful shutdown on both ends: `client.close()` waits for every outstanding operation,
 * then refuses new ones; `server.close()` while requests are in flight refuses new connections
 * (503 shutting_down), answers every request it accepted, then closes the connection with 1001,
 * and completes promptly (bounded) whether clients are busy, idle, or closing themselves.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { type Operation, type Result, SUBPROTOCOLS } from '@spacekv/core';
import { type SpacekvClient, SpacekvError, UnavailableError, connect } from '../src/index.js';
import { RawClient, type TestServer, closeClient, refusedHandshake, startTestServer, until, withTimeout, wsUrl } from './support.js';

/** Generous for a close on loopback; only a hang exceeds it. */
const CLOSE_BOUND_MS = 5_000;

/**
 * Server-side sockets the server closed (they have no url), so that a test which finds the server
 * hanging in its close can end them and not leave the process waiting for ws's 30 s close timeout.
 */
const serverSockets = new Set<WebSocket>();
const proto = WebSocket.prototype as unknown as { close: (this: WebSocket, ...args: unknown[]) => void };
const originalClose = proto.close;
proto.close = function (this: WebSocket, ...args: unknown[]): void {
  if (!this.url) serverSockets.add(this);
  originalClose.apply(this, args);
};

/**
 * Count the writes the engine has started, to know when the server has accepted a pipeline; with
 * `hold`, writes wait until `release()` so the test can act while they are in flight.
 */
function watchWrites(server: TestServer, hold = false): { readonly started: () => number; readonly release: () => void } {
  const engine = server.server.engine;
  const write = engine.write;
  let started = 0;
  let release: () => void = () => {};
  const gate = hold ? new Promise<void>((resolve) => { release = resolve; }) : Promise.resolve();
  engine.write = (op: Operation): Promise<Result> => {
    started++;
    return gate.then(() => write.call(engine, op));
  };
  return { started: () => started, release: () => release() };
}

describe('graceful close', () => {
  let server: TestServer | undefined;
  const clients: SpacekvClient[] = [];
  const raws: RawClient[] = [];

  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.terminate();
    for (const ws of serverSockets) ws.terminate(); // a no-op unless a close hung
    serverSockets.clear();
    await Promise.all(clients.splice(0).map((db) => closeClient(db).catch(() => {})));
    await server?.stop();
    server = undefined;
  });

  async function setUp(): Promise<TestServer> {
    server = await startTestServer();
    const db = await withTimeout(connect(server.url), 5_000, 'connect');
    await db.addSpace('space items key k attributes int n');
    await closeClient(db);
    return server;
  }

  it('client.close() waits for every outstanding operation, then refuses new ones', async () => {
    const running = await setUp();
    const db = await withTimeout(connect(running.url), 5_000, 'connect');
    clients.push(db);
    let settled = 0;
    const puts = Array.from({ length: 1_000 }, (_, i) => db.put('items', `c${i}`, { n: i }).then(() => {
      settled++;
    }));
    await withTimeout(db.close(), 10_000, 'client.close()');
    assert.equal(settled, 1_000, 'every operation had settled when close() resolved');
    assert.equal(db.outstanding, 0);
    await Promise.all(puts);
    await assert.rejects(db.get('items', 'c1'), (error: unknown) => error instanceof UnavailableError && error.code === 'unavailable');
    const check = await withTimeout(connect(running.url), 5_000, 'connect');
    clients.push(check);
    assert.equal((await check.get('items', 'c999'))?.attributes.n, 999);
  });

  it('server.close() answers the requests it accepted, then closes with 1001 (raw connection)', async () => {
    const running = await setUp();
    const writes = watchWrites(running, true);
    const raw = await RawClient.open(running.url);
    raws.push(raw);
    const ids = Array.from({ length: 300 }, (_, i) => i);
    raw.send(ids.map((id) => ({ id, op: 'put', space: 'items', key: `r${id}`, attributes: { n: id } })));
    await until(() => writes.started() === ids.length, 5_000, 'the server to accept the pipeline');
    const closing = running.server.close();
    // While it drains, the server refuses new connections.
    const refusal = await refusedHandshake(wsUrl(running.url), SUBPROTOCOLS);
    assert.equal(refusal.status, 503);
    assert.equal((JSON.parse(refusal.body) as { error: { code: string } }).error.code, 'shutting_down');
    assert.equal(raw.replies.size, 0, 'the writes are still held');
    writes.release();
    const close = await withTimeout(raw.closed, CLOSE_BOUND_MS, 'the close of the connection');
    assert.equal(close.code, 1001);
    assert.equal(raw.replies.size, ids.length, 'every accepted request was answered before the close');
    assert.ok([...raw.replies.values()].every((r) => r.ok));
    await withTimeout(closing, CLOSE_BOUND_MS, 'server.close()');
  });

  it('server.close() answers the client\'s writes in flight; later requests fail unavailable', async () => {
    const running = await setUp();
    const writes = watchWrites(running);
    const db = await withTimeout(connect(running.url, { connectTimeoutMs: 200, reconnectDelayMs: 20, reconnectDelayMaxMs: 50 }), 5_000, 'connect');
    clients.push(db);
    const puts = Array.from({ length: 300 }, (_, i) => db.put('items', `s${i}`, { n: i }));
    await until(() => writes.started() === puts.length, 5_000, 'the server to accept the pipeline');
    const closing = running.server.close();
    const written = await withTimeout(Promise.all(puts), CLOSE_BOUND_MS, 'the writes in flight');
    assert.equal(written.length, 300);
    await withTimeout(closing, CLOSE_BOUND_MS, 'server.close()');
    await assert.rejects(withTimeout(db.get('items', 's1'), 5_000, 'a get after the server closed'),
      (error: unknown) => error instanceof SpacekvError && error.code === 'unavailable');
  });

  it('server.close() completes promptly with an idle client connected', async () => {
    const running = await setUp();
    const db = await withTimeout(connect(running.url, { reconnect: false }), 5_000, 'connect');
    clients.push(db);
    await db.put('items', 'idle', { n: 1 });
    await withTimeout(running.server.close(), CLOSE_BOUND_MS, 'server.close() with an idle client');
  });

  it('server.close() completes promptly right after a client closed', async () => {
    const running = await setUp();
    const db = await withTimeout(connect(running.url), 5_000, 'connect');
    await db.put('items', 'bye', { n: 1 });
    await db.close(); // its close frame may still be unread by the server
    await withTimeout(running.server.close(), CLOSE_BOUND_MS, 'server.close() after a client closed');
  });
});
