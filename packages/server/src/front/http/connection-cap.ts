/**
 * A cap on open TCP connections, for every front on the port (REST, SSE, WebSocket upgrades):
 * past `connectionsMax` a new connection gets one HTTP 503 `overloaded` reply from the error
 * catalogue and is closed, before Node's HTTP parser is attached to it; so idle sockets can never
 * use up the process's file descriptors and lock out every client. (Node's own `maxConnections`
 * drops them with no reply.)
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { SpacekvError, errorJson } from '@spacekv/core';

export interface ConnectionCap {
  /** Connections open now. */
  readonly open: number;
}

/** Put the cap in front of `server`'s own connection handling. */
export function capConnections(server: Server, connectionsMax: number): ConnectionCap {
  const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const cap = { open: 0 };
  server.on('connection', (socket: Socket) => {
    if (cap.open >= connectionsMax) return refuse(socket, cap.open);
    cap.open++;
    socket.once('close', () => cap.open--);
    for (const handle of handlers) handle.call(server, socket);
  });
  return cap;
}

function refuse(socket: Socket, open: number): void {
  const error = new SpacekvError('overloaded', `the server holds ${open} connections; retry later`, { limit: 'connectionsMax' });
  const body = `{"ok":false,"error":${errorJson(error.toWire())}}`;
  socket.on('error', () => socket.destroy());
  socket.resume(); // whatever the peer sends is discarded
  socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  // A peer that never reads must not keep the refused socket open.
  socket.setTimeout(5_000, () => socket.destroy());
}
