/**
 * REST routes of search (docs/architecture.md §5): `POST /v1/spaces/:space/search` (a `sort_by` makes it a
 * sorted_search), `/count`, `/delete` (group_del), `/mutate` (group_mutate); `GET
 * /v1/spaces/:space/objects` lists by key range; `POST /v1/spaces/:space/indexes` builds an index
 * online, `DELETE /v1/spaces/:space/indexes/:attribute` drops one (rm_index). A body carries the operation's wire fields (`where`, `select`, `limit`, `cursor`, ...);
 * `?explain=1` equals `"explain": true`. Validation is the wire codec's, so REST, WebSocket and
 * /v1/ops accept and refuse exactly the same requests.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail, isFields, parseOperation } from '@spacekv/core';
import type { HttpContext } from './context.js';
import { jsonBody } from './errors.js';

type SpaceRequest = FastifyRequest<{ Params: { space: string }; Querystring: Record<string, string | undefined> }>;

/** The body's fields (an empty body is no fields), with the space from the path and `op` chosen by them. */
function fieldsOf(request: SpaceRequest, opOf: (body: Readonly<Record<string, unknown>>) => string): Record<string, unknown> {
  const body = jsonBody(request.body) ?? {};
  if (!isFields(body)) throw fail('bad_request', `${request.method} ${request.routeOptions.url} takes a JSON object body`);
  if (Object.hasOwn(body, 'space') || Object.hasOwn(body, 'op')) throw fail('bad_request', "the space and operation come from the path; the body names neither 'space' nor 'op'");
  const fields: Record<string, unknown> = { ...body, op: opOf(body), space: request.params.space };
  const explain = request.query.explain;
  if (explain !== undefined) {
    if (explain !== '1' && explain !== 'true' && explain !== '0' && explain !== 'false') throw fail('bad_request', 'explain takes 1 or 0');
    fields.explain = explain === '1' || explain === 'true';
  }
  return fields;
}

/** The query string of GET .../objects as list fields: reverse and limit parsed, the rest as given. */
function listFields(request: SpaceRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = { op: 'list', space: request.params.space };
  for (const [name, value] of Object.entries(request.query)) {
    if (value === undefined) continue;
    if (name === 'reverse') fields.reverse = value === '1' || value === 'true';
    else if (name === 'select') fields.select = value === '' ? [] : value.split(',');
    else fields[name] = value;
  }
  return fields;
}

export function registerSearchRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const route = (path: string, opOf: (body: Readonly<Record<string, unknown>>) => string) => {
    app.post(`/v1/spaces/:space/${path}`, (request: SpaceRequest, reply) =>
      ctx.run(request, reply, parseOperation(fieldsOf(request, opOf), ctx.lookup, ctx.limits)));
  };
  route('search', (body) => (body.sort_by === undefined ? 'search' : 'sorted_search'));
  route('count', () => 'count');
  route('delete', () => 'group_del');
  route('mutate', () => 'group_mutate');
  route('indexes', () => 'add_index');
  app.delete('/v1/spaces/:space/indexes/:attribute', (request: FastifyRequest<{ Params: { space: string; attribute: string } }>, reply) =>
    ctx.run(request, reply, parseOperation({ op: 'rm_index', space: request.params.space, attribute: request.params.attribute }, ctx.lookup, ctx.limits)));
  app.get('/v1/spaces/:space/objects', (request: SpaceRequest, reply) => ctx.run(request, reply, parseOperation(listFields(request), ctx.lookup, ctx.limits)));
}
