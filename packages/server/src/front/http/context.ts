/**
 * What every REST route needs: the engine, the limits, metrics, and one engine session per TCP
 * connection, so pipelined HTTP/1.1 requests on one connection keep per-key order (docs/architecture.md §4.3);
 * node's HTTP server sends their replies in request order.
 * A request with a body takes its place in that order when it arrives (`admit`, an onRequest hook),
 * before its body is read: a bodiless request sent later must not overtake one still receiving its
 * body. A bodiless request goes from arrival to handler in one turn, so it is admitted in `run`.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Operation, type Result, type SpaceLookup, SpacekvError, encodeResult, httpStatusOf } from '@spacekv/core';
import { authorizeOperation } from '../../auth/authenticator.js';
import type { Engine } from '../../engine/engine.js';
import type { Session, Ticket } from '../../engine/session.js';
import type { Metrics } from '../../metrics.js';
import { JSON_TYPE } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's place in its connection's order; null until admitted. */
    ticket: Ticket | null;
    /** performance.now() when the request arrived. */
    arrivedAt: number;
  }
}

/** The status of a successful operation's reply, unless the route says otherwise. */
const OK = (): number => 200;

/** The ticket of a request that took its place as it ran (runInOrder): used, with nothing to give back. */
const RAN_IN_PLACE: Ticket = {
  used: true,
  run: () => Promise.reject(new SpacekvError('internal', 'a request ran twice')),
  cancel: () => {},
};

export class HttpContext {
  readonly lookup: SpaceLookup;
  private readonly sessions = new WeakMap<Socket, Session>();

  constructor(readonly engine: Engine, readonly metrics: Metrics) {
    this.lookup = (name) => engine.space(name);
  }

  get limits() {
    return this.engine.limits;
  }

  /**
   * Take the request's place in its connection's order (throws `overloaded`). A peer that goes
   * before the body has all arrived gives the place back through the error handler (`release`):
   * fastify's body reader reports the cut body as an error, and a streamed upload's reader throws.
   */
  admit(request: FastifyRequest): void {
    request.arrivedAt = performance.now();
    request.ticket = this.session(request.raw.socket).reserve();
  }

  /** Release the place of a request that ended without running an operation (bad input, aborted). */
  release(request: FastifyRequest): void {
    request.ticket?.cancel();
  }

  /** Count a request that failed before it had an operation. */
  countInvalid(request: FastifyRequest, code: string): void {
    this.metrics.request('http', 'invalid', code, request.arrivedAt ?? performance.now());
  }

  /**
   * Run an operation in the request's connection order and send its result. A read the store
   * answers at once is sent at once; only operations that wait return a promise (one: its failure
   * is counted in the same step as its success would be sent).
   */
  run(request: FastifyRequest, reply: FastifyReply, op: Operation, okStatus: (result: Result) => number = OK): void | Promise<void> {
    const outcome = this.start(request, op);
    if (!(outcome instanceof Promise)) return this.send(request, reply, op, outcome, okStatus);
    return outcome.then((result) => this.send(request, reply, op, result, okStatus), (err: unknown) => this.failed(request, op, err));
  }

  /** Refuse `op` now if the request's token does not grant it (perform checks again). */
  authorize(request: FastifyRequest, op: Operation): void {
    authorizeOperation(request.access, op);
  }

  /** Run an operation in the request's connection order and return its result, for a route that answers in a form of its own (large values). */
  perform(request: FastifyRequest, op: Operation): Result | Promise<Result> {
    const outcome = this.start(request, op);
    if (!(outcome instanceof Promise)) return outcome;
    return outcome.catch((err: unknown) => this.failed(request, op, err));
  }

  /** Authorize `op` and run it in order; a failure there and then is counted and thrown. */
  private start(request: FastifyRequest, op: Operation): Result | Promise<Result> {
    authorizeOperation(request.access, op); // before it takes a place: a refused request holds nothing
    try {
      return this.runInOrder(request, op);
    } catch (err) {
      this.failed(request, op, err);
    }
  }

  /** Count a result `perform` returned (send counts its own). */
  counted(request: FastifyRequest, op: Operation, result: Result): void {
    this.metrics.request('http', op.op, result.ok ? 'ok' : result.code, request.arrivedAt);
  }

  /** Send an operation's result as JSON (and count it). */
  send(request: FastifyRequest, reply: FastifyReply, op: Operation, result: Result, okStatus: (result: Result) => number = OK): void {
    this.counted(request, op, result);
    const status = result.ok ? okStatus(result) : httpStatusOf(result.code);
    if (result.ok && 'version' in result) reply.header('etag', `"${result.version}"`);
    reply.code(status).type(JSON_TYPE).send(encodeResult(result));
  }

  private failed(request: FastifyRequest, op: Operation, err: unknown): never {
    this.metrics.request('http', op.op, err instanceof SpacekvError ? err.code : 'internal', request.arrivedAt);
    throw err;
  }

  /**
   * A request admitted on arrival runs in the place it took then. A bodiless one arrives and runs
   * in one turn, so it takes its place now, straight from its session: a reserved place would be
   * filled at once, and reserving costs more than the read it orders.
   */
  private runInOrder(request: FastifyRequest, op: Operation): Result | Promise<Result> {
    if (request.ticket) return request.ticket.run(op);
    request.arrivedAt = performance.now();
    request.ticket = RAN_IN_PLACE;
    return this.session(request.raw.socket).submit(op);
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
