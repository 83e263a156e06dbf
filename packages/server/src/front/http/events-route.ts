/**
 * GET /v1/events: change events as server-sent events (docs/architecture.md §5). Query: `space`, `key` or
 * `prefix`, `since` (a seq), `ops` (comma-separated), `if` (a JSON condition); a `Last-Event-ID`
 * header (sent by EventSource on reconnect) wins over `since`. Each change is one `change` event
 * whose data is the event JSON (core's events.ts). Only the last event of a seq carries `id:`, so a
 * stream cut inside a tx resumes at the tx's start rather than past half of it. A `:` comment every
 * KEEPALIVE_MS keeps idle streams open through proxies. A client that reads slowly pauses its
 * subscription (res.write backpressure) until the socket drains, then catches up from the log; its
 * events count against the server-wide `replyBufferBytesMax`, past which every stream pauses until
 * there is room, so a thousand streams that never read hold one bounded budget, not a page each.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SpacekvError, type WireError, errorJson, needsOfWatch, parseJson, parseWatch } from '@spacekv/core';
import type { ChangeFeed } from '../../events/change-feed.js';
import type { Subscription, WatchSink } from '../../events/subscription.js';
import type { OutputBudget, OutputMeter } from '../output-budget.js';
import { type Access, accessRefusal, authorize } from '../../auth/authenticator.js';
import type { HttpContext } from './context.js';

const KEEPALIVE_MS = 15_000;

type EventsRequest = FastifyRequest<{ Querystring: Record<string, string | undefined> }>;

/** The query string as a watch request's fields. */
function watchFields(request: EventsRequest): Record<string, unknown> {
  // `token` is the gate's (an EventSource cannot send an Authorization header).
  const { space, key, prefix, since, ops, if: condition, token: _token, ...rest } = request.query;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new SpacekvError('bad_request', `GET /v1/events takes no parameter '${extra[0]}' (it takes: space, key, prefix, since, ops, if, token)`);
  const lastEventId = request.headers['last-event-id'];
  const resumeAt = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : since;
  const fields: Record<string, unknown> = { space, key, prefix };
  if (resumeAt !== undefined) fields.since = /^\d+$/.test(resumeAt) ? Number(resumeAt) : resumeAt;
  if (ops !== undefined) fields.ops = ops.split(',');
  if (condition !== undefined) fields.if = parseJson(condition);
  for (const name of Object.keys(fields)) if (fields[name] === undefined) delete fields[name];
  return fields;
}

/**
 * `resume` wakes the stream's subscription once there is room again; `stop` ends it when its token
 * was revoked or expired while it was open.
 */
function sseSink(reply: FastifyReply, meter: OutputMeter, budget: OutputBudget, access: Access | null, resume: () => void, stop: (error: WireError) => void): WatchSink {
  const res = reply.raw;
  return {
    deliver(events, seqs) {
      // A token revoked or expired while the stream is open: the stream ends before the next event.
      const refusal = accessRefusal(access);
      if (refusal) {
        stop(refusal);
        return false;
      }
      let text = '';
      for (let i = 0; i < events.length; i++) {
        const lastOfSeq = seqs[i] !== seqs[i + 1];
        text += `${lastOfSeq ? `id: ${seqs[i]}\n` : ''}event: change\ndata: ${events[i]}\n\n`;
      }
      return res.write(text, meter.hold(text.length)); // false: resumed on 'drain'
    },
    ready() {
      if (!meter.budgetFull) return true;
      budget.whenRoom(resume);
      return false;
    },
    end(error: WireError) {
      res.end(`event: error\ndata: ${errorJson(error)}\n\n`);
    },
  };
}

export function registerEventsRoute(app: FastifyInstance, ctx: HttpContext, feed: ChangeFeed, budget: OutputBudget): void {
  app.get('/v1/events', async (request: EventsRequest, reply) => {
    const spec = parseWatch(watchFields(request), ctx.lookup, ctx.limits);
    authorize(request.access, needsOfWatch(spec));
    const meter = budget.meter(ctx.limits.sendBufferBytesMax);
    let stream: Subscription | undefined;
    const subscription = await feed.subscribe(spec, sseSink(reply, meter, budget, request.access, () => stream?.resume(), (error) => stream?.end(error)));
    stream = subscription;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(`: watching after seq ${subscription.seq}\n\n`);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    res.on('drain', () => subscription.resume());
    res.on('close', () => {
      clearInterval(keepalive);
      subscription.cancel();
      meter.close();
    });
    subscription.pump();
  });
}
