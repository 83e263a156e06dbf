/**
 * AMQP RPC (docs/architecture.md §5): operations arrive on a durable queue, each a message whose body is the
 * Operation JSON of the other fronts; the answer, the same Result or error JSON as a WebSocket reply
 * (core's wire.ts), goes to the message's `reply_to` with its `correlation_id`. The prefetch bounds
 * the requests taken before any is answered: the broker holds the rest (backpressure). All
 * requests run on one engine session, so those on one key take effect in the order the queue
 * delivers them (per-key order, docs/protocol.md).
 *
 * A `watch` request (the fields of a WebSocket watch) opens a per-token event stream instead: see
 * watch-queues.ts; its reply names the queue to consume.
 *
 * A request is acked after its reply is sent: a server that dies in between leaves it to be
 * delivered again (at least once), so a redelivered write may run twice; conditional writes
 * (`compare_and_swap`, `put_if_not_exist`) make a retry safe.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import {
  type Fields, type Result, type SpaceLookup, SpacekvError, type WireError, encodeResult, errorJson, isFields, needsOfWatch, parseJson, parseOperation,
  parseWatch, OPERATION_NAMES,
} from '@spacekv/core';
import { type Authenticator, authorize, authorizeOperation, rateClient } from '../../auth/authenticator.js';
import type { ChangeFeed } from '../../events/change-feed.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { Engine } from '../../engine/engine.js';
import type { Metrics } from '../../metrics.js';
import type { TaskBody } from '../../tasks/task.js';
import { aborted, openChannel, openConfirmChannel, redactUrl } from './broker.js';
import { AmqpWatches, type WatchOpened } from './watch-queues.js';

export interface RpcOptions {
  readonly url: string;
  readonly queue: string;
  readonly prefetch: number;
  /** Absent: requests need no token. */
  readonly auth?: Authenticator;
  /** Absent: no rate limit. */
  readonly limiter?: RateLimiter;
}

/** The token a request message carries in its `authorization` header. */
function tokenOf(message: ConsumeMessage): string | undefined {
  const header: unknown = message.properties.headers?.authorization;
  const text = Buffer.isBuffer(header) ? header.toString('utf8') : header;
  if (typeof text !== 'string') return undefined;
  return /^Bearer\s+/i.test(text) ? text.replace(/^Bearer\s+/i, '').trim() : '';
}

function errorReply(error: WireError): string {
  return `{"ok":false,"error":${errorJson(error)}}`;
}

function isWatch(input: unknown): input is Fields {
  return isFields(input) && input.op === 'watch';
}

export function amqpRpc(engine: Engine, feed: ChangeFeed, metrics: Metrics, options: RpcOptions): TaskBody {
  const lookup: SpaceLookup = (name) => engine.space(name);
  return async (ctx) => {
    const link = await openChannel(options.url, 'spacekv rpc');
    // Event streams publish on a connection of their own, with confirms, so a stream's backlog never
    // delays the replies.
    const watchLink = await openConfirmChannel(options.url, 'spacekv watch').catch(async (err: unknown) => {
      await link.close();
      throw err;
    });
    const watches = new AmqpWatches(watchLink.channel, feed, engine.limits);
    const sweep = setInterval(() => watches.sweep().catch(() => {}), engine.limits.amqpWatchIdleMs); // a failed sweep: the lost link fails the task
    try {
      const { channel } = link;
      await channel.assertQueue(options.queue, { durable: true });
      await channel.prefetch(options.prefetch);
      const session = engine.session();
      const inflight = new Set<Promise<void>>();
      let cancelled: (err: Error) => void = () => {};
      const consumerGone = new Promise<never>((_resolve, reject) => {
        cancelled = reject;
      });
      consumerGone.catch(() => {}); // acted on in the race below
      await channel.consume(options.queue, (message) => {
        // The broker cancelled the consumer (the queue was deleted): fail, so the task restarts and declares it again.
        if (!message) return cancelled(new Error(`the broker cancelled the consumer of '${options.queue}'`));
        const answered = answer(channel, message, (input) => {
          // Failed attempts and rates are counted per broker user: every peer reaches us through the broker.
          const peer = `amqp:${String(message.properties.userId ?? '')}`;
          const access = options.auth?.authenticate(tokenOf(message), peer) ?? null;
          options.limiter?.take(rateClient(access, peer));
          if (isWatch(input)) {
            const spec = parseWatch(input, lookup, engine.limits);
            authorize(access, needsOfWatch(spec));
            return watches.open(spec, access);
          }
          const op = parseOperation(input, lookup, engine.limits);
          authorizeOperation(access, op);
          return session.submit(op);
        }, metrics);
        inflight.add(answered);
        void answered.finally(() => inflight.delete(answered));
      }, { noAck: false });
      ctx.report(true, `consuming ${options.queue} on ${redactUrl(options.url)}`);
      await Promise.race([aborted(ctx.signal), link.lost, watchLink.lost, consumerGone]);
      await Promise.allSettled(inflight); // a stop answers what it took
    } finally {
      clearInterval(sweep);
      watches.close();
      await link.close();
      await watchLink.close();
    }
  };
}

/** Run one request and reply to it (if it asks for a reply), then ack it. */
async function answer(channel: Channel, message: ConsumeMessage, run: (input: unknown) => Result | Promise<Result | WatchOpened>, metrics: Metrics): Promise<void> {
  const startedAt = performance.now();
  let body: string;
  let opName = 'invalid';
  try {
    const input = parseJson(message.content.toString('utf8')) as { op?: unknown } | null;
    // Only known names become metric labels: arbitrary strings would grow the series without bound.
    if (typeof input?.op === 'string' && OPERATION_NAMES.includes(input.op)) opName = input.op;
    if (isWatch(input)) opName = 'watch';
    const result = await run(input);
    if ('queue' in result) {
      metrics.request('amqp', opName, 'ok', startedAt);
      body = `{"ok":true,"queue":${JSON.stringify(result.queue)},"seq":${result.seq}}`;
    } else {
      metrics.request('amqp', opName, result.ok ? 'ok' : result.code, startedAt);
      body = encodeResult(result);
    }
  } catch (err) {
    const error: WireError = err instanceof SpacekvError ? err.toWire() : { code: 'internal', message: `internal error: ${(err as Error).message}` };
    metrics.request('amqp', opName, error.code, startedAt);
    body = errorReply(error);
  }
  const { replyTo, correlationId } = message.properties;
  try {
    if (typeof replyTo === 'string' && replyTo !== '') {
      channel.sendToQueue(replyTo, Buffer.from(body), { correlationId, contentType: 'application/json' });
    }
    channel.ack(message);
  } catch {
    // The channel died under the request: the broker delivers it again to the next consumer.
  }
}
