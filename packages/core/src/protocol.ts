/**
 * The WebSocket protocol's shared vocabulary (docs/protocol.md): the subprotocol that names the
 * version, the hello frame, and the envelope of requests and replies. Client and server both take
 * these from here so they cannot drift.
 */
import type { WireError } from './errors.js';

export const PROTOCOL_VERSION = 1;
/** Offered by the client in `Sec-WebSocket-Protocol`; the server picks the newest it speaks. */
export const SUBPROTOCOLS = ['spacekv.v1'] as const;
export const WS_PATH = '/v1/ws';

/** First frame the server sends on every connection. */
export interface HelloFrame {
  readonly type: 'hello';
  readonly protocol: number;
  readonly server: string;
  /** The server pings this often; a client that hears nothing for longer may presume it dead. */
  readonly heartbeatIntervalMs: number;
  readonly limits: {
    readonly inflightRequestsMax: number;
    readonly requestBytesMax: number;
  };
}

/** A connection-level error: the frame could not be read, so no request id can be answered. */
export interface ErrorFrame {
  readonly type: 'error';
  readonly error: WireError;
}

/**
 * Changes for one watch subscription (`watch` is the id its `watch` request was answered with),
 * in seq order, whole seqs only, each an event as events.ts encodes it.
 */
export interface ChangesFrame {
  readonly type: 'changes';
  readonly watch: number;
  readonly changes: readonly unknown[];
}

/** The server ended a watch subscription (e.g. `compacted`, `shutting_down`); no frame follows for it. */
export interface WatchEndFrame {
  readonly type: 'watch_end';
  readonly watch: number;
  readonly error: WireError;
}

/** A reply: the request's id with the result (`ok: true, ...`) or the error (`ok: false, error`). */
export type Reply =
  | ({ readonly id: number; readonly ok: true } & Readonly<Record<string, unknown>>)
  | { readonly id: number; readonly ok: false; readonly error: WireError };

/** WebSocket close codes the server uses, with their meaning. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  internal: 1011,
} as const;

/** Request ids are chosen by the client: non-negative safe integers, unique among its in-flight requests. */
export function isRequestId(id: unknown): id is number {
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
}


