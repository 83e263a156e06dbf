/**
 * Proves the client's side of the protocol against a scripted server (a bare `ws` server that
 * speaks docs/protocol.md and answers when the test says): the client never has more than the
 * hello's inflightRequestsMax unanswered; replies in any order reach their own requests; an error
 * frame before a close is reported with the requests that the close fails; requests queued while
 * disconnected are not failed by their connect timeout once a connection exists; and connect()
 * does not wait forever for a server that never says hello.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { type HelloFrame, SUBPROTOCOLS, WS_PATH, parseJson, stringifyJson } from '@spacekv/core';
import { OutcomeUnknownError, type SpacekvClient, SpacekvError, UnavailableError, connect } from '../src/index.js';
import { closeClient, teardown, until, withTimeout } from './support.js';

interface Request {
  readonly id: number;
  readonly op: string;
  readonly key?: string;
}

/** A server that says hello and records requests; the test decides when and how to answer. */
class ScriptedServer {
  readonly requests: Request[] = [];
  readonly sockets = new Set<WebSocket>();
  accepting = true;
  refused = 0;
  sayHello = true;
  /** Called for every request; answer now (return a reply) or keep it for later (return undefined). */
  policy: (request: Request) => Readonly<Record<string, unknown>> | undefined = () => undefined;
  unanswered = 0;
  maxUnanswered = 0;
  private readonly wss: WebSocketServer;

  private constructor(private readonly inflightRequestsMax: number, wss: WebSocketServer) {
    this.wss = wss;
    wss.on('connection', (ws) => this.onConnection(ws));
  }

  static async start(inflightRequestsMax: number): Promise<ScriptedServer> {
    let server: ScriptedServer | undefined;
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: WS_PATH,
      handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
      verifyClient: () => {
        if (server?.accepting !== false) return true;
        server.refused++;
        return false;
      },
    });
    await withTimeout(new Promise((resolve) => wss.once('listening', resolve)), 5_000, 'the scripted server to listen');
    server = new ScriptedServer(inflightRequestsMax, wss);
    return server;
  }

  get url(): string {
    const address = this.wss.address();
    assert.ok(typeof address === 'object' && address !== null);
    return `http://127.0.0.1:${address.port}`;
  }

  /** Send one frame of replies on every connection. */
  answer(replies: readonly Readonly<Record<string, unknown>>[]): void {
    this.unanswered -= replies.length;
    for (const ws of this.sockets) ws.send(stringifyJson(replies));
  }

  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  async close(): Promise<void> {
    this.dropAll();
    await withTimeout(new Promise<void>((resolve) => this.wss.close(() => resolve())), 5_000, 'the scripted server to close');
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const frame = parseJson(String(data)) as unknown;
      const requests = (Array.isArray(frame) ? frame : [frame]) as Request[];
      const replies: Readonly<Record<string, unknown>>[] = [];
      for (const request of requests) {
        this.requests.push(request);
        this.unanswered++;
        this.maxUnanswered = Math.max(this.maxUnanswered, this.unanswered);
        const reply = this.policy(request);
        if (reply) replies.push(reply);
      }
      if (replies.length > 0) setImmediate(() => this.answer(replies));
    });
    if (!this.sayHello) return;
    const hello: HelloFrame = {
      type: 'hello', protocol: 1, server: 'scripted/0', heartbeatIntervalMs: 30_000,
      limits: { inflightRequestsMax: this.inflightRequestsMax, requestBytesMax: 4 * 1024 * 1024 },
    };
    ws.send(JSON.stringify(hello));
  }
}

/** The reply a get of `request` receives from the scripted server: its id in the attributes. */
function getReply(request: Request): Readonly<Record<string, unknown>> {
  return { id: request.id, ok: true, key: request.key ?? '', version: 1, attributes: { n: request.id, key: request.key ?? '' } };
}

describe('the client against a scripted server', () => {
  let server: ScriptedServer | undefined;
  let db: SpacekvClient | undefined;

  afterEach(async () => {
    // The scripted server first: a client waiting for replies it will never get closes only once its socket drops.
    const [running, client] = [server, db];
    server = undefined;
    db = undefined;
    await teardown(() => running?.close(), () => closeClient(client));
  });

  it('never has more than the hello\'s inflightRequestsMax requests unanswered', async () => {
    server = await ScriptedServer.start(3);
    server.policy = getReply;
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    const client = db;
    const gets = Array.from({ length: 200 }, (_, i) => client.get('s', `k${i}`));
    const results = await withTimeout(Promise.all(gets), 10_000, '200 gets through a window of 3');
    results.forEach((object, i) => assert.equal(object?.attributes.key, `k${i}`, 'each get resolved with its own reply'));
    assert.equal(server.requests.length, 200);
    assert.ok(server.maxUnanswered <= 3, `the server saw ${server.maxUnanswered} requests unanswered at once; the bound is 3`);
    assert.equal(server.maxUnanswered, 3, 'the client used the window');
  });

  it('matches replies that come in reverse order, and an int past 2^53, to their requests', async () => {
    server = await ScriptedServer.start(100);
    db = await withTimeout(connect(server.url), 5_000, 'connect');
    const client = db;
    const gets = Array.from({ length: 20 }, (_, i) => client.get('s', `k${i}`));
    const running = server;
    await until(() => running.requests.length === 20, 5_000, 'the 20 requests');
    running.answer([...running.requests].reverse().map((r) => ({ ...getReply(r), version: 2n ** 60n, attributes: { key: r.key ?? '', big: 2n ** 62n + BigInt(r.id) } })));
    const results = await withTimeout(Promise.all(gets), 5_000, 'the gets');
    results.forEach((object, i) => {
      assert.equal(object?.attributes.key, `k${i}`);
      assert.equal(object?.attributes.big, 2n ** 62n + BigInt(running.requests[i]?.id ?? -1), 'big ints are read exactly');
    });
  });

  it('reports the error frame that precedes a close with the requests the close fails', async () => {
    server = await ScriptedServer.start(100);
    db = await withTimeout(connect(server.url, { reconnect: false }), 5_000, 'connect');
    const read = db.get('s', 'k');
    const write = db.put('s', 'k', { n: 1 });
    const running = server;
    await until(() => running.requests.length === 2, 5_000, 'the 2 requests');
    for (const ws of running.sockets) {
      ws.send(JSON.stringify({ type: 'error', error: { code: 'bad_request', message: 'scripted complaint' } }));
      ws.close(1008, 'policy');
    }
    await assert.rejects(withTimeout(read, 5_000, 'the read'), (error: unknown) =>
      error instanceof UnavailableError && /scripted complaint/.test(error.message));
    await assert.rejects(withTimeout(write, 5_000, 'the write'), (error: unknown) =>
      error instanceof OutcomeUnknownError && /scripted complaint/.test(error.message));
  });

  it('does not fail requests queued while disconnected once a connection exists, however long the server takes', async () => {
    const CONNECT_TIMEOUT_MS = 300;
    server = await ScriptedServer.start(2);
    const running = server;
    db = await withTimeout(connect(server.url, { connectTimeoutMs: CONNECT_TIMEOUT_MS, reconnectDelayMs: 10, reconnectDelayMaxMs: 20 }), 5_000, 'connect');
    const client = db;
    running.accepting = false;
    running.dropAll();
    await until(() => running.refused > 0, 5_000, 'the client to try to reconnect');
    const gets = Array.from({ length: 10 }, (_, i) => client.get('s', `q${i}`));
    running.accepting = true;
    await until(() => running.requests.length === 2, 5_000, 'the client to reconnect and send the first window');
    // Hold the first window's replies past the connect timeout: the queued requests have a connection, only no slot yet.
    await new Promise((resolve) => setTimeout(resolve, 2 * CONNECT_TIMEOUT_MS));
    running.policy = getReply;
    running.answer(running.requests.map(getReply));
    const results = await withTimeout(Promise.allSettled(gets), 5_000, 'the queued gets');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(failed.length, 0, `${failed.length} of 10 queued gets failed, the first with: ${String(failed[0]?.reason)}`);
  });

  it('connect() gives up on a server that never says hello', async () => {
    server = await ScriptedServer.start(100);
    server.sayHello = false;
    await assert.rejects(withTimeout(connect(server.url, { connectTimeoutMs: 300 }), 5_000, 'connect() to a silent server'),
      (error: unknown) => error instanceof SpacekvError && error.code === 'unavailable');
  });
});
