/**
 * Shared helpers of the client and WebSocket-protocol tests (not a test file itself): bounded waits,
 * fresh data directories, in-process servers, real server processes, and a raw WebSocket client
 * that speaks the protocol by hand so tests can send what the real client never would.
 *
 * The server is imported as the workspace package `spacekv`: the compiled tests live in
 * packages/client/dist/test, from where a relative path to packages/server/src does not resolve.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { type HelloFrame, type Limits, SUBPROTOCOLS, WS_PATH, makeLimits, parseJson, stringifyJson } from '@spacekv/core';
import { DEFAULT_CONFIG, type RunningServer, startServer } from 'spacekv';
import type { SpacekvClient } from '../src/index.js';

/**
 * A test file whose servers or sockets outlive a failure (a teardown step that failed) must not keep
 * the whole run waiting: past this, the process reports and exits. The timer does not by itself
 * keep the process alive.
 */
const WATCHDOG_MS = 120_000;
setTimeout(() => {
  console.error(`watchdog: ${process.argv[1] ?? 'a test file'} was still running after ${WATCHDOG_MS} ms; exiting`);
  process.exit(1);
}, WATCHDOG_MS).unref();

/** Run every teardown step even if an earlier one fails; then report the first failure. */
export async function teardown(...steps: readonly (() => unknown)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/** Reject with a message naming `what` if `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `condition` (every few ms) until it holds; fail after `ms`. */
export async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves after the current turn of the event loop (after the client's frame flush). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'spacekv-client-test-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export type LimitOverrides = Partial<Record<keyof Limits, number>>;

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly dataDir: string;
  /** Close the server (bounded) and remove its data directory; safe to call twice. */
  stop(): Promise<void>;
}

/** An in-process server on a free port over a fresh data directory. */
export async function startTestServer(limits: LimitOverrides = {}): Promise<TestServer> {
  const dataDir = await makeTempDir();
  const server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', limits: makeLimits(limits) });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        await withTimeout(server.close(), 10_000, 'the server to close');
      } finally {
        await removeDir(dataDir);
      }
    })();
    return stopped;
  };
  return { server, url: server.url, dataDir, stop };
}

/**
 * Close a client and wait until its socket has closed, i.e. until the server has read the close
 * frame. Closing a server while a client's close frame is still unread costs ws's 30 s closing
 * timeout (see close.test.ts), which teardown must not depend on. The socket is private to the
 * client, so this looks through the types; if that shape changes it only skips the wait.
 */
export async function closeClient(db: SpacekvClient | undefined): Promise<void> {
  if (!db) return;
  await withTimeout(db.close(), 10_000, 'client.close()');
  const connection = (db as unknown as { connection?: { socket?: unknown } }).connection;
  if (connection && 'socket' in connection) await until(() => connection.socket === undefined, 5_000, 'the client socket to close');
}

/** `http://host:port` → `ws://host:port/v1/ws` (or another path). */
export function wsUrl(baseUrl: string, path: string = WS_PATH): string {
  return `${baseUrl.replace(/^http/, 'ws')}${path}`;
}

/** A reply object as it travels on the wire. */
export interface WireReply {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: { readonly code: string; readonly message: string; readonly version?: number };
  readonly [member: string]: unknown;
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/**
 * A WebSocket client written by hand against docs/protocol.md: it records every frame the server
 * sends (parsed losslessly), and lets a test send any text or binary it likes.
 */
export class RawClient {
  /** Every frame after the hello, parsed. */
  readonly frames: unknown[] = [];
  readonly closed: Promise<CloseInfo>;
  hello: HelloFrame | undefined;
  private readonly byId = new Map<number, WireReply>();
  private wakers: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString('utf8') });
        this.wake();
      });
    });
    ws.on('error', () => {}); // a close follows; the tests look at the close
    ws.on('message', (data, isBinary) => this.onFrame(String(data), isBinary));
  }

  /** Open a connection and wait for the hello. */
  static async open(baseUrl: string): Promise<RawClient> {
    const client = new RawClient(new WebSocket(wsUrl(baseUrl), [...SUBPROTOCOLS]));
    const refused = client.closed.then((close) => {
      throw new Error(`the connection closed (${close.code}) before the hello`);
    });
    await Promise.race([client.waitFor(() => client.hello !== undefined, 'the hello frame'), refused]);
    return client;
  }

  /** Send text as is, or any other value as JSON. */
  send(payload: unknown): void {
    this.ws.send(typeof payload === 'string' ? payload : stringifyJson(payload));
  }

  /** Replies received so far, by id. */
  get replies(): ReadonlyMap<number, WireReply> {
    return this.byId;
  }

  /** Error frames (`{"type":"error"}`) received so far. */
  get errorFrames(): { readonly type: 'error'; readonly error: { readonly code: string; readonly message: string } }[] {
    return this.frames.filter((f): f is { type: 'error'; error: { code: string; message: string } } => (f as { type?: unknown }).type === 'error');
  }

  /** Wait (bounded) until a reply has come for every id. */
  async repliesFor(ids: readonly number[], ms = 10_000): Promise<WireReply[]> {
    const missing = (): number => ids.filter((id) => !this.byId.has(id)).length;
    await this.waitFor(() => missing() === 0, `replies to ${ids.length} requests`, ms).catch((error: unknown) => {
      throw new Error(`${(error as Error).message} (${missing()} missing)`);
    });
    return ids.map((id) => this.byId.get(id) as WireReply);
  }

  /** Wait for the close, bounded. */
  closeInfo(ms = 5_000): Promise<CloseInfo> {
    return withTimeout(this.closed, ms, 'the server to close the connection');
  }

  terminate(): void {
    this.ws.terminate();
  }

  /** Close with a close handshake and wait (bounded) for it to finish. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'test done');
    await this.closeInfo(5_000);
  }

  /** Resolves when `condition` holds, re-checked on every frame and on close; fails after `ms`. */
  waitFor(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
    if (condition()) return Promise.resolve();
    const held = new Promise<void>((resolve) => {
      const check = (): void => {
        if (condition()) resolve();
        else this.wakers.push(check);
      };
      this.wakers.push(check);
    });
    return withTimeout(held, ms, what);
  }

  private onFrame(text: string, isBinary: boolean): void {
    if (isBinary) throw new Error('the server sent a binary frame');
    const frame = parseJson(text) as unknown;
    if (this.hello === undefined && (frame as { type?: unknown }).type === 'hello') {
      this.hello = frame as HelloFrame;
    } else {
      this.frames.push(frame);
      const replies = Array.isArray(frame) ? (frame as WireReply[]) : [];
      for (const reply of replies) {
        if (this.byId.has(reply.id)) throw new Error(`two replies for request ${reply.id}`);
        this.byId.set(reply.id, reply);
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const check of this.wakers.splice(0)) check();
  }
}

/** The outcome of a handshake the server refuses. */
export interface Refusal {
  readonly status: number;
  readonly body: string;
}

/** Attempt a handshake that should be refused; resolves with the HTTP status and body. */
export function refusedHandshake(url: string, protocols: readonly string[]): Promise<Refusal> {
  const ws = new WebSocket(url, [...protocols]);
  const refusal = new Promise<Refusal>((resolve, reject) => {
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body });
        ws.terminate();
      });
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error(`the handshake to ${url} was accepted`));
    });
    ws.on('error', () => {}); // terminate() after a refusal reports an error; the refusal is what counts
  });
  return withTimeout(refusal, 5_000, `the handshake to ${url} to be refused`);
}

/** The compiled CLI of the server: packages/client/dist/test → packages/server/dist/src/cli/main.js. */
export const SERVER_MAIN_JS = fileURLToPath(new URL('../../../server/dist/src/cli/main.js', import.meta.url));

export interface ChildServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** SIGKILL (unless it exited already) and wait for the exit, bounded. */
  kill(): Promise<void>;
}

const children = new Set<ChildProcess>();

/** Kill every child still running (for `after` hooks), each by its own handle. */
export async function killChildren(): Promise<void> {
  await Promise.all([...children].map(async (child) => {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await withTimeout(exited, 10_000, `process ${child.pid} to exit`);
  }));
}

/**
 * Run `spacekv serve --port <port> --data <dir>` as a real process; resolves with the URL from its
 * JSON log line whose msg is 'spacekv serving'.
 */
export async function spawnServer(port: number, dataDir: string): Promise<ChildServer> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('SPACEKV_')) env[name] = value;
  const child = spawn(process.execPath, [SERVER_MAIN_JS, 'serve', '--port', String(port), '--data', dataDir, '--log-level', 'info'], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      children.delete(child);
      resolve();
    });
  });
  let output = '';
  let pending = '';
  const serving = new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      pending += chunk;
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (parsed.msg === 'spacekv serving' && typeof parsed.url === 'string') resolve(parsed.url);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    void exited.then(() => reject(new Error(`the server exited before serving:\n${output}`)));
  });
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await withTimeout(exited, 10_000, `process ${child.pid} to die`);
  };
  let url: string;
  try {
    url = await withTimeout(serving, 20_000, `'spacekv serving' from ${SERVER_MAIN_JS}`);
  } catch (err) {
    await kill();
    throw err;
  }
  return { url, port: Number(new URL(url).port), pid: child.pid ?? -1, output: () => output, kill };
}
