/**
 * Large values from the client (docs/large-values.md): an upload and a download over HTTP, to the
 * server the client's WebSocket is connected to, trusting the client's `ca` (http-request.ts). HTTP
 * rather than frames on the WebSocket: TCP's backpressure paces the body, Range and Content-Length
 * come with it, and a 2 GiB value never holds up the small requests pipelined on the WebSocket.
 */
import type { Key } from '@spacekv/core';
import { errorFromWire, errorOf } from './errors.js';
import { type HttpRequest, type HttpTarget, httpRequest } from './http-request.js';
import type { Written } from './results.js';

/**
 * What this module needs of a WHATWG ReadableStream of bytes, declared here so the client's types
 * stand without DOM's or Node's (a browser project may have neither); a real ReadableStream fits.
 */
export interface ByteStream {
  getReader(): { read(): Promise<{ readonly done: boolean; readonly value?: Uint8Array }>; releaseLock(): void };
}

/** A value to upload: bytes in memory, a web stream, or any async iterable of chunks (a Node stream). */
export type LargeBody = Uint8Array | ByteStream | AsyncIterable<Uint8Array>;

export interface PutLargeOptions {
  /** Commit only if the object is at this version (`CmpFailError` otherwise). */
  readonly ifVersion?: number;
  /** Commit only if the object does not exist (`ExistsError` otherwise). */
  readonly ifAbsent?: boolean;
  /** Seconds until the object expires. */
  readonly expireIn?: number;
}

export interface GetLargeOptions {
  /** The first byte to read (default 0). */
  readonly start?: number;
  /** The last byte to read, inclusive (default: the last of the value). */
  readonly end?: number;
}

export interface LargeValueRead {
  /** The object's version. */
  readonly version: number;
  /** Bytes of the whole value, and of the part `body` holds. */
  readonly size: number;
  readonly length: number;
  /** SHA-256 (hex) of the whole value; absent for an inline bytes value. */
  readonly sha256?: string;
  /** The bytes, as they arrive (a ReadableStream; in Node also an async iterable). */
  readonly body: ByteStream;
}

function pathOf(space: string, key: Key, attribute: string): string {
  return `/v1/spaces/${encodeURIComponent(space)}/objects/${encodeURIComponent(String(key))}/attributes/${encodeURIComponent(attribute)}`;
}

function streamOf(body: LargeBody): Uint8Array | ReadableStream<Uint8Array> {
  if (body instanceof Uint8Array || body instanceof ReadableStream) return body;
  const chunks = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await chunks.return?.();
    },
  });
}

async function failure(response: Response): Promise<Error> {
  const text = await response.text();
  try {
    return errorFromWire((JSON.parse(text) as { error?: unknown }).error);
  } catch {
    return errorOf('internal', `HTTP ${response.status} from the server: ${text.slice(0, 200)}`);
  }
}

async function send(target: HttpTarget, path: string, init: { method: string; headers: Record<string, string>; body?: HttpRequest['body'] }): Promise<Response> {
  const headers = new Headers(init.headers);
  if (target.token !== undefined) headers.set('authorization', `Bearer ${target.token}`);
  try {
    return await httpRequest(target, path, { ...init, headers });
  } catch (err) {
    // A connection lost after the body was sent may have committed: the outcome is unknown.
    throw errorOf('outcome_unknown', `the large-value request to ${target.base} failed: ${(err as Error).message}`);
  }
}

export async function putLarge(target: HttpTarget, space: string, key: Key, attribute: string, body: LargeBody, options: PutLargeOptions = {}): Promise<Written> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (options.ifVersion !== undefined) headers['if-match'] = `"${options.ifVersion}"`;
  if (options.ifAbsent) headers['if-none-match'] = '*';
  const query = options.expireIn === undefined ? '' : `?expire_in=${options.expireIn}`;
  const response = await send(target, `${pathOf(space, key, attribute)}${query}`, { method: 'PUT', headers, body: streamOf(body) });
  if (!response.ok) throw await failure(response);
  const { ok: _ok, ...written } = (await response.json()) as Written & { ok: boolean };
  return written;
}

export async function getLarge(target: HttpTarget, space: string, key: Key, attribute: string, options: GetLargeOptions = {}): Promise<LargeValueRead> {
  const ranged = options.start !== undefined || options.end !== undefined;
  const headers: Record<string, string> = ranged ? { range: `bytes=${options.start ?? 0}-${options.end ?? ''}` } : {};
  const response = await send(target, pathOf(space, key, attribute), { method: 'GET', headers });
  if (!response.ok) throw await failure(response);
  const length = Number(response.headers.get('content-length') ?? 0);
  const whole = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
  const sha256 = response.headers.get('x-spacekv-sha256');
  return {
    version: Number((response.headers.get('etag') ?? '"0"').replace(/"/g, '')),
    size: whole ? Number(whole[1]) : length,
    length,
    ...(sha256 ? { sha256 } : {}),
    body: response.body ?? new ReadableStream({ start: (c) => c.close() }),
  };
}
