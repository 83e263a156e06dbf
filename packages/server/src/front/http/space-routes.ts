/**
 * REST routes on spaces (docs/architecture.md §5): create from the DSL or the JSON form, list, describe,
 * remove. A body of type `application/x-spacekv-schema` is taken as DSL text, so
 * `curl --data-binary @schema.txt -H 'content-type: application/x-spacekv-schema'` works. Not
 * `text/plain`: browsers send that cross-site without asking the server first (docs/security.md).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AddSpaceOp, fail, parseAddSpace, parseSpaceName } from '@spacekv/core';
import type { HttpContext } from './context.js';

/** The media type of a schema sent as DSL text. */
export const SCHEMA_MEDIA_TYPE = 'application/x-spacekv-schema';

type SpaceRequest = FastifyRequest<{ Params: { space: string } }>;

function addSpaceOf(ctx: HttpContext, body: unknown): AddSpaceOp {
  if (typeof body === 'string') return parseAddSpace(body, ctx.limits);
  if (typeof body !== 'object' || body === null || !('schema' in body)) {
    throw fail('bad_request', `POST /v1/spaces takes {"schema": "<DSL text>"} or {"schema": {<JSON form>}}, or DSL text as ${SCHEMA_MEDIA_TYPE}`);
  }
  return parseAddSpace((body as { schema: unknown }).schema, ctx.limits);
}

export function registerSpaceRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.post('/v1/spaces', (request, reply) => ctx.run(request, reply, addSpaceOf(ctx, request.body), () => 201));
  app.get('/v1/spaces', (request, reply) => ctx.run(request, reply, { op: 'list_spaces' }));
  app.get('/v1/spaces/:space', (request: SpaceRequest, reply) => ctx.run(request, reply, { op: 'describe_space', space: parseSpaceName(request.params.space) }));
  app.delete('/v1/spaces/:space', (request: SpaceRequest, reply) => ctx.run(request, reply, { op: 'rm_space', space: parseSpaceName(request.params.space) }));
}
