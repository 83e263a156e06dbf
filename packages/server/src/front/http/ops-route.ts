/**
 * `POST /v1/ops`: any operation in its wire form (the same JSON the WebSocket and AMQP fronts take),
 * for the operations that have no REST route of their own (`cond_put`, `cond_del`, ...).
 */
import type { FastifyInstance } from 'fastify';
import { parseOperation } from '@spacekv/core';
import type { HttpContext } from './context.js';
import { jsonBody } from './errors.js';
import { createdStatus } from './object-routes.js';

export function registerOpsRoute(app: FastifyInstance, ctx: HttpContext): void {
  app.post('/v1/ops', (request, reply) => {
    const op = parseOperation(jsonBody(request.body), ctx.lookup, ctx.limits);
    return ctx.run(request, reply, op, op.op === 'add_space' ? () => 201 : createdStatus);
  });
}
