/**
 * A pipelined connection to one server (docs/protocol.md). Requests issued in the same tick leave
 * in one frame; replies may come back in any order and are matched by id. At most the server's
 * in-flight bound is on the wire; the rest wait here in order.
 *
 * When the connection drops, nothing is retried behind the caller's back: a write that was sent
 * and not answered fails `outcome_unknown` (it may have been applied), a read that was sent fails
 * `unavailable`. Requests not yet sent wait for the reconnection, up to `connectTimeoutMs`, and
 * then fail `unavailable`. Reconnection uses exponential backoff with jitter.
 *
 * Given several servers (that share one store), the connection uses one at a time and fails over:
 * the first open tries each in turn until one says hello, and after a drop (the server went away)
 * each reconnection attempt goes to the next server in the list, so requests waiting to be sent and
 * watches (which resume from their last seq) carry on against another server. A write that was on
 * the wire to the lost server still fails `outcome_unknown`: it is never sent again.
 */
import { type HelloFrame, SUBPROTOCOLS, WS_PATH, parseJson, stringifyJson, utf8Length } from '@spacekv/core';
import { type SpacekvError, errorFromWire, errorOf } from './errors.js';
import { type WebSocketLike, openWebSocket } from './socket.js';
import { type HttpTarget, httpRequest } from './http-request.js';

export interface ConnectionOptions {
  /** How long a request may wait for a connection before failing `unavailable`. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Reconnect after the connection drops. Default true. */
  readonly reconnect?: boolean;
  /** First and longest pause between reconnection attempts. Defaults 50 ms and 5 s. */
  readonly reconnectDelayMs?: number;
  readonly reconnectDelayMaxMs?: number;
  /** The token a server that requires one gets in the client's hello (docs/security.md). */
  readonly token?: string;
  /**
   * PEM certificate(s) to trust for a `https://`/`wss://` server instead of the system's (a private
   * CA, a self-signed server), for the WebSocket and for the client's HTTP requests (large values,
   * health checks). Node only: a browser trusts what its platform trusts.
   */
  readonly ca?: string | Uint8Array;
  /**
   * Given several servers: how often the one in use is asked `/healthz` (default 5 s; 0: never). A
   * server that answers 503 (up, but its store unreachable or its writer down) is left for the next,
   * as if it had gone away, and one that answers 503 is skipped when dialling.
   */
  readonly healthCheckIntervalMs?: number;
}

/** The longest a health check waits for `/healthz`; a server that does not answer in time is not judged by it. */
const HEALTH_CHECK_TIMEOUT_MS = 2_000;

/**
 * Hears what is not the reply of a request: `changes` and `watch_end` frames of watch
 * subscriptions, and each (re)connection and drop, so watches can resubscribe where they were.
 */
export interface StreamListener {
  frame(frame: Readonly<Record<string, unknown>>): void;
  /** A hello arrived: the connection (new or re-established) takes requests. */
  connected(): void;
  /** The connection dropped; `final` when it will not reconnect. */
  disconnected(error: SpacekvError, final: boolean): void;
}

/** A reply as decoded from the wire. */
export type ReplyBody = Readonly<Record<string, unknown>> & { readonly ok: boolean };

/** How a request ends: a reply, or an error (and no reply). A callback, not a promise: it is per operation on the hot path. */
export type Settle = (error: SpacekvError | null, reply?: ReplyBody) => void;

interface Request {
  readonly id: number;
  readonly text: string;
  /** An upper bound of the text's UTF-8 size (3 bytes per UTF-16 unit), cheap to compute. */
  readonly bytesMax: number;
  readonly isWrite: boolean;
  /** Called once, with the reply or with the error that ended the request. */
  readonly settle: Settle;
  timer?: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

/**
 * Runs `fn` once the current turn of the event loop, with all its microtasks, is done: every
 * request issued during that turn (say, by callbacks of the replies of one frame) leaves in one
 * frame. A microtask would flush after the first of them and cost a syscall per request.
 */
const afterThisTurn: (fn: () => void) => void =
  (globalThis as { setImmediate?: (fn: () => void) => void }).setImmediate ?? ((fn) => setTimeout(fn, 0));

export class Connection {
  private socket: WebSocketLike | undefined;
  private hello: HelloFrame | undefined;
  /** The server's hello, held until it accepts the token of ours (its `auth` frame). */
  private unconfirmedHello: HelloFrame | undefined;
  private readonly sent = new Map<number, Request>();
  private waiting: Request[] = [];
  private outbox: string[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private attempts = 0;
  private closedByUser = false;
  private opened: { resolve: () => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> } | undefined;
  /** The last connection-level error frame, reported with the close that follows it. */
  private lastServerError: SpacekvError | undefined;
  private readonly urls: readonly string[];
  /** The server in use, or being dialled: an index into `urls`. */
  private current = 0;
  /** Servers the first open has tried without a hello, the current one included. */
  private openTries = 0;
  private streamListener: StreamListener | undefined;

  constructor(baseUrl: string | readonly string[], private readonly options: ConnectionOptions = {}) {
    const list = typeof baseUrl === 'string' ? [baseUrl] : baseUrl;
    if (list.length === 0) throw errorOf('bad_request', 'connect needs at least one server URL');
    this.urls = list.map(toWebSocketUrl);
  }

  /** The HTTP base URL of the server in use, and the token, for the routes the client drives over HTTP (large values, /healthz). */
  get httpTarget(): HttpTarget {
    const url = new URL(this.url);
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    return {
      base: url.origin,
      ...(this.options.token === undefined ? {} : { token: this.options.token }),
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
    };
  }

  /** The WebSocket URL of the server in use (or being dialled). */
  get url(): string {
    return this.urls[this.current] as string;
  }

  /** Resolves once the server's hello arrives; rejects if the first attempt fails or takes too long. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timeout = this.options.connectTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        this.openTries = this.urls.length; // out of time: no server left to try
        this.socket?.close(1000, 'no hello in time');
        this.onDown(`no hello from the server within ${timeout} ms`);
      }, timeout);
      this.opened = { resolve, reject, timer };
      this.openTries = 1;
      void this.dial();
    });
  }

  /** Requests sent and not yet answered, plus those waiting to be sent. */
  get outstanding(): number {
    return this.sent.size + this.waiting.length;
  }

  get serverHello(): HelloFrame | undefined {
    return this.hello;
  }

  /** Send one operation (wire form, without id); `settle` gets its reply or its error. */
  request(op: Readonly<Record<string, unknown>>, isWrite: boolean, settle: Settle): void {
    if (this.closedByUser) return settle(errorOf('unavailable', 'the client is closed'));
    const id = this.nextId++;
    const text = stringifyJson({ id, ...op });
    const request: Request = { id, text, bytesMax: text.length * 3, isWrite, settle };
    if (this.canSend()) this.sendChecked(request);
    else this.wait(request);
  }

  /** Set the one listener for watch frames and connection changes (the client's watch registry). */
  listen(listener: StreamListener): void {
    this.streamListener = listener;
  }

  /** Whether a hello has arrived on the current socket. */
  get connected(): boolean {
    return this.hello !== undefined && this.socket?.readyState === OPEN;
  }

  /** Stop taking requests; requests not yet sent fail `unavailable`; the socket closes. */
  close(): void {
    this.closedByUser = true;
    for (const request of this.waiting.splice(0)) this.settleWaiting(request, errorOf('unavailable', 'the client was closed before the request was sent'));
    this.socket?.close(1000, 'client closing');
  }

  private canSend(): boolean {
    const limit = this.hello?.limits.inflightRequestsMax ?? 0;
    return this.socket?.readyState === OPEN && this.hello !== undefined && this.sent.size < limit && this.waiting.length === 0;
  }

  /** Send, unless the request alone is past the server's frame bound (it would close the connection). */
  private sendChecked(request: Request): void {
    const limit = this.hello?.limits.requestBytesMax ?? Infinity;
    if (request.bytesMax + 2 > limit && utf8Length(request.text) + 2 > limit) {
      request.settle(errorOf('too_large', `the request is ${utf8Length(request.text)} bytes; the server takes frames of at most ${limit}`, { limit: 'requestBytesMax' }));
      return;
    }
    this.send(request);
  }

  private send(request: Request): void {
    this.sent.set(request.id, request);
    this.outbox.push(request.text);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    afterThisTurn(() => this.flush());
  }

  private wait(request: Request): void {
    if (this.socket?.readyState !== OPEN || !this.hello) this.armTimeout(request);
    this.waiting.push(request);
  }

  /** A request waiting for a connection fails `unavailable` if none comes in time. */
  private armTimeout(request: Request): void {
    if (request.timer) return;
    const timeout = this.options.connectTimeoutMs ?? 10_000;
    request.timer = setTimeout(() => {
      this.waiting = this.waiting.filter((r) => r !== request);
      request.settle(errorOf('unavailable', `no connection to ${this.url} within ${timeout} ms`));
    }, timeout);
  }

  /** Send the outbox as frames within the server's size bound (sizes counted conservatively). */
  private flush(): void {
    this.flushScheduled = false;
    const outbox = this.outbox;
    this.outbox = [];
    const limit = this.hello?.limits.requestBytesMax ?? Infinity;
    let start = 0;
    let bytes = 2;
    for (let i = 0; i < outbox.length; i++) {
      const size = (outbox[i] as string).length * 3 + 1;
      if (i > start && bytes + size > limit) {
        this.sendFrame(outbox, start, i);
        start = i;
        bytes = 2;
      }
      bytes += size;
    }
    if (start < outbox.length) this.sendFrame(outbox, start, outbox.length);
  }

  private sendFrame(texts: readonly string[], from: number, to: number): void {
    this.socket?.send(to - from === 1 ? (texts[from] as string) : `[${texts.slice(from, to).join(',')}]`);
  }

  /** Move waiting requests onto the wire while the server's in-flight bound allows. */
  private pump(): void {
    const limit = this.hello?.limits.inflightRequestsMax ?? 0;
    let moved = 0;
    while (moved < this.waiting.length && this.sent.size < limit) {
      const request = this.waiting[moved++] as Request;
      if (request.timer) clearTimeout(request.timer);
      this.sendChecked(request);
    }
    if (moved > 0) this.waiting = this.waiting.slice(moved);
  }

  private async dial(): Promise<void> {
    if (this.urls.length > 1 && (await this.unhealthy())) {
      this.onDown('the server is up but unhealthy (/healthz answers 503)');
      return;
    }
    let socket: WebSocketLike;
    try {
      socket = await openWebSocket(this.url, [...SUBPROTOCOLS], this.options.ca === undefined ? {} : { ca: this.options.ca });
    } catch (err) {
      this.onDown(`cannot open a WebSocket: ${(err as Error).message}`);
      return;
    }
    this.socket = socket;
    const token = this.options.token;
    // First frame on every (re)connection: browsers cannot set headers on a WebSocket, so the token goes here.
    if (token !== undefined) socket.onopen = () => socket.send(stringifyJson({ type: 'hello', token }));
    socket.onmessage = (event) => this.onFrame(String(event.data));
    socket.onclose = (event) => {
      if (this.socket === socket) this.onDown(`connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
    };
    socket.onerror = () => {}; // a close event always follows, and carries what we act on
  }

  private onFrame(text: string): void {
    let frame: unknown;
    try {
      frame = parseJson(text);
    } catch {
      this.socket?.close(1007, 'unparsable frame');
      return;
    }
    if (Array.isArray(frame)) {
      for (const reply of frame) this.onReply(reply as ReplyBody & { id: number });
    } else if ((frame as { type?: string }).type === 'hello') {
      // With a token, the connection takes requests once the server has also accepted it.
      if (this.options.token === undefined) this.onHello(frame as HelloFrame);
      else this.unconfirmedHello = frame as HelloFrame;
    } else if ((frame as { type?: string }).type === 'auth' && this.unconfirmedHello) {
      this.onHello(this.unconfirmedHello);
      this.unconfirmedHello = undefined;
    } else if ((frame as { type?: string }).type === 'changes' || (frame as { type?: string }).type === 'watch_end') {
      this.streamListener?.frame(frame as Readonly<Record<string, unknown>>);
    } else if ((frame as { type?: string }).type === 'error') {
      this.lastServerError = errorFromWire((frame as { error: unknown }).error);
    } else {
      this.onReply(frame as ReplyBody & { id: number });
    }
    this.pump();
  }

  /**
   * Whether the server in use answers `/healthz` with 503. Only that counts: a server that cannot be
   * reached fails its WebSocket on its own, and one whose check times out is given the benefit.
   */
  private async unhealthy(): Promise<boolean> {
    try {
      const response = await httpRequest(this.httpTarget, '/healthz', { method: 'GET', headers: new Headers(), signal: AbortSignal.timeout(HEALTH_CHECK_TIMEOUT_MS) });
      await response.body?.cancel();
      return response.status === 503;
    } catch {
      return false;
    }
  }

  /** Given several servers, check the one in use now and then; an unhealthy one is closed, and the client fails over. */
  private watchHealth(socket: WebSocketLike): void {
    const interval = this.options.healthCheckIntervalMs ?? 5_000;
    if (this.urls.length < 2 || interval === 0) return;
    const timer = setInterval(() => {
      if (this.socket !== socket) return clearInterval(timer);
      void this.unhealthy().then((sick) => {
        if (sick && this.socket === socket) socket.close(4000, 'the server is unhealthy (/healthz 503)');
      });
    }, interval);
    (timer as { unref?: () => void }).unref?.();
  }

  private onHello(hello: HelloFrame): void {
    this.hello = hello;
    this.attempts = 0;
    if (this.socket) this.watchHealth(this.socket);
    // Connected: requests waiting for a slot are no longer waiting for a connection.
    for (const request of this.waiting) {
      if (request.timer) clearTimeout(request.timer);
      request.timer = undefined;
    }
    if (this.opened) {
      clearTimeout(this.opened.timer);
      this.opened.resolve();
      this.opened = undefined;
    }
    this.streamListener?.connected();
  }

  private onReply(reply: ReplyBody & { id: number }): void {
    const request = this.sent.get(reply.id);
    if (!request) return;
    this.sent.delete(reply.id);
    request.settle(null, reply);
  }

  private onDown(reason: string): void {
    this.socket = undefined;
    this.hello = undefined;
    this.unconfirmedHello = undefined;
    const detail = this.lastServerError ? `${reason}; the server said: ${this.lastServerError.message}` : reason;
    const refusal = this.lastServerError?.code === 'unauthenticated' || this.lastServerError?.code === 'rate_limited' ? this.lastServerError : undefined;
    this.lastServerError = undefined;
    for (const request of this.sent.values()) {
      request.settle(request.isWrite
        ? errorOf('outcome_unknown', `the connection dropped after the write was sent; it may or may not have been applied (${detail})`)
        : errorOf('unavailable', `the connection dropped before the reply (${detail})`));
    }
    this.sent.clear();
    this.outbox = [];
    if (this.opened && this.openTries < this.urls.length) {
      this.openTries++;
      this.current = (this.current + 1) % this.urls.length; // the first open tries every server once
      void this.dial();
      return;
    }
    if (this.opened) {
      clearTimeout(this.opened.timer);
      const which = this.urls.length === 1 ? this.url : `any of ${this.urls.join(', ')}`;
      // A refused token is the caller's to fix, not a network fault: it keeps its code.
      this.opened.reject(refusal ?? errorOf('unavailable', `cannot connect to ${which}: ${detail}`));
      this.opened = undefined;
      this.closedByUser = true;
      return;
    }
    const final = this.closedByUser || this.options.reconnect === false;
    this.streamListener?.disconnected(errorOf('unavailable', `the connection dropped (${detail})`), final);
    if (final) {
      for (const request of this.waiting.splice(0)) this.settleWaiting(request, errorOf('unavailable', detail));
      return;
    }
    for (const request of this.waiting) this.armTimeout(request);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const base = this.options.reconnectDelayMs ?? 50;
    const max = this.options.reconnectDelayMaxMs ?? 5_000;
    // Another server next: the one in use just went away, or could not be reached. Each other
    // server is tried at once; once all have failed in turn, the attempts back off.
    this.current = (this.current + 1) % this.urls.length;
    const others = this.urls.length - 1;
    const delay = this.attempts < others ? 0 : Math.min(max, base * 2 ** (this.attempts - others)) * (0.5 + Math.random() / 2);
    this.attempts++;
    const timer = setTimeout(() => void this.dial(), delay);
    (timer as { unref?: () => void }).unref?.();
  }

  private settleWaiting(request: Request, error: SpacekvError): void {
    if (request.timer) clearTimeout(request.timer);
    request.settle(error);
  }
}

/** `http://host:port` (or ws://) → `ws://host:port/v1/ws`. */
export function toWebSocketUrl(base: string): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = WS_PATH;
  return url.toString();
}
