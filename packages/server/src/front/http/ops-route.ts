/**
 * `POST /v1/ops`: any operation in its wire form (the same JSON the WebSocket and AMQP fronts take),
 * for the operations that have no REST route of their own (`cond_put`, `cond_del`, ...).
 * `POST /v1/tx`: a tx, its body the tx's wire form with or without `"op": "tx"` (docs/transactions.md).
 */
import type { FastifyInstance } from 'fastify';
import { fail, isFields, parseOperation } from '@spacekv/core';
import type { HttpContext } from './context.js';
import { jsonBody } from './errors.js';
import { createdStatus } from './object-routes.js';

/** The body of POST /v1/tx as a tx operation: `op` may be left out, and may only be "tx". */
function txOperation(body: unknown): unknown {
  if (!isFields(body)) throw fail('bad_request', 'POST /v1/tx takes a tx: {"checks": [...], "ops": [...]}');
  if (!Object.hasOwn(body, 'op')) return { ...body, op: 'tx' };
  if (body.op !== 'tx') throw fail('bad_request', `POST /v1/tx takes only a tx; send ${JSON.stringify(body.op)} to POST /v1/ops`);
  return body;
}

export function registerOpsRoute(app: FastifyInstance, ctx: HttpContext): void {
  app.post('/v1/ops', (request, reply) => {
    const op = parseOperation(jsonBody(request.body), ctx.lookup, ctx.limits);
    return ctx.run(request, reply, op, op.op === 'add_space' ? () => 201 : createdStatus);
  });
  app.post('/v1/tx', (request, reply) => {
    const op = parseOperation(txOperation(jsonBody(request.body)), ctx.lookup, ctx.limits);
    return ctx.run(request, reply, op);
  });
}
