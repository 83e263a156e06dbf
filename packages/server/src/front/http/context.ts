/**
 * What every REST route needs: the engine, the limits, metrics, and one engine session per TCP
 * connection, so pipelined HTTP/1.1 requests on one connection keep their order (DESIGN.md §4.3).
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Operation, type Result, type SpaceLookup, SpacekvError, encodeResult, httpStatusOf } from '@spacekv/core';
import type { Engine } from '../../engine/engine.js';
import type { Session } from '../../engine/session.js';
import type { Metrics } from '../../metrics.js';

export class HttpContext {
  readonly lookup: SpaceLookup;
  private readonly sessions = new WeakMap<Socket, Session>();

  constructor(readonly engine: Engine, readonly metrics: Metrics) {
    this.lookup = (name) => engine.space(name);
  }

  get limits() {
    return this.engine.limits;
  }

  /** Run an operation in the request's connection order and send its result. */
  async run(request: FastifyRequest, reply: FastifyReply, op: Operation, okStatus: (result: Result) => number = () => 200): Promise<void> {
    const startedAt = performance.now();
    let result: Result;
    try {
      result = await this.session(request.raw.socket).execute(op);
    } catch (err) {
      this.metrics.request('http', op.op, err instanceof SpacekvError ? err.code : 'internal', startedAt);
      throw err;
    }
    this.metrics.request('http', op.op, result.ok ? 'ok' : result.code, startedAt);
    const status = result.ok ? okStatus(result) : httpStatusOf(result.code);
    if (result.ok && 'version' in result) reply.header('etag', `"${result.version}"`);
    reply.code(status).type('application/json').send(encodeResult(result));
  }

  private session(socket: Socket): Session {
    let session = this.sessions.get(socket);
    if (!session) {
      session = this.engine.session();
      this.sessions.set(socket, session);
    }
    return session;
  }
}
