/**
 * Maps everything that can go wrong in a request to the catalogue's JSON error body and HTTP
 * status: our own SpacekvErrors, and fastify's errors for bodies it refuses before our code runs.
 */
import { type IncomingMessage, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply } from 'fastify';
import { type ErrorCode, SpacekvError, errorJson, httpStatusOf } from '@spacekv/core';
import { SCHEMA_MEDIA_TYPE } from './space-routes.js';
import { pathOf } from '../url-path.js';

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'bad_request',
  // A path parameter past the router's bound: only a key can be that long.
  FST_ERR_MAX_PARAM_LENGTH: 'too_large',
};

/**
 * What every refused body type is told, whatever it was: `curl -d` without a header sends
 * application/x-www-form-urlencoded, the most common first mistake, and deserves the fix in the answer.
 */
const TAKES_JSON = "this endpoint takes application/json (curl: -H 'content-type: application/json')";
/** POST /v1/spaces also takes the schema as DSL text, so its refusal names both types. */
const TAKES_SCHEMA = `POST /v1/spaces takes application/json or DSL text as ${SCHEMA_MEDIA_TYPE} (curl: -H 'content-type: application/json' or -H 'content-type: ${SCHEMA_MEDIA_TYPE}')`;

/** The parts of a request a refusal of its body type names. */
export interface RefusedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Why a body type was refused, naming the type that was sent (fastify's own message says only
 * "Unsupported Media Type"), and what the route takes instead.
 */
function refusedMediaType(request: RefusedRequest | undefined): string {
  const takes = request?.method === 'POST' && pathOf(request.url) === '/v1/spaces' ? TAKES_SCHEMA : TAKES_JSON;
  const sent = request?.headers['content-type'];
  const got = typeof sent === 'string' && sent.trim() !== '' ? `got content-type ${JSON.stringify(sent.slice(0, 100))}` : 'got no content-type';
  return `${takes}; ${request ? got : 'got another type'}`;
}

/** Our error for anything thrown while serving `request` (given when known, to name what it sent). */
export function toSpacekvError(err: unknown, request?: RefusedRequest): SpacekvError {
  if (err instanceof SpacekvError) return err;
  const fastifyError = err as Partial<FastifyError>;
  const code = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (code === 'unsupported_media_type') return new SpacekvError(code, refusedMediaType(request));
  if (code === 'too_large' && fastifyError.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new SpacekvError(code, 'the key in the path is past the key size limit', { limit: 'keyBytesMax' });
  }
  if (code) return new SpacekvError(code, fastifyError.message ?? code);
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new SpacekvError('bad_request', fastifyError.message ?? 'bad request');
  }
  return new SpacekvError('internal', `internal error: ${(err as Error)?.message ?? String(err)}`);
}

/**
 * The content type of every JSON reply, charset included: given without one, fastify parses the
 * type and builds this string again on every reply.
 */
export const JSON_TYPE = 'application/json; charset=utf-8';

export function sendError(reply: FastifyReply, err: unknown, request?: RefusedRequest): void {
  const error = toSpacekvError(err, request);
  reply.code(httpStatusOf(error.code)).type(JSON_TYPE).send(`{"ok":false,"error":${errorJson(error.toWire())}}`);
}

/**
 * Sockets receiving a streamed body (a large-value upload), which requestReceiveMs does not bound:
 * a 4 GiB value may take minutes. A stalled or trickling one is cut by the minimum-progress rule
 * (largeUploadProgressBytesMin per largeUploadProgressWindowMs, large/progress.ts).
 */
export const STREAMED_BODIES = new WeakSet<Duplex>();

/**
 * A request Node's HTTP parser cannot read (a broken request line, bad headers or chunking, headers
 * past its bound), or one not received within requestHeadersMs / requestReceiveMs, gets the catalogue's error body like any other bad input, then the connection
 * closes: after a parse error nothing more on it can be trusted. (Fastify's default answers a
 * non-catalogue body; the fuzzer found it.)
 */
export function refuseMalformedHttp(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A large value's body may take longer than requestReceiveMs; while its bytes keep coming the
  // socket's idle timeout (connectionIdleMs) is its bound instead. Node reports each request once.
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && STREAMED_BODIES.has(socket)) return;
  const error = err.code === 'HPE_HEADER_OVERFLOW' ? new SpacekvError('too_large', 'the request headers are past the HTTP parser\'s bound')
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new SpacekvError('request_timeout', 'the request was not received in time (its headers within requestHeadersMs, all of it within requestReceiveMs)')
      : new SpacekvError('bad_request', `malformed HTTP request (${err.code ?? err.message})`);
  const status = httpStatusOf(error.code);
  const body = `{"ok":false,"error":${errorJson(error.toWire())}}`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${JSON_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * A request whose `Expect` is not `100-continue` (Node answers that one itself): 417 with the
 * catalogue's body instead of Node's empty one, and the connection closes, since the body the
 * client holds back would otherwise be read as the next request.
 */
export function refuseExpectation(request: IncomingMessage, response: ServerResponse): void {
  const error = new SpacekvError('expectation_failed', `the server meets no expectation but 100-continue; got Expect: ${String(request.headers.expect).slice(0, 100)}`);
  const body = `{"ok":false,"error":${errorJson(error.toWire())}}`;
  response.writeHead(httpStatusOf(error.code), { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), connection: 'close' });
  response.end(body);
}

/** The parsed JSON body of a request; DSL text (application/x-spacekv-schema) is for POST /v1/spaces only. */
export function jsonBody(body: unknown): unknown {
  if (typeof body === 'string') throw new SpacekvError('unsupported_media_type', `${TAKES_JSON}; got DSL text (application/x-spacekv-schema), which only POST /v1/spaces takes`);
  return body;
}
