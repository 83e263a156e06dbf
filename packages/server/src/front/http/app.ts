/**
 * The REST/JSON front (DESIGN.md §5), on fastify: chosen for its low per-request overhead among
 * Node frameworks, its schema-free fast path for pre-encoded bodies, and `inject()` for in-process
 * tests. JSON bodies are parsed by core's lossless parser so 64-bit ints arrive exact.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { SpacekvError, parseJson } from '@spacekv/core';
import type { Engine } from '../../engine/engine.js';
import type { Metrics } from '../../metrics.js';
import { HttpContext } from './context.js';
import { errorHandler, sendError } from './errors.js';
import { registerObjectRoutes } from './object-routes.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { registerOpsRoute } from './ops-route.js';
import { registerSpaceRoutes } from './space-routes.js';

export interface HttpAppOptions {
  readonly engine: Engine;
  readonly metrics: Metrics;
  readonly logger: FastifyBaseLogger;
  /** Reports whether the server can serve; /healthz answers 503 otherwise. */
  readonly health: () => { readonly ok: boolean; readonly detail: string };
}

export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const { engine, metrics } = options;
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }), // per-request lines would dominate the log at load
    bodyLimit: engine.limits.requestBytesMax,
    return503OnClosing: true,
    keepAliveTimeout: 72_000,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: engine.limits.keyBytesMax * 3 + 100 },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, (body as string).length === 0 ? undefined : parseJson(body as string));
    } catch (err) {
      done(err as SpacekvError, undefined);
    }
  });
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, new SpacekvError('no_route', `no endpoint ${request.method} ${request.url.split('?')[0]}`));
  });

  const ctx = new HttpContext(engine, metrics);
  registerSpaceRoutes(app, ctx);
  registerObjectRoutes(app, ctx);
  registerOpsRoute(app, ctx);

  app.get('/healthz', async (_request, reply) => {
    const health = options.health();
    reply.code(health.ok ? 200 : 503).send({ status: health.ok ? 'ok' : 'unavailable', detail: health.detail });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/v1/openapi.json', async (_request, reply) => {
    reply.send(OPENAPI_DOCUMENT);
  });
  return app;
}
