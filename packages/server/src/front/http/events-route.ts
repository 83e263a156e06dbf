/**
 * GET /v1/events: change events as server-sent events (DESIGN.md §5). Query: `space`, `key` or
 * `prefix`, `since` (a seq), `ops` (comma-separated), `if` (a JSON condition); a `Last-Event-ID`
 * header (sent by EventSource on reconnect) wins over `since`. Each change is one `change` event
 * whose data is the event JSON (core's events.ts). Only the last event of a seq carries `id:`, so a
 * stream cut inside a tx resumes at the tx's start rather than past half of it. A `:` comment every
 * KEEPALIVE_MS keeps idle streams open through proxies. A client that reads slowly pauses its
 * subscription (res.write backpressure) until the socket drains, then catches up from the log.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SpacekvError, type WireError, errorJson, needsOfWatch, parseJson, parseWatch } from '@spacekv/core';
import type { ChangeFeed } from '../../events/change-feed.js';
import type { Subscription, WatchSink } from '../../events/subscription.js';
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

function sseSink(reply: FastifyReply, access: Access | null, stop: (error: WireError) => void): WatchSink {
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
      return res.write(text);
    },
    end(error: WireError) {
      res.end(`event: error\ndata: ${errorJson(error)}\n\n`);
    },
  };
}

export function registerEventsRoute(app: FastifyInstance, ctx: HttpContext, feed: ChangeFeed): void {
  app.get('/v1/events', async (request: EventsRequest, reply) => {
    const spec = parseWatch(watchFields(request), ctx.lookup, ctx.limits);
    authorize(request.access, needsOfWatch(spec));
    const subscription: Subscription = await feed.subscribe(spec, sseSink(reply, request.access, (error) => subscription.end(error)));
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
    });
    subscription.pump();
  });
}
