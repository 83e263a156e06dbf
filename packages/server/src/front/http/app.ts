/**
 * The REST/JSON front (DESIGN.md §5), on fastify: chosen for its low per-request overhead among
 * Node frameworks, its schema-free fast path for pre-encoded bodies, and `inject()` for in-process
 * tests. JSON bodies are parsed by core's lossless parser so 64-bit ints arrive exact.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { SpacekvError, parseJson } from '@spacekv/core';
import type { Engine } from '../../engine/engine.js';
import type { ChangeFeed } from '../../events/change-feed.js';
import type { Metrics } from '../../metrics.js';
import { HttpContext } from './context.js';
import { refuseExpectation, refuseMalformedHttp, sendError, toSpacekvError } from './errors.js';
import { RouteMethods } from './method-check.js';
import { registerEventsRoute } from './events-route.js';
import { registerObjectRoutes } from './object-routes.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import type { MaybePromise } from '../../store/store.js';
import { registerOpsRoute } from './ops-route.js';
import { registerSearchRoutes } from './search-routes.js';
import { registerSpaceRoutes } from './space-routes.js';
import { registerConsoleRoutes } from './console-route.js';

export interface HttpAppOptions {
  readonly engine: Engine;
  readonly metrics: Metrics;
  readonly feed: ChangeFeed;
  readonly logger: FastifyBaseLogger;
  /** Reports whether the server can serve (the store reachable; /healthz answers 503 otherwise), and how each part is doing. */
  readonly health: () => MaybePromise<Health>;
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
  const routes = new RouteMethods();
  let accepting = true;
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }), // per-request lines would dominate the log at load
    bodyLimit: engine.limits.requestBytesMax,
    return503OnClosing: false, // we answer with our own shutting_down error instead
    keepAliveTimeout: 72_000,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: engine.limits.keyBytesMax * 3 + 100 },
    frameworkErrors: (err, _request, reply) => sendError(reply, err),
    clientErrorHandler: refuseMalformedHttp,
    // Node answers a missing Host with an empty 400; we answer it ourselves, with the catalogue's body.
    http: { requireHostHeader: false },
  });
  app.server.on('checkExpectation', refuseExpectation);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, (body as string).length === 0 ? undefined : parseJson(body as string));
    } catch (err) {
      done(err as SpacekvError, undefined);
    }
  });
  // DSL text for POST /v1/spaces; every other route refuses string bodies (see jsonBody).
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const ctx = new HttpContext(engine, metrics);
  app.decorateRequest('ticket', null);
  app.decorateRequest('arrivedAt', 0);
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
    // A request with a body takes its place in order now, before its body is read; a bodiless one
    // runs its handler in this same turn, so it takes its place there (ctx.run), which is cheaper.
    if (request.method === 'PUT' || request.method === 'PATCH' || request.method === 'POST') {
      try {
        ctx.admit(request);
      } catch (err) {
        return sendError(reply, err);
      }
    }
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    ctx.release(request);
    done();
  });

  app.setErrorHandler((err, request, reply) => {
    const error = toSpacekvError(err);
    if (error.code === 'internal') request.log.error({ err }, 'request failed');
    if (!request.ticket?.used) ctx.countInvalid(request, error.code); // failures of run operations are counted by run
    ctx.release(request);
    sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) => {
    ctx.release(request);
    const path = request.url.split('?')[0] ?? '';
    const allowed = routes.allowed(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(reply, new SpacekvError('method_not_allowed', `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`));
    }
    sendError(reply, new SpacekvError('no_route', `no endpoint ${request.method} ${path}`));
  });

  registerSpaceRoutes(app, ctx);
  registerObjectRoutes(app, ctx);
  registerOpsRoute(app, ctx);
  registerEventsRoute(app, ctx, options.feed);
  registerSearchRoutes(app, ctx);
  registerConsoleRoutes(app, options.logger);

  app.get('/healthz', async (_request, reply) => {
    const health = await options.health();
    reply.code(health.ok ? 200 : 503).send({ status: health.ok ? 'ok' : 'unavailable', detail: health.detail, ...(health.parts ? { parts: health.parts } : {}) });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/v1/openapi.json', async (_request, reply) => {
    reply.send(OPENAPI_DOCUMENT);
  });
  return { app, stopAccepting: () => { accepting = false; } };
}
