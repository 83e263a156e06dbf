/**
 * What every REST route needs: the engine, the limits, metrics, and one engine session per TCP
 * connection, so pipelined HTTP/1.1 requests on one connection keep their order (DESIGN.md §4.3).
 * A request takes its place in that order when it arrives (`admit`, an onRequest hook), before its
 * body is read: a bodiless request sent later must not overtake one still receiving its body.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Operation, type Result, type SpaceLookup, SpacekvError, encodeResult, httpStatusOf } from '@spacekv/core';
import type { Engine } from '../../engine/engine.js';
import type { Session, Ticket } from '../../engine/session.js';
import type { Metrics } from '../../metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's place in its connection's order; null until admitted. */
    ticket: Ticket | null;
    /** performance.now() when the request arrived. */
    arrivedAt: number;
  }
}

export class HttpContext {
  readonly lookup: SpaceLookup;
  private readonly sessions = new WeakMap<Socket, Session>();

  constructor(readonly engine: Engine, readonly metrics: Metrics) {
    this.lookup = (name) => engine.space(name);
  }

  get limits() {
    return this.engine.limits;
  }

  /** Take the request's place in its connection's order (throws `overloaded`). */
  admit(request: FastifyRequest): void {
    request.arrivedAt = performance.now();
    request.ticket = this.session(request.raw.socket).reserve();
  }

  /** Release the place of a request that ended without an operation (bad input, other routes). */
  release(request: FastifyRequest): void {
    request.ticket?.cancel();
  }

  /** Count a request that failed before it had an operation. */
  countInvalid(request: FastifyRequest, code: string): void {
    this.metrics.request('http', 'invalid', code, request.arrivedAt ?? performance.now());
  }

  /** Run an operation in the request's connection order and send its result. */
  async run(request: FastifyRequest, reply: FastifyReply, op: Operation, okStatus: (result: Result) => number = () => 200): Promise<void> {
    const ticket = request.ticket;
    if (!ticket) throw new SpacekvError('internal', 'request was not admitted');
    let result: Result;
    try {
      result = await ticket.run(op);
    } catch (err) {
      this.metrics.request('http', op.op, err instanceof SpacekvError ? err.code : 'internal', request.arrivedAt);
      throw err;
    }
    this.metrics.request('http', op.op, result.ok ? 'ok' : result.code, request.arrivedAt);
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
