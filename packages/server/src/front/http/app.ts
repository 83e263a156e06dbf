/**
 * The REST/JSON front (docs/architecture.md §5), on fastify: chosen for its low per-request overhead among
 * Node frameworks, its schema-free fast path for pre-encoded bodies, and `inject()` for in-process
 * tests. JSON bodies are parsed by core's lossless parser so 64-bit ints arrive exact.
 */
import type { RequestListener, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { SpacekvError, parseJson } from '@spacekv/core';
import type { Engine } from '../../engine/engine.js';
import type { ChangeFeed } from '../../events/change-feed.js';
import type { Metrics } from '../../metrics.js';
import type { OutputBudget } from '../output-budget.js';
import { capConnections } from './connection-cap.js';
import { HttpContext } from './context.js';
import { refuseExpectation, refuseMalformedHttp, sendError, toSpacekvError } from './errors.js';
import { discardRefusedBody, isRefusedBody } from './refused-body.js';
import { RouteMethods } from './method-check.js';
import { registerBackupRoute } from './backup-route.js';
import { registerEventsRoute } from './events-route.js';
import { registerObjectRoutes } from './object-routes.js';
import { registerLargeValueRoutes } from './large-value-routes.js';
import { LargeUploads } from '../../large/uploads.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import type { MaybePromise } from '../../store/store.js';
import { registerOpsRoute } from './ops-route.js';
import { HttpOutputGate, type Proceed } from './output-gate.js';
import { registerSearchRoutes } from './search-routes.js';
import { SCHEMA_MEDIA_TYPE, registerSpaceRoutes } from './space-routes.js';
import { type GateOptions, registerGate } from './gate.js';
import { pathOf } from '../url-path.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerConsoleRoutes } from './console-route.js';
import type { TokenRegistry } from '../../auth/token-registry.js';

/** How often Node looks for requests past requestHeadersMs / requestReceiveMs. */
const HEADERS_CHECK_MS = 1_000;

export interface HttpAppOptions {
  readonly engine: Engine;
  readonly metrics: Metrics;
  readonly feed: ChangeFeed;
  readonly logger: FastifyBaseLogger;
  /** Reports whether the server can serve (the store reachable; /healthz answers 503 otherwise), and how each part is doing. */
  readonly health: () => MaybePromise<Health>;
  /** Reply bytes held for peers across every front (limits `sendBufferBytesMax`, `replyBufferBytesMax`). */
  readonly output: OutputBudget;
  /** Host, Origin and CORS checks, and (when the server requires tokens) authentication. */
  readonly gate: GateOptions;
  /** The token records (absent when the server requires no token). */
  readonly tokens?: TokenRegistry;
  /** The large-value uploads under way, shared with the sweeper, which leaves them be (default: a registry of the app's own). */
  readonly largeUploads?: LargeUploads;
  /** PEM certificate chain and key: HTTPS (and WSS, on the same server) instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface Health {
  readonly ok: boolean;
  readonly detail: string;
  /** Parts that may fail on their own while the server serves (background tasks, the AMQP front). */
  readonly parts?: Readonly<Record<string, unknown>>;
}

export interface HttpApp {
  readonly app: FastifyInstance;
  /** From now on refuse new requests with `shutting_down`; those already admitted finish. */
  stopAccepting(): void;
}

export function buildHttpApp(options: HttpAppOptions): HttpApp {
  const { engine, metrics } = options;
  const { limits } = engine;
  const routes = new RouteMethods();
  let accepting = true;
  // A client must send its headers in time (slow-loris), checked about every second.
  const nodeServerOptions = {
    headersTimeout: Math.min(limits.requestHeadersMs, limits.requestReceiveMs),
    requestTimeout: limits.requestReceiveMs,
    connectionsCheckingInterval: Math.min(HEADERS_CHECK_MS, limits.requestHeadersMs),
    // Node answers a missing Host with an empty 400; we answer it ourselves, with the catalogue's body.
    requireHostHeader: false,
  };
  const app = Fastify({
    // No loggerInstance: given one, fastify adds 'finish' and 'error' listeners (and a closure) to
    // every response to log its completion, which request logging off never writes. Requests still
    // log through the server's logger (childLoggerFactory), so request.log and reply.log are it;
    // what fastify logs outside a request (its "Server listening" line, the URL of which
    // 'spacekv serving' gives) is dropped.
    logController: new LogController({ disableRequestLogging: true }), // per-request lines would dominate the log at load
    // Fastify makes a child logger per request to bind its request id, which costs a pino child (and
    // its JSON bindings) on every request; with request logging off no other line carries that id,
    // so requests log through the server's logger, and the few lines they write name the request.
    childLoggerFactory: () => options.logger,
    bodyLimit: limits.requestBytesMax,
    return503OnClosing: false, // we answer with our own shutting_down error instead
    // Idle between requests, and a socket with no traffic at all (a peer that stopped reading included).
    keepAliveTimeout: limits.connectionIdleMs,
    connectionTimeout: limits.connectionIdleMs,
    requestTimeout: limits.requestReceiveMs,
    http: nodeServerOptions,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: engine.limits.keyBytesMax * 3 + 100 },
    frameworkErrors: (err, request, reply) => sendError(reply, err, request),
    clientErrorHandler: refuseMalformedHttp,
    // With TLS, an https.Server in place of the http.Server: the same request events, and the same
    // 'upgrade' event the WebSocket front listens to, so WSS shares the port.
    ...(options.tls ? { serverFactory: (handler: RequestListener) => createHttpsServer({ ...options.tls, ...nodeServerOptions }, handler) as unknown as HttpServer } : {}),
  });
  app.server.on('checkExpectation', refuseExpectation);

  capConnections(app.server, limits.connectionsMax);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      // An empty body is not JSON: taking it as {} would silently write an object of defaults. A
      // DELETE takes no body, so the content type many clients put on every request is harmless there.
      if ((body as string).length === 0) {
        if (request.method === 'DELETE') return done(null, undefined);
        throw new SpacekvError('bad_request', 'the body is empty, which is not JSON; send {} for an empty object');
      }
      done(null, parseJson(body as string));
    } catch (err) {
      done(err as SpacekvError, undefined);
    }
  });
  // DSL text for POST /v1/spaces; every other route refuses string bodies (see jsonBody). Not
  // text/plain: a page may send that cross-site without a preflight, and so create a space.
  app.addContentTypeParser(SCHEMA_MEDIA_TYPE, { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const ctx = new HttpContext(engine, metrics);
  const outputGate = new HttpOutputGate(options.output, limits.sendBufferBytesMax, limits.inflightRequestsMax);
  registerGate(app, options.gate);
  app.decorateRequest('ticket', null);
  app.decorateRequest('arrivedAt', 0);
  // A request with a body takes its place in order once past the output gate, before its body is
  // read; a bodiless one runs its handler in that same turn, so it takes its place there (ctx.run), which is cheaper.
  const takePlace: Proceed = (request, reply, done) => {
    if (request.method === 'PUT' || request.method === 'PATCH' || request.method === 'POST') {
      try {
        ctx.admit(request);
      } catch (err) {
        return sendError(reply, err);
      }
    }
    done();
  };
  app.addHook('onRoute', (route) => routes.add(route.url, route.method));
  app.addHook('onRequest', (request, reply, done) => {
    if (!accepting) {
      reply.header('connection', 'close');
      return sendError(reply, new SpacekvError('shutting_down', 'the server is shutting down'));
    }
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      reply.header('connection', 'close');
      return sendError(reply, new SpacekvError('bad_request', 'an HTTP/1.1 request must carry a Host header'));
    }
    outputGate.admit(request, reply, takePlace, done);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    outputGate.count(request, reply, payload);
    done(null, payload);
  });

  app.setErrorHandler((err, request, reply) => {
    const error = toSpacekvError(err, request);
    if (error.code === 'internal') request.log.error({ err, method: request.method, url: request.url }, 'request failed');
    if (!request.ticket?.used) ctx.countInvalid(request, error.code); // failures of run operations are counted by run
    ctx.release(request);
    if (isRefusedBody(err)) {
      void discardRefusedBody(request.raw, engine.limits).then(() => sendError(reply, error));
      return;
    }
    sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) => {
    ctx.release(request);
    const path = pathOf(request.url);
    const allowed = routes.allowed(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(reply, new SpacekvError('method_not_allowed', `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`));
    }
    sendError(reply, new SpacekvError('no_route', `no endpoint ${request.method} ${path}`));
  });

  registerSpaceRoutes(app, ctx);
  registerObjectRoutes(app, ctx);
  registerLargeValueRoutes(app, ctx, options.largeUploads ?? new LargeUploads(limits));
  registerOpsRoute(app, ctx);
  registerEventsRoute(app, ctx, options.feed, options.output);
  registerSearchRoutes(app, ctx);
  registerTokenRoutes(app, ctx, options.tokens);
  registerBackupRoute(app, ctx);
  registerConsoleRoutes(app, options.logger);

  app.get('/healthz', async (request, reply) => {
    const health = await options.health();
    const status = health.ok ? 'ok' : 'unavailable';
    // Liveness is public; what the server runs on and how its parts do is for token holders.
    if (options.gate.auth && !request.access) return reply.code(health.ok ? 200 : 503).send({ status });
    reply.code(health.ok ? 200 : 503).send({ status, detail: health.detail, ...(health.parts ? { parts: health.parts } : {}) });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/v1/openapi.json', async (_request, reply) => {
    reply.send(OPENAPI_DOCUMENT);
  });
  return { app, stopAccepting: () => { accepting = false; } };
}
