/**
 * Small HTTP clients for the REST tests: `call` over the global fetch (undici, keep-alive), and
 * `rawRequest` over node:http with a caller's Agent, for tests that need control of the sockets
 * (a pool of many connections, load against a process that may die mid-request).
 */
import http from 'node:http';
import assert from 'node:assert/strict';

/** The catalogue's error body (docs/errors.md). */
export interface ErrorBody {
  readonly ok: false;
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly version?: number;
    readonly attribute?: string;
    readonly limit?: string;
    readonly position?: { readonly line: number; readonly column: number; readonly offset: number };
  };
}

/** `GET /v1/spaces/:space/objects/:key` */
export interface ObjectBody {
  readonly ok: true;
  readonly key: string | number;
  readonly version: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** A write's answer (PUT, PATCH, DELETE, POST /v1/ops writes). */
export interface WrittenBody {
  readonly ok: true;
  readonly key: string | number;
  readonly version: number;
  readonly created?: boolean;
  readonly attributes?: Readonly<Record<string, unknown>>;
  readonly previous?: { readonly version: number; readonly attributes: Readonly<Record<string, unknown>> } | null;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface CallOptions {
  /** A value to send as JSON, or a string sent as it is. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Content type of a string body; JSON values are always application/json. */
  readonly contentType?: string;
}

const CALL_TIMEOUT_MS = 15_000;

/** One request over fetch; the body is read in full. */
export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (typeof options.body === 'string') {
    body = options.body;
    headers['content-type'] = options.contentType ?? 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export function json<T>(reply: Reply): T {
  try {
    return JSON.parse(reply.text) as T;
  } catch {
    assert.fail(`HTTP ${reply.status}: body is not JSON: ${reply.text.slice(0, 200)}`);
  }
}

/** Assert the reply is the catalogue error `code` with `status`, and return its error member. */
export function expectError(reply: Reply, status: number, code: string): ErrorBody['error'] {
  const context = `HTTP ${reply.status} ${reply.text.slice(0, 300)}`;
  assert.equal(reply.status, status, context);
  const body = json<ErrorBody>(reply);
  assert.equal(body.ok, false, context);
  assert.equal(typeof body.error, 'object', `catalogue error shape: ${context}`);
  assert.equal(body.error.code, code, context);
  assert.equal(typeof body.error.message, 'string', context);
  assert.ok(body.error.message.length > 0, context);
  return body.error;
}

/** Assert a 2xx (exactly `status` when given) and return the parsed body. */
export function expectOk<T>(reply: Reply, status?: number): T {
  const context = `HTTP ${reply.status} ${reply.text.slice(0, 300)}`;
  if (status === undefined) assert.ok(reply.status >= 200 && reply.status < 300, context);
  else assert.equal(reply.status, status, context);
  return json<T>(reply);
}

export function objectPath(space: string, key: string): string {
  return `/v1/spaces/${encodeURIComponent(space)}/objects/${encodeURIComponent(key)}`;
}

export interface RawReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

export interface RawOptions {
  readonly method: string;
  readonly agent: http.Agent;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/**
 * One request over node:http with the given Agent. Rejects on a connection error (reset, refused)
 * and on a timeout, so that a test can tell "answered", "failed at the socket" and "hung" apart.
 */
export function rawRequest(url: string, options: RawOptions): Promise<RawReply> {
  const payload = options.body === undefined ? undefined : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
  const headers: Record<string, string | number> = { ...options.headers };
  if (payload) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = payload.length;
  }
  return new Promise<RawReply>((resolve, reject) => {
    const request = http.request(url, { method: options.method, agent: options.agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
      response.on('aborted', () => reject(new Error('response aborted')));
    });
    request.setTimeout(options.timeoutMs ?? 15_000, () => request.destroy(new TimeoutError(`no answer to ${options.method} ${url}`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** A request that got no answer in time: the one outcome the load tests never accept. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}
