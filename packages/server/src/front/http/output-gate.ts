/**
 * The REST front's output bound (docs/architecture.md §4.7). HTTP/1.1 lets a client pipeline requests and
 * never read a reply; Node parses a whole TCP chunk of them (a thousand small GETs) before it looks
 * at the socket again, so a bound checked only when reading would still run them all. Here every
 * request passes the gate before it runs: while its connection holds more than `sendBufferBytesMax`
 * of unsent replies, it waits, in order, and the socket is paused (TCP pushes back on the client);
 * it runs once the peer has taken enough. Past the server-wide `replyBufferBytesMax` a request that
 * would run answers `overloaded` instead. Requests waiting on a connection that closes never run.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SpacekvError } from '@spacekv/core';
import type { OutputBudget, OutputMeter } from '../output-budget.js';
import { sendError } from './errors.js';

/** The rest of a request past the gate. */
export type Proceed = (request: FastifyRequest, reply: FastifyReply, done: () => void) => void;

interface ConnectionOutput {
  readonly meter: OutputMeter;
  /** Requests parsed but not run, oldest first. */
  readonly waiting: (() => void)[];
}

export class HttpOutputGate {
  private readonly connections = new WeakMap<Socket, ConnectionOutput>();

  /** `waitingMax`: requests one connection may have waiting at the gate; past it they answer `overloaded`. */
  constructor(private readonly budget: OutputBudget, private readonly connectionBytesMax: number, private readonly waitingMax: number) {}

  /**
   * Run `proceed` (the rest of the request, given `done` to go on with) now, once the connection
   * drains, or never (refused, or the connection closed). `proceed` takes its arguments rather than
   * closing over them, so a request that passes at once allocates nothing here.
   */
  admit(request: FastifyRequest, reply: FastifyReply, proceed: Proceed, done: () => void): void {
    const socket = request.raw.socket;
    const output = this.outputOf(socket);
    if (output.waiting.length === 0 && !output.meter.full) return this.run(output, request, reply, proceed, done);
    if (output.waiting.length >= this.waitingMax) {
      return sendError(reply, new SpacekvError('overloaded', `this connection has ${output.waiting.length} requests waiting for its replies to be read`, { limit: 'inflightRequestsMax' }));
    }
    output.waiting.push(() => this.run(output, request, reply, proceed, done));
    if (output.waiting.length === 1) {
      socket.pause();
      output.meter.whenDrained(() => this.release(output, socket));
    }
  }

  /** Count a reply's bytes (string length: a bound, not an exact byte count) until the response is done with them. */
  count(request: FastifyRequest, reply: FastifyReply, payload: unknown): void {
    const bytes = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload.length : 0;
    if (bytes === 0) return;
    // 'on', not 'once': a response closes once, and once's wrapper would cost every request an allocation more.
    reply.raw.on('close', this.outputOf(request.raw.socket).meter.hold(bytes));
  }

  /** `/healthz` and `/metrics` (small, and what an operator needs most then) are never refused for the budget. */
  private run(output: ConnectionOutput, request: FastifyRequest, reply: FastifyReply, proceed: Proceed, done: () => void): void {
    if (output.meter.budgetFull && request.url.startsWith('/v1/')) {
      return sendError(reply, new SpacekvError('overloaded', `the server holds ${this.budget.bytes} bytes of replies its clients have not read; retry later`, { limit: 'replyBufferBytesMax' }));
    }
    proceed(request, reply, done);
  }

  /** The connection drained: run waiting requests in order until it is full again. */
  private release(output: ConnectionOutput, socket: Socket): void {
    while (output.waiting.length > 0 && !output.meter.full) (output.waiting.shift() as () => void)();
    if (output.waiting.length === 0) socket.resume();
    else output.meter.whenDrained(() => this.release(output, socket));
  }

  private outputOf(socket: Socket): ConnectionOutput {
    let output = this.connections.get(socket);
    if (!output) {
      const created: ConnectionOutput = { meter: this.budget.meter(this.connectionBytesMax), waiting: [] };
      socket.once('close', () => {
        created.waiting.length = 0; // their work is dropped, not done
        created.meter.close();
      });
      this.connections.set(socket, created);
      output = created;
    }
    return output;
  }
}
