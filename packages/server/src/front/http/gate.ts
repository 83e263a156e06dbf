/**
 * The first thing every REST and SSE request meets (an onRequest hook, before it takes a place in
 * its connection's order): the browser checks (Host, Origin, CORS preflights) and, when the server
 * requires tokens, authentication. Authorization of the operation itself happens where the
 * operation is known (HttpContext.run, the events route).
 *
 * Public without a token: `/healthz` (liveness only: status, no detail), the OpenAPI document and
 * the console's page and assets (they hold no data: the console logs in with a token over the
 * WebSocket); `/metrics` too with `--public-metrics`.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SpacekvError } from '@spacekv/core';
import { type Access, type Authenticator, accessRefusal, authorize, rateClient } from '../../auth/authenticator.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { BrowserGuard } from '../browser-guard.js';
import { sendError } from './errors.js';
import { pathOf } from '../url-path.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request's token grants; null when the server requires none (or on a public endpoint without one). */
    access: Access | null;
  }
}

export interface GateOptions {
  readonly guard: BrowserGuard;
  /** Absent: the server requires no token. */
  readonly auth?: Authenticator;
  readonly metricsPublic: boolean;
  /** Absent: no rate limit. */
  readonly limiter?: RateLimiter;
}

/**
 * The endpoints that answer without a token. Compared, not looked up in a set: every request asks,
 * and a set hashes the whole path (a few hundred instructions for an object's path) where a
 * comparison stops at the first differing length.
 */
function isPublicPath(path: string): boolean {
  return path === '/healthz' || path === '/v1/openapi.json';
}

/** The console's page and its assets. */
function isConsolePath(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}

const BEARER = /^Bearer\s+/i;

/** The bearer token of a request: the Authorization header, or (EventSource cannot set headers) `?token=` on the events stream. */
function tokenOf(request: FastifyRequest, path: string): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const scheme = BEARER.exec(header);
    return scheme === null ? '' : header.slice(scheme[0].length).trim();
  }
  if (path === '/v1/events') return (request.query as Record<string, string | undefined>).token;
  return undefined;
}

/**
 * The Authorization header each connection sent last, and what it granted. A keep-alive client
 * sends the same header on every request; comparing it with the last one costs less than reading
 * the token out of it and hashing it (a few hundred characters) for the authenticator's cache.
 * Only a header that verified is kept, a revoked Access is never reused, and every operation still
 * checks revocation, expiry and scope (authorize).
 */
class ConnectionAccess {
  private readonly last = new WeakMap<Socket, { readonly header: string; readonly access: Access }>();

  constructor(private readonly auth: Authenticator) {}

  /** What the request's token grants (Authenticator.authenticate, which throws for no or a bad token). */
  of(request: FastifyRequest, path: string): Access {
    const header = request.headers.authorization;
    const socket = request.raw.socket;
    const last = header === undefined ? undefined : this.last.get(socket);
    if (last !== undefined && last.header === header && !last.access.revoked) return last.access;
    const access = this.auth.authenticate(tokenOf(request, path), request.ip);
    if (header !== undefined) this.last.set(socket, { header, access });
    return access;
  }
}

/** A refusal; a 401 says how to authenticate (RFC 6750), and whether the token given was the problem. */
function refuse(reply: FastifyReply, err: unknown, token: string | undefined): void {
  if (err instanceof SpacekvError && err.code === 'unauthenticated') {
    reply.header('www-authenticate', token === undefined ? 'Bearer realm="spacekv"' : 'Bearer realm="spacekv", error="invalid_token"');
  }
  sendError(reply, err);
}

export function registerGate(app: FastifyInstance, options: GateOptions): void {
  const { guard } = options;
  const connections = options.auth ? new ConnectionAccess(options.auth) : undefined;
  app.decorateRequest('access', null);
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    try {
      guard.checkHost(request.headers.host);
      guard.checkOrigin(origin, request.headers.host);
    } catch (err) {
      return sendError(reply, err);
    }
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    const cors = guard.corsHeaders(origin, preflight);
    if (cors) reply.headers(cors);
    if (preflight) {
      if (cors) return reply.code(204).send();
      // Same-origin pages never preflight: this is no browser of an allowed origin.
      return sendError(reply, new SpacekvError('forbidden_origin', 'a CORS preflight needs an Origin listed in --cors-origin'));
    }
    const path = pathOf(request.url);
    if (!connections) return limit(request, reply, done, path);
    if (isPublicPath(path) || isConsolePath(path) || (path === '/metrics' && options.metricsPublic)) {
      // A valid token on a public endpoint still counts (/healthz then shows its detail).
      if (tokenOf(request, path) !== undefined) {
        try {
          const access = connections.of(request, path);
          // A cached token may have expired (or been revoked) since it was verified: then no detail.
          if (accessRefusal(access) === undefined) request.access = access;
        } catch {
          // public: answered without detail
        }
      }
      return done();
    }
    try {
      request.access = connections.of(request, path);
      if (path === '/metrics') authorize(request.access, [{ right: 'read' }]);
    } catch (err) {
      return refuse(reply, err, tokenOf(request, path));
    }
    limit(request, reply, done, path);
  });

  /** Count the request against its client's rate (public endpoints are not counted), then go on. */
  function limit(request: FastifyRequest, reply: FastifyReply, done: () => void, path: string): void {
    if (options.limiter && !isPublicPath(path)) {
      try {
        options.limiter.take(rateClient(request.access, request.ip));
      } catch (err) {
        return sendError(reply, err);
      }
    }
    done();
  }
}
