/**
 * One WebSocket client: reads frames of requests, runs each through its own engine session (so
 * effects on one key follow the order sent, docs/architecture.md §4.3), and writes the replies completed in the same
 * turn of the event loop as one frame. Backpressure: when the client has too many requests in
 * flight, or does not read its replies, the server stops reading its socket (TCP pushes back) and
 * runs none of the requests it has read but not run; requests past the in-flight bound, or arriving
 * while the server-wide reply budget is full, are answered `overloaded`. When the connection
 * closes, requests it sent that have not run are dropped.
 *
 * Watch subscriptions (`watch`/`unwatch` requests) live on the connection: each sends `changes`
 * frames after its reply, and pauses while the client leaves more than `sendBufferBytesMax`
 * unread, resuming from its seq (from the log if need be) once the socket drains.
 *
 * When the server requires tokens, the client's first frame is its hello, `{"type":"hello",
 * "token":"..."}` (browsers cannot set headers on a WebSocket). The token is verified once; each
 * request then costs a scope check and a look at the revoked flag and expiry, and a watch ends
 * (`watch_end`, `unauthenticated`) at its next event once its token is revoked or expires.
 */
import type { WebSocket } from 'ws';
import {
  CLOSE_CODES, type ErrorCode, type Limits, needsOfWatch, OPERATION_NAMES, type Result, type SpaceLookup, SpacekvError, type WireError, encodeResult, errorJson, isFields,
  isRequestId, parseJson, parseOperation, parseWatch,
} from '@spacekv/core';
import { type Access, type Authenticator, accessRefusal, authorize, authorizeOperation, rateClient } from '../../auth/authenticator.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { Engine } from '../../engine/engine.js';
import type { ChangeFeed } from '../../events/change-feed.js';
import type { Subscription, WatchSink } from '../../events/subscription.js';
import type { Session } from '../../engine/session.js';
import type { Metrics } from '../../metrics.js';
import type { OutputBudget, OutputMeter } from '../output-budget.js';

type Item = Readonly<Record<string, unknown>>;

/** Who the client is and what guards the connection: its address (failures and rates are counted per address), the authenticator, the rate limiter. */
export interface ConnectionGuards {
  readonly address: string;
  /** Absent: the server requires no token. */
  readonly authenticator?: Authenticator | undefined;
  /** Absent: no rate limit. */
  readonly limiter?: RateLimiter | undefined;
}

const SHUTTING_DOWN: WireError = { code: 'shutting_down', message: 'the server is shutting down; nothing was applied' };

/** Replies per frame at most, and the bytes past which a frame leaves at once; see reply(). */
const REPLY_CHUNK = 256;
const REPLY_CHUNK_CHARS = 64 * 1024;

export class WsConnection {
  private readonly session: Session;
  private readonly limits: Limits;
  private readonly lookup: SpaceLookup;
  private replies: string[] = [];
  /** Characters of `replies` (a bound, not an exact byte count). */
  private repliesChars = 0;
  /** Reply bytes handed to `ws` and not yet written to the socket. */
  private readonly output: OutputMeter;
  /** Paused watches wait for the server-wide budget (registered once). */
  private waitingForRoom = false;
  private flushScheduled = false;
  private paused = false;
  private alive = true;
  private idleWaiters: (() => void)[] = [];
  /** Set by drain/close: no new request is accepted. */
  private draining = false;
  /** Requests read but not yet run (see processBacklog). */
  private backlog: Item[] = [];
  private backlogHead = 0;
  private readonly watches = new Map<number, Subscription>();
  private readonly pausedWatches = new Set<Subscription>();
  private nextWatchId = 1;
  /** Watch requests whose subscription is being made (counted against subscriptionsMax). */
  private watchesStarting = 0;

  /** What the client's token grants: null when the server requires none; undefined until its hello. */
  private access: Access | null | undefined;

  constructor(
    private readonly ws: WebSocket, private readonly engine: Engine, private readonly feed: ChangeFeed, private readonly metrics: Metrics,
    private readonly budget: OutputBudget, private readonly guards: ConnectionGuards,
  ) {
    this.access = guards.authenticator ? undefined : null;
    this.session = engine.session();
    this.limits = engine.limits;
    this.lookup = (name) => engine.space(name);
    this.output = budget.meter(this.limits.sendBufferBytesMax);
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on('close', () => {
      for (const subscription of this.watches.values()) subscription.cancel();
      this.watches.clear();
      this.pausedWatches.clear();
      // Work the peer queued and will never see answered is dropped, not done.
      this.backlog = [];
      this.backlogHead = 0;
      this.replies = [];
      this.repliesChars = 0;
      this.output.close();
      this.applyBackpressure();
    });
    ws.on('pong', () => {
      this.alive = true;
    });
  }

  /** Called by the heartbeat: false when the client did not answer the last ping. */
  checkAlive(): boolean {
    const wasAlive = this.alive;
    this.alive = false;
    if (wasAlive) this.ws.ping();
    return wasAlive;
  }

  /** Take no more requests; resolves once every accepted request is answered and flushed. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Close the connection. Reading resumes first: the peer's closing handshake must be read, or the
   * socket lingers until `ws`'s close timer (30 s) ends it.
   */
  close(code: number, reason: string): void {
    this.draining = true;
    this.ws.resume();
    this.ws.close(code, reason);
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.closeWith(CLOSE_CODES.unsupportedData, 'bad_request', 'frames are JSON text; binary frames are not part of protocol v1');
    let parsed: unknown;
    try {
      parsed = parseJson(data.toString('utf8'));
    } catch (err) {
      return this.closeWith(CLOSE_CODES.invalidPayload, 'bad_request', (err as Error).message);
    }
    if (isFields(parsed) && parsed.type === 'hello') return this.onHello(parsed);
    const items = Array.isArray(parsed) ? parsed : [parsed];
    if (!items.every((item) => typeof item === 'object' && item !== null && isRequestId((item as Item).id))) {
      return this.closeWith(CLOSE_CODES.policyViolation, 'bad_request', 'every request needs an "id": a non-negative integer');
    }
    if (this.backlogHead === this.backlog.length) this.backlog = items as Item[];
    else this.backlog.push(...(items as Item[]));
    this.processBacklog();
  }

  /**
   * The client's hello: its token, verified once for the connection, answered `{"type":"auth",
   * "ok":true}` (a server that requires no token answers so too) or an error frame and a close.
   */
  private onHello(hello: Item): void {
    const { authenticator, address } = this.guards;
    if (authenticator) {
      try {
        if (this.access) throw new SpacekvError('bad_request', 'a connection says hello once');
        this.access = authenticator.authenticate(typeof hello.token === 'string' ? hello.token : undefined, address);
      } catch (err) {
        const error = err as SpacekvError;
        return this.closeWith(CLOSE_CODES.policyViolation, error.code, error.message);
      }
    }
    this.ws.send('{"type":"auth","ok":true}');
  }

  /**
   * Run the requests read so far, in order, while the client keeps up with its replies. A frame can
   * hold thousands of requests; past `sendBufferBytesMax` of unsent replies the rest wait (and the
   * socket is not read) until the replies drain, so one frame cannot queue replies without limit.
   */
  private processBacklog(): void {
    while (this.backlogHead < this.backlog.length) {
      if (this.ws.readyState !== this.ws.OPEN) {
        // A closing connection's unrun requests are dropped, and reading goes on: the peer's closing
        // handshake must be read, or the socket lingers until `ws`'s close timer ends it.
        this.backlog = [];
        this.backlogHead = 0;
        break;
      }
      if (this.output.full) break;
      const item = this.backlog[this.backlogHead++] as Item;
      const id = item.id as number;
      if (this.draining) this.refuse(id, SHUTTING_DOWN);
      else this.handle(item, id);
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    }
    this.applyBackpressure();
  }

  private handle(item: Item, id: number): void {
    if (this.access === undefined) {
      return this.refuse(id, { code: 'unauthenticated', message: 'this server requires a token: send {"type":"hello","token":"..."} first' });
    }
    try {
      this.guards.limiter?.take(rateClient(this.access, this.guards.address));
    } catch (err) {
      return this.refuse(id, (err as SpacekvError).toWire());
    }
    if (item.op === 'watch' || item.op === 'unwatch') return this.handleWatch(item, id);
    const startedAt = performance.now();
    // Only known names become metric labels: arbitrary client strings would grow the series without bound.
    const opName = typeof item.op === 'string' && OPERATION_NAMES.includes(item.op) ? item.op : 'invalid';
    let outcome: Result | Promise<Result>;
    try {
      if (this.output.budgetFull) {
        throw new SpacekvError('overloaded', `the server holds ${this.budget.bytes} bytes of replies its clients have not read; retry later`, { limit: 'replyBufferBytesMax' });
      }
      const op = parseOperation(item, this.lookup, this.limits);
      authorizeOperation(this.access, op);
      outcome = this.session.submit(op);
    } catch (err) {
      this.fail(id, opName, err, startedAt);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then((result) => this.succeed(id, opName, result, startedAt), (err: unknown) => this.fail(id, opName, err, startedAt));
    } else {
      this.succeed(id, opName, outcome, startedAt);
    }
  }

  /**
   * `watch` answers `{"ok":true,"watch":<id>,"seq":<start>}` and then sends `changes` frames for
   * that id; `unwatch` (`{"op":"unwatch","watch":<id>}`) ends one and answers `{"ok":true}`.
   */
  private handleWatch(item: Item, id: number): void {
    const startedAt = performance.now();
    const op = item.op as string;
    try {
      if (op === 'unwatch') {
        const subscription = this.watches.get(item.watch as number);
        if (!subscription) throw new SpacekvError('bad_request', `no watch ${JSON.stringify(item.watch)} on this connection`);
        subscription.cancel();
        this.forgetWatch(item.watch as number);
        this.metrics.request('ws', op, 'ok', startedAt);
        return this.reply(id, '{"ok":true}');
      }
      if (this.watches.size + this.watchesStarting >= this.limits.subscriptionsMax) {
        throw new SpacekvError('overloaded', `this connection holds ${this.watches.size + this.watchesStarting} watches`, { limit: 'subscriptionsMax' });
      }
      const spec = parseWatch(isFields(item) ? item : {}, this.lookup, this.limits);
      authorize(this.access ?? null, needsOfWatch(spec));
      const watchId = this.nextWatchId++;
      this.watchesStarting++;
      this.feed.subscribe(spec, this.watchSink(watchId)).finally(() => {
        this.watchesStarting--;
      }).then((subscription) => {
        if (this.ws.readyState !== this.ws.OPEN) return subscription.cancel();
        this.watches.set(watchId, subscription);
        this.metrics.request('ws', op, 'ok', startedAt);
        this.reply(id, `{"ok":true,"watch":${watchId},"seq":${subscription.seq}}`);
        this.flush(); // the reply precedes the watch's first changes frame
        subscription.pump();
      }, (err: unknown) => this.fail(id, op, err, startedAt));
    } catch (err) {
      this.fail(id, op, err, startedAt);
    }
  }

  private watchSink(watchId: number): WatchSink {
    return {
      deliver: (events) => {
        const refusal = accessRefusal(this.access ?? null);
        if (refusal) {
          this.watches.get(watchId)?.end(refusal);
          return false;
        }
        this.flush();
        if (this.ws.readyState !== this.ws.OPEN) return false;
        this.send(`{"type":"changes","watch":${watchId},"changes":[${events.join(',')}]}`);
        return this.roomForWatch(watchId);
      },
      ready: () => this.roomForWatch(watchId),
      end: (error) => {
        this.forgetWatch(watchId);
        this.flush();
        if (this.ws.readyState === this.ws.OPEN) this.ws.send(`{"type":"watch_end","watch":${watchId},"error":${errorJson(error)}}`);
      },
    };
  }

  private forgetWatch(watchId: number): void {
    const subscription = this.watches.get(watchId);
    if (subscription) this.pausedWatches.delete(subscription);
    this.watches.delete(watchId);
  }

  /** Answer a request without running it. */
  private refuse(id: number, error: WireError): void {
    this.metrics.request('ws', 'invalid', error.code, performance.now());
    this.reply(id, `{"ok":false,"error":${errorJson(error)}}`);
  }

  private succeed(id: number, opName: string, result: Result, startedAt: number): void {
    this.metrics.request('ws', opName, result.ok ? 'ok' : result.code, startedAt);
    this.queue(encodeResult(result, `{"id":${id},`));
  }

  private fail(id: number, opName: string, err: unknown, startedAt: number): void {
    const error: WireError = err instanceof SpacekvError ? err.toWire() : { code: 'internal', message: `internal error: ${(err as Error).message}` };
    this.metrics.request('ws', opName, error.code, startedAt);
    this.reply(id, `{"ok":false,"error":${errorJson(error)}}`);
  }

  /** Queue a reply (`{"ok":...}` JSON) under its id. */
  private reply(id: number, body: string): void {
    this.queue(`{"id":${id},${body.slice(1)}`);
  }

  /** Queue a reply that carries its id (`{"id":7,"ok":...}`); all replies of one turn leave in one frame. */
  private queue(text: string): void {
    this.replies.push(text);
    this.repliesChars += text.length;
    // A long frame's replies leave in chunks, so the client works on the first while we work on the
    // rest: client and server then use both cores instead of taking turns. Large replies leave at
    // once, so they count against the connection's bound before the next request runs.
    if (this.replies.length >= REPLY_CHUNK || this.repliesChars >= REPLY_CHUNK_CHARS) return this.flush();
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.replies.length === 0) return;
    const frame = `[${this.replies.join(',')}]`;
    this.replies = [];
    this.repliesChars = 0;
    if (this.ws.readyState === this.ws.OPEN) this.send(frame);
    this.applyBackpressure();
  }

  /** Hand a frame to `ws`, counted until it is written to the socket. */
  private send(frame: string): void {
    const written = this.output.hold(frame.length);
    this.ws.send(frame, (err) => {
      written();
      if (!err) this.onSent(); // a failed write: the connection is closing, and its queued work is dropped
    });
  }

  /** Watches may send while this connection and the server-wide budget both have room. */
  private roomForWatches(): boolean {
    return !this.output.full && !this.output.budgetFull;
  }

  /** Whether a watch may send; if not, it waits among the paused ones for room (see onSent). */
  private roomForWatch(watchId: number): boolean {
    if (this.roomForWatches()) return true;
    const subscription = this.watches.get(watchId);
    if (subscription) this.pausedWatches.add(subscription);
    this.awaitBudget();
    return false;
  }

  /** This connection has room but the server-wide budget has not: try the paused watches again once it has. */
  private awaitBudget(): void {
    if (this.output.full || !this.output.budgetFull || this.waitingForRoom) return;
    this.waitingForRoom = true;
    this.budget.whenRoom(() => {
      this.waitingForRoom = false;
      this.onSent();
    });
  }

  /** Replies reached the socket: run waiting requests, or resume reading. */
  private onSent(): void {
    if (this.backlogHead < this.backlog.length) this.processBacklog();
    else this.applyBackpressure();
    if (this.pausedWatches.size === 0) return;
    if (this.roomForWatches()) {
      const paused = [...this.pausedWatches];
      this.pausedWatches.clear();
      for (const subscription of paused) subscription.resume();
    } else {
      this.awaitBudget();
    }
  }

  private idle(): boolean {
    return this.session.inflight === 0 && this.replies.length === 0 && this.backlogHead === this.backlog.length;
  }

  /** Pause reading while the client has too much in flight or leaves its replies unread. */
  private applyBackpressure(): void {
    const busy = this.session.inflight >= this.limits.inflightRequestsMax / 2 || this.output.full ||
      this.backlogHead < this.backlog.length;
    if (busy && !this.paused) {
      this.paused = true;
      this.ws.pause();
    } else if (!busy && this.paused && !this.draining) {
      this.paused = false;
      this.ws.resume();
    }
    if (this.idleWaiters.length > 0 && this.idle()) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private closeWith(code: number, errorCode: ErrorCode, message: string): void {
    const frame = `{"type":"error","error":${errorJson({ code: errorCode, message })}}`;
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(frame);
    this.ws.close(code, message.slice(0, 120));
    this.processBacklog(); // drops what was read but not run
    this.paused = false;
    this.ws.resume(); // the peer's closing handshake must be read
  }
}
