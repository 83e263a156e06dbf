/**
 * Token management over REST (docs/security.md), for holders of a token with `admin` on every
 * space and key (the root token, or one created without caveats):
 * `POST /v1/tokens` `{"label", "ops", "spaces", "keys", "expires_in"}` → 201 `{"id", "token"}`;
 * `GET /v1/tokens` → `{"tokens": [{id, label, created_at, caveats, revoked}]}` (never a secret);
 * `DELETE /v1/tokens/:id` → revokes the record and every token derived from it, on every server.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MANAGE_TOKENS_NEED, RIGHTS, type Right, type ScopeRequest, caveatsOf, fail, isFields } from '@spacekv/core';
import { authorize } from '../../auth/authenticator.js';
import type { TokenRegistry } from '../../auth/token-registry.js';
import type { HttpContext } from './context.js';
import { jsonBody } from './errors.js';

const CREATE_FIELDS = ['label', 'ops', 'spaces', 'keys', 'expires_in'];

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v.length > 0 && !v.includes(','))) {
    throw fail('bad_request', `'${field}' must be a non-empty list of non-empty strings without commas`);
  }
  return value as string[];
}

/** The body of POST /v1/tokens as a scope and a label. */
function createRequest(body: unknown): { label: string; scope: ScopeRequest } {
  const fields = body === undefined ? {} : body;
  if (!isFields(fields)) throw fail('bad_request', 'POST /v1/tokens takes {"label", "ops", "spaces", "keys", "expires_in"}, each optional');
  const unknown = Object.keys(fields).find((f) => !CREATE_FIELDS.includes(f));
  if (unknown !== undefined) throw fail('bad_request', `POST /v1/tokens takes no field '${unknown}' (it takes: ${CREATE_FIELDS.join(', ')})`);
  const { label = '', ops, spaces, keys, expires_in: expiresIn } = fields;
  if (typeof label !== 'string' || label.length > 200) throw fail('bad_request', "'label' must be a string of at most 200 characters");
  const scope: { -readonly [K in keyof ScopeRequest]: ScopeRequest[K] } = {};
  if (ops !== undefined) {
    const list = stringList(ops, 'ops');
    if (!list.every((op): op is Right => (RIGHTS as readonly string[]).includes(op))) throw fail('bad_request', `'ops' are ${RIGHTS.join(', ')}`);
    scope.ops = list as Right[];
  }
  if (spaces !== undefined) scope.spaces = stringList(spaces, 'spaces');
  if (keys !== undefined) {
    if (typeof keys !== 'string') throw fail('bad_request', "'keys' must be a key prefix (a string)");
    scope.keys = keys;
  }
  if (expiresIn !== undefined) {
    if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn <= 0) throw fail('bad_request', "'expires_in' must be a whole number of seconds, more than 0");
    scope.expiresAtMs = Date.now() + expiresIn * 1000;
  }
  return { label, scope };
}

export function registerTokenRoutes(app: FastifyInstance, ctx: HttpContext, tokens: TokenRegistry | undefined): void {
  const registry = (request: FastifyRequest): TokenRegistry => {
    ctx.release(request); // not an operation on data: it keeps no place in the connection's order
    if (!tokens) throw fail('bad_request', 'this server runs without tokens (auth is off); start it with --auth on to manage tokens');
    authorize(request.access, [MANAGE_TOKENS_NEED]);
    return tokens;
  };
  app.post('/v1/tokens', async (request, reply) => {
    const records = registry(request);
    const { label, scope } = createRequest(jsonBody(request.body));
    const created = await records.create(label, caveatsOf(scope));
    reply.code(201).send({ ok: true, ...created });
  });
  app.get('/v1/tokens', async (request, reply) => {
    reply.send({ ok: true, tokens: registry(request).list() });
  });
  app.delete('/v1/tokens/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const revoked = await registry(request).revoke(request.params.id);
    if (!revoked) throw fail('not_found', `no token record '${request.params.id}'`);
    reply.send({ ok: true, revoked: request.params.id });
  });
}
