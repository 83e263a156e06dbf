/**
 * REST routes on objects (docs/architecture.md §5): GET reads, PUT writes (with `If-None-Match: *` for
 * create-if-absent and `If-Match: <version>` for compare-and-swap), PATCH mutates, DELETE deletes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  type Key, type Operation, type Result, type Space, coerceKey, fail, parseAttributes, parseCondition, parseExpireIn, parseMutations,
  parseVersion, requireSpace,
} from '@spacekv/core';
import type { HttpContext } from './context.js';
import { jsonBody } from './errors.js';

export type ObjectRequest = FastifyRequest<{ Params: { space: string; key: string }; Querystring: Record<string, string | undefined> }>;

interface Target {
  readonly space: Space;
  /** The fields every object operation starts with. */
  readonly base: { readonly space: string; readonly key: Key; readonly spaceCreatedSeq: number };
}

function target(ctx: HttpContext, request: ObjectRequest): Target {
  const space = requireSpace(ctx.lookup, request.params.space);
  const key = coerceKey(space.schema.key.type, request.params.key, ctx.limits);
  return { space, base: { space: space.name, key, spaceCreatedSeq: space.createdSeq } };
}

/** `If-Match: "12"` (or `12`): the version a conditional write expects. Weak tags never match. */
export function ifMatchVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const tag = header.trim();
  if (tag.startsWith('W/')) throw fail('bad_request', 'If-Match takes a strong version tag such as "12"');
  return parseVersion(tag.replace(/^"(.*)"$/, '$1'));
}

export function ifNoneMatchAny(request: FastifyRequest): boolean {
  const header = request.headers['if-none-match'];
  if (header === undefined) return false;
  if (header.trim() !== '*') throw fail('bad_request', 'If-None-Match supports only * (create if absent)');
  return true;
}

export function expireInQuery(ctx: HttpContext, request: ObjectRequest): number | undefined {
  const raw = request.query.expire_in;
  if (raw === undefined) return undefined;
  return parseExpireIn(Number(raw), ctx.limits) ?? undefined;
}

function wantsPrevious(request: ObjectRequest): boolean {
  const value = request.query.return;
  if (value === undefined) return false;
  if (value !== 'previous') throw fail('bad_request', "the 'return' query parameter takes only 'previous'");
  return true;
}

function putOperation(ctx: HttpContext, request: ObjectRequest): Operation {
  const { space, base: { key, spaceCreatedSeq } } = target(ctx, request);
  const attributes = parseAttributes(jsonBody(request.body) ?? {}, space, ctx.limits);
  const expireIn = expireInQuery(ctx, request);
  const version = ifMatchVersion(request);
  const createOnly = ifNoneMatchAny(request);
  const previous = wantsPrevious(request);
  if (Number(version !== undefined) + Number(createOnly) + Number(previous) > 1) {
    throw fail('bad_request', 'If-Match, If-None-Match and return=previous cannot be combined');
  }
  // One object literal per kind, not spreads: this runs on every PUT.
  if (version !== undefined) return { op: 'compare_and_swap', space: space.name, key, spaceCreatedSeq, attributes, expireIn, version };
  const op = createOnly ? 'put_if_not_exist' : previous ? 'get_and_put' : 'put';
  return { op, space: space.name, key, spaceCreatedSeq, attributes, expireIn };
}

function patchOperation(ctx: HttpContext, request: ObjectRequest): Operation {
  const { space, base } = target(ctx, request);
  const body = jsonBody(request.body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail('bad_request', 'PATCH takes {"mutations": [...], "if": {...}}');
  const { mutations, if: condition, expire_in: expireIn, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw fail('bad_request', `PATCH takes no field '${extra[0]}' (it takes mutations, if, expire_in)`);
  return {
    op: 'mutate', ...base,
    mutations: parseMutations(mutations, space, ctx.limits),
    ...(condition === undefined ? {} : { condition: parseCondition(condition, space, ctx.limits) }),
    expireIn: parseExpireIn(expireIn, ctx.limits),
  };
}

function deleteOperation(ctx: HttpContext, request: ObjectRequest): Operation {
  const { base } = target(ctx, request);
  const version = ifMatchVersion(request);
  if (wantsPrevious(request)) {
    if (version !== undefined) throw fail('bad_request', 'If-Match and return=previous cannot be combined');
    return { op: 'get_and_del', ...base };
  }
  return version === undefined ? { op: 'del', ...base } : { op: 'del', ...base, version };
}

function getOperation(ctx: HttpContext, request: ObjectRequest): Operation {
  const { space, base } = target(ctx, request);
  const select = request.query.select;
  // A literal, not a spread of base: this runs on every GET.
  if (select === undefined) return { op: 'get', space: base.space, key: base.key, spaceCreatedSeq: base.spaceCreatedSeq };
  const names = select.split(',').filter((n) => n.length > 0);
  for (const name of names) {
    if (!space.attribute(name)) throw fail('unknown_attribute', `space '${space.name}' has no attribute '${name}'`, { attribute: name });
  }
  return { op: 'get_partial', ...base, select: names };
}

/** 201 when a write created the object, 200 when it changed one. */
export function createdStatus(result: Result): number {
  return result.ok && result.kind === 'written' && result.created ? 201 : 200;
}

export function registerObjectRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const path = '/v1/spaces/:space/objects/:key';
  app.get(path, (request: ObjectRequest, reply) => ctx.run(request, reply, getOperation(ctx, request)));
  app.put(path, (request: ObjectRequest, reply) => ctx.run(request, reply, putOperation(ctx, request), createdStatus));
  app.patch(path, (request: ObjectRequest, reply) => ctx.run(request, reply, patchOperation(ctx, request)));
  app.delete(path, (request: ObjectRequest, reply) => ctx.run(request, reply, deleteOperation(ctx, request)));
}
