/**
 * The client's plain HTTP requests to the server its WebSocket uses (large values, /healthz): with
 * fetch (Node 20+ and browsers), or on Node through node:https when the client was given a `ca`,
 * which fetch cannot take (https-with-ca.ts), so a server behind a private CA is trusted the same
 * way by every request the client makes.
 */

/** Where a client reaches the server its WebSocket uses, how it authenticates there, and whom it trusts. */
export interface HttpTarget {
  readonly base: string;
  readonly token?: string;
  /** The client's `ca` option: the certificate authority that vouches for an https server. */
  readonly ca?: string | Uint8Array;
}

export interface HttpRequest {
  readonly method: string;
  readonly headers: Headers;
  readonly body?: Uint8Array | ReadableStream<Uint8Array>;
  readonly signal?: AbortSignal;
}

/**
 * The request over https trusting the client's `ca`, on Node; undefined where fetch serves: no `ca`,
 * plain http, or a browser (where https-with-ca.js is mapped to an empty module).
 */
async function viaCa(target: HttpTarget, url: string, init: HttpRequest): Promise<Response | undefined> {
  if (target.ca === undefined || !url.startsWith('https:')) return undefined;
  const { requestWithCa } = await import('./https-with-ca.js');
  return requestWithCa?.(url, { ...init, ca: target.ca });
}

/** `path` on the target server; rejects, as fetch does, when no answer comes. */
export async function httpRequest(target: HttpTarget, path: string, init: HttpRequest): Promise<Response> {
  const url = `${target.base}${path}`;
  // duplex 'half': a streamed request body (fetch requires it to be said).
  return (await viaCa(target, url, init)) ?? fetch(url, { ...init, duplex: 'half' } as RequestInit);
}
