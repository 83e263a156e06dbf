/**
 * The client's HTTP requests (large values, health checks) to a server whose certificate its `ca`
 * vouches for, on Node: fetch takes no CA, so these go through node:https with it. Both ways
 * stream: the body is piped with backpressure, the response is handed on as a web stream, so a
 * 2 GiB value is never held whole. Mapped away for browsers (package.json "browser"), which trust
 * their own store and cannot be given a CA.
 */
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable, pipeline } from 'node:stream';
import type { HttpRequest, HttpTarget } from './http-request.js';

/** A request of http-request.ts, with the certificate authority to trust. */
export type CaRequest = HttpRequest & { readonly ca: NonNullable<HttpTarget['ca']> };

/** Statuses whose Response must have no body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function headersOf(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
  }
  return headers;
}

/** fetch's answer to `url` (a Response), over https trusting `ca`; rejects as fetch does when no answer comes. */
export function requestWithCa(url: string, init: CaRequest): Promise<Response> {
  return new Promise((resolve, reject) => {
    const ca = typeof init.ca === 'string' ? init.ca : Buffer.from(init.ca);
    const request = https.request(url, { method: init.method, headers: Object.fromEntries(init.headers), ca, ...(init.signal ? { signal: init.signal } : {}) }, (response) => {
      const status = response.statusCode ?? 500;
      const body = NULL_BODY_STATUSES.has(status) ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array>);
      resolve(new Response(body, { status, headers: headersOf(response) }));
    });
    request.on('error', reject);
    if (init.body === undefined) request.end();
    else if (init.body instanceof Uint8Array) request.end(init.body);
    // A failure on either side ends both (the error reaches the caller through `request`'s 'error').
    else pipeline(Readable.fromWeb(init.body as import('node:stream/web').ReadableStream<Uint8Array>), request, () => undefined);
  });
}
