/**
 * The WebSocket front at /v1/ws (docs/protocol.md), on the `ws` library, sharing the HTTP server's
 * port. Every bound comes from the limits module: frame size (`maxPayload`, whose default in `ws`
 * is 100 MiB; past it `ws` closes with 1009), in-flight requests and unread replies per connection
 * (the cap on connections covers the whole port: connection-cap.ts). A heartbeat ping finds dead
 * peers so their sessions do not linger.
 */
import { type IncomingMessage, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE_CODES, type HelloFrame, PROTOCOL_VERSION, SUBPROTOCOLS, type SpacekvError, WS_PATH, errorJson } from '@spacekv/core';
import type { Authenticator } from '../../auth/authenticator.js';
import type { BrowserGuard } from '../browser-guard.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { Engine } from '../../engine/engine.js';
import type { ChangeFeed } from '../../events/change-feed.js';
import type { Metrics } from '../../metrics.js';
import type { OutputBudget } from '../output-budget.js';
import { WsConnection } from './connection.js';
import { pathOf } from '../url-path.js';

export interface WsFrontOptions {
  readonly engine: Engine;
  readonly feed: ChangeFeed;
  readonly metrics: Metrics;
  readonly output: OutputBudget;
  readonly serverVersion: string;
  readonly heartbeatIntervalMs: number;
  /** Host and Origin checks on every upgrade. */
  readonly guard: BrowserGuard;
  /** Absent: requests need no token. Present: each connection's first frame must be a hello with one. */
  readonly auth?: Authenticator | undefined;
  /** Absent: no rate limit. */
  readonly limiter?: RateLimiter | undefined;
}

export class WsFront {
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<WebSocket, WsConnection>();
  private readonly heartbeat: NodeJS.Timeout;
  private accepting = true;

  constructor(server: Server, private readonly options: WsFrontOptions) {
    const { limits } = options.engine;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.requestBytesMax,
      perMessageDeflate: false, // compression costs more CPU than loopback/LAN bandwidth saves
      handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stop accepting; answer every accepted request; close each connection with 1001. */
  async close(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    await Promise.all([...this.connections.values()].map((c) => c.drain()));
    for (const connection of this.connections.values()) connection.close(CLOSE_CODES.goingAway, 'server shutting down');
    this.wss.close();
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = pathOf(request.url ?? '');
    if (path !== WS_PATH) return refuse(socket, 404, 'no_route', `no WebSocket endpoint at ${path}; use ${WS_PATH}`);
    if (!this.accepting) return refuse(socket, 503, 'shutting_down', 'the server is shutting down');
    try {
      // A page on any site may open a WebSocket to localhost; its browser always says where it comes from.
      this.options.guard.checkHost(request.headers.host);
      this.options.guard.checkOrigin(request.headers.origin, request.headers.host);
    } catch (err) {
      const error = err as SpacekvError;
      return refuse(socket, error.status, error.code as RefusalCode, error.message);
    }
    const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!SUBPROTOCOLS.some((p) => offered.includes(p))) {
      return refuse(socket, 400, 'bad_request', `offer a supported subprotocol in Sec-WebSocket-Protocol: ${SUBPROTOCOLS.join(', ')}`);
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, request.socket.remoteAddress ?? ''));
  }

  private onConnection(ws: WebSocket, address: string): void {
    const { engine, metrics, serverVersion, auth, limiter } = this.options;
    this.connections.set(ws, new WsConnection(ws, engine, this.options.feed, metrics, this.options.output, { address, authenticator: auth, limiter }));
    ws.on('close', () => this.connections.delete(ws));
    // `ws` has already begun the close its error calls for (1009 for a frame past maxPayload, 1002,
    // 1007) and ends a socket that failed; terminating here would cut the close frame off (the peer
    // would see 1006 where docs/protocol.md promises 1009).
    ws.on('error', () => {});
    const hello: HelloFrame = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      server: serverVersion,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      limits: { inflightRequestsMax: engine.limits.inflightRequestsMax, requestBytesMax: engine.limits.requestBytesMax },
    };
    ws.send(JSON.stringify(hello));
  }

  private beat(): void {
    for (const [ws, connection] of this.connections) {
      if (!connection.checkAlive()) ws.terminate();
    }
  }
}

type RefusalCode = 'no_route' | 'shutting_down' | 'bad_request' | 'forbidden_host' | 'forbidden_origin';

function refuse(socket: Duplex, status: number, code: RefusalCode, message: string): void {
  const body = `{"ok":false,"error":${errorJson({ code, message })}}`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
