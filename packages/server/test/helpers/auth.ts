/**
 * Tokens and raw WebSocket requests for the auth tests: a server that requires tokens, tokens of
 * chosen scope created through REST with the root secret, and one request at a time over a
 * WebSocket that says hello with a token (or none).
 */
import WebSocket from 'ws';
import { SUBPROTOCOLS, WS_PATH } from '@spacekv/core';
import { call, expectOk } from './http.js';
import { type TestServer, type TestServerOptions, startTestServer } from './server.js';

/** The operator's root secret every auth test server takes (SPACEKV_ROOT_TOKEN). */
export const ROOT_SECRET = 'test-root-secret-0123456789abcdefghijklmnopqrstuvwxyz';

export function bearer(token: string | undefined): Readonly<Record<string, string>> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

export function startAuthServer(name: string, options: TestServerOptions = {}): Promise<TestServer> {
  return startTestServer(name, { ...options, config: { auth: 'on', rootToken: ROOT_SECRET, ...options.config } });
}

export interface Scope {
  readonly ops?: readonly string[];
  readonly spaces?: readonly string[];
  readonly keys?: string;
  readonly expires_in?: number;
}

/** A new token of `scope`, created with the root secret. */
export async function createToken(url: string, scope: Scope, label = 'test'): Promise<{ id: string; token: string }> {
  return expectOk<{ id: string; token: string }>(await call(url, 'POST', '/v1/tokens', { body: { label, ...scope }, headers: bearer(ROOT_SECRET) }), 201);
}

export function wsUrl(url: string): string {
  return `${url.replace(/^http/, 'ws')}${WS_PATH}`;
}

/** A WebSocket that has said hello (with `token`, when given), taking one request at a time. */
export class WsPeer {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  readonly frames: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown> | Record<string, unknown>[];
      for (const item of Array.isArray(frame) ? frame : [frame]) {
        const resolve = typeof item.id === 'number' ? this.waiting.get(item.id) : undefined;
        if (resolve) {
          this.waiting.delete(item.id as number);
          resolve(item);
        } else {
          this.frames.push(item);
        }
      }
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      for (const resolve of this.waiting.values()) resolve({ ok: false, error: { code: 'closed', message: `closed ${code}` } });
      this.waiting.clear();
    });
  }

  static async open(url: string, token?: string, headers: Readonly<Record<string, string>> = {}): Promise<WsPeer> {
    const ws = new WebSocket(wsUrl(url), [...SUBPROTOCOLS], { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const peer = new WsPeer(ws);
    if (token !== undefined) ws.send(JSON.stringify({ type: 'hello', token }));
    return peer;
  }

  request(op: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (this.closed) return resolve({ ok: false, error: { code: 'closed', message: 'closed' } });
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ id, ...op }));
    });
  }

  /** The code of a reply's error, or 'ok'. */
  static outcome(reply: Record<string, unknown>): string {
    return reply.ok === true ? 'ok' : ((reply.error as { code?: string } | undefined)?.code ?? String(reply.code));
  }

  close(): void {
    this.ws.close();
  }
}
