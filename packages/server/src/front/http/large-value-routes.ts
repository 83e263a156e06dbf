/**
 * Large values over REST (docs/large-values.md): `PUT …/objects/:key/attributes/:attr` streams a
 * `bytes` attribute's value in, chunk by chunk into the store's staging tables, and commits it with
 * the object in one write once the body is complete (If-Match / If-None-Match as for PUT of the
 * object); `GET` of the same path streams it out, with `Range`. Memory holds one chunk per upload
 * or download whatever the size. The routes run as `put` and `get_partial`, so they need the same
 * scopes and keep the same per-key order as those.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type Attributes, type Key, LARGE_CHUNK_BYTES, type Limits, type Operation, type Result, SpacekvError, type Value, chunkSpan, coerceKey, fail,
  isLargeValueRef, largeValueRef, parseJson, requireSpace,
} from '@spacekv/core';
import type { LargeUploads } from '../../large/uploads.js';
import { UploadProgress } from '../../large/progress.js';
import { rateClient } from '../../auth/authenticator.js';
import type { LargeValueOwner, LargeValues } from '../../store/store.js';
import type { HttpContext } from './context.js';
import { STREAMED_BODIES, sendError } from './errors.js';
import { discardRefusedBody } from './refused-body.js';
import { createdStatus, expireInQuery, ifMatchVersion, ifNoneMatchAny } from './object-routes.js';

export const LARGE_VALUE_PATH = '/v1/spaces/:space/objects/:key/attributes/:attribute';
const OCTET_STREAM = 'application/octet-stream';

type LargeRequest = FastifyRequest<{ Params: { space: string; key: string; attribute: string }; Querystring: Record<string, string | undefined> }>;

interface LargeTarget {
  readonly base: { readonly space: string; readonly key: Key; readonly spaceCreatedSeq: number };
  readonly attribute: string;
}

/** The object and its `bytes` attribute the path names. */
function largeTarget(ctx: HttpContext, request: LargeRequest): LargeTarget {
  const space = requireSpace(ctx.lookup, request.params.space);
  const key = coerceKey(space.schema.key.type, request.params.key, ctx.limits);
  const { attribute } = request.params;
  const declared = space.attribute(attribute);
  if (!declared) throw fail('unknown_attribute', `space '${space.name}' has no attribute '${attribute}'`, { attribute });
  if (declared.type.kind !== 'bytes') throw fail('invalid_value', `attribute '${attribute}' is ${declared.type.kind}; only a bytes attribute takes a large value`, { attribute });
  return { base: { space: space.name, key, spaceCreatedSeq: space.createdSeq }, attribute };
}

/** The write that commits the value: PUT's conditional forms, with the reference as the one attribute named. */
function commitOperation(ctx: HttpContext, request: LargeRequest, target: LargeTarget, value: Value): Operation {
  const attributes: Attributes = { [target.attribute]: value };
  const base = { ...target.base, attributes, expireIn: expireInQuery(ctx, request) };
  const version = ifMatchVersion(request);
  const createOnly = ifNoneMatchAny(request);
  if (version !== undefined && createOnly) throw fail('bad_request', 'If-Match and If-None-Match cannot be combined');
  if (version !== undefined) return { op: 'compare_and_swap', ...base, version };
  return createOnly ? { op: 'put_if_not_exist', ...base } : { op: 'put', ...base };
}

/**
 * Read the body into fixed-size chunks, each stored before the next is read (the socket is paused
 * meanwhile, so TCP holds the sender back), hashing as it goes; a client too slow for the
 * minimum-progress rule is cut (progress.ts).
 */
async function receive(body: IncomingMessage, values: LargeValues, id: string, limits: Limits): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  // Shared memory, filled again only after the store has taken its bytes: the writer thread reads
  // it where it is, so no chunk is copied into a buffer of its own that the garbage collector then
  // lets pile up (tens of MB at a time).
  const chunk = Buffer.from(new SharedArrayBuffer(LARGE_CHUNK_BYTES));
  let size = 0;
  let filled = 0;
  let index = 0;
  const progress = new UploadProgress(limits);
  // Not destroyed when this stops early: a refused body is still read to its end, so the client reads the refusal.
  const pieces = body.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  try {
    for (let next = await progress.within(pieces.next()); !next.done; next = await progress.within(pieces.next())) {
      const piece = next.value;
      progress.received(piece.length);
      size += piece.length;
      if (size > limits.largeValueBytesMax) {
        throw fail('too_large', `the value is past ${limits.largeValueBytesMax} bytes (largeValueBytesMax)`, { limit: 'largeValueBytesMax' });
      }
      hash.update(piece);
      for (let offset = 0; offset < piece.length;) {
        const n = Math.min(piece.length - offset, LARGE_CHUNK_BYTES - filled);
        piece.copy(chunk, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === LARGE_CHUNK_BYTES) {
          await values.append(id, index++, chunk, Date.now());
          filled = 0;
        }
      }
    }
  } finally {
    // After a stall a read is still pending, and return() waits for it: the closing connection ends it.
    const closing = pieces.return?.().catch(() => undefined);
    if (!progress.stalled) await closing;
  }
  if (!body.complete) throw fail('bad_request', 'the upload was cut before its end; nothing was written');
  if (filled > 0) await values.append(id, index, chunk.subarray(0, filled), Date.now());
  return { size, sha256: hash.digest('hex') };
}

/** Remove a staged value now rather than leave it to the sweeper (which still catches it if this fails). */
async function discard(values: LargeValues, id: string): Promise<void> {
  while (!(await values.drop(id)));
}

async function upload(ctx: HttpContext, values: LargeValues, uploads: LargeUploads, request: LargeRequest, reply: FastifyReply): Promise<void> {
  const target = largeTarget(ctx, request);
  // Any other body type has been parsed already (JSON), or is not meant as the value's bytes.
  if (request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== OCTET_STREAM) {
    throw new SpacekvError('unsupported_media_type', `a large value is sent as ${OCTET_STREAM}`);
  }
  if (ctx.engine.space(target.base.space)?.isIndexed(target.attribute)) {
    throw fail('bad_request', `attribute '${target.attribute}' is indexed; an indexed attribute takes no large value (rm_index first)`, { attribute: target.attribute });
  }
  // Refused before a byte is stored: the scope (the same as the committing write's), the conditions' syntax, a declared size past the limit.
  const probe = commitOperation(ctx, request, target, null);
  ctx.authorize(request, probe);
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > ctx.limits.largeValueBytesMax) {
    throw fail('too_large', `the value is ${declared} bytes; the limit is ${ctx.limits.largeValueBytesMax} (largeValueBytesMax)`, { limit: 'largeValueBytesMax' });
  }
  const id = randomBytes(16).toString('hex');
  const owner: LargeValueOwner = { space: target.base.space, key: target.base.key, attribute: target.attribute };
  uploads.start(id, rateClient(request.access, request.ip));
  let result: Result | undefined;
  let op: Operation = probe;
  const socket = request.raw.socket;
  STREAMED_BODIES.add(socket);
  try {
    await values.begin(id, owner, Date.now());
    const { size, sha256 } = await receive(request.raw, values, id, ctx.limits);
    op = commitOperation(ctx, request, target, largeValueRef(id, size, sha256));
    result = await ctx.perform(request, op);
  } catch (err) {
    // An unknown outcome may have committed the value: the sweeper decides once the store knows.
    if (!(err instanceof SpacekvError && err.code === 'outcome_unknown')) void discard(values, id).catch(() => undefined);
    // A client still sending reads the refusal rather than a broken pipe (as for any refused body).
    if (err instanceof SpacekvError && err.code === 'too_large') await discardRefusedBody(request.raw, ctx.limits);
    // A client too slow to keep its place is not waited for either: the connection closes after the answer.
    if (err instanceof SpacekvError && err.code === 'request_timeout') reply.header('connection', 'close');
    throw err;
  } finally {
    uploads.finish(id);
    STREAMED_BODIES.delete(socket);
  }
  if (!result.ok) void discard(values, id).catch(() => undefined); // a condition that did not hold: nothing refers to the value
  ctx.send(request, reply, op, result, createdStatus);
}

/** A byte range of a value of `size` bytes, from a `Range` header; null for the whole value. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: RFC 9110 lets a server ignore the header and send it all.
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const unsatisfiable = () => new SpacekvError('range_not_satisfiable', `the range '${header}' is outside the value's ${size} bytes`);
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return null; // syntactically invalid: ignored (RFC 9110 §14.1.1)
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

/** Bytes `start` to `end` of a stored value, a chunk at a time as the response takes them. */
async function* storedBytes(values: LargeValues, id: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  const { first, last } = chunkSpan(start, end);
  for (let index = first; index <= last; index++) {
    const chunk = await values.readChunk(id, index);
    if (!chunk) throw new SpacekvError('unavailable', `chunk ${index} of the value is gone (the object was overwritten meanwhile)`);
    const from = index === first ? start - index * LARGE_CHUNK_BYTES : 0;
    const to = index === last ? end - index * LARGE_CHUNK_BYTES + 1 : chunk.length;
    yield chunk.subarray(from, to);
  }
}

async function download(ctx: HttpContext, values: LargeValues, request: LargeRequest, reply: FastifyReply): Promise<void> {
  const target = largeTarget(ctx, request);
  const op: Operation = { op: 'get_partial', ...target.base, select: [target.attribute] };
  const result = await ctx.perform(request, op);
  if (!result.ok || result.kind !== 'object') return ctx.send(request, reply, op, result);
  const value = (parseJson(result.attributesJson) as Attributes)[target.attribute];
  // An inline value (written by a normal PUT) is served the same way, from memory (at most valueBytesMax).
  const inline = isLargeValueRef(value) ? null : Buffer.from(typeof value === 'string' ? value : '', 'base64');
  const size = inline ? inline.length : (value as { $large: { size: number } }).$large.size;
  let range: { start: number; end: number } | null;
  try {
    range = parseRange(request.headers.range, size);
  } catch (err) {
    reply.header('content-range', `bytes */${size}`);
    throw err;
  }
  ctx.counted(request, op, result);
  const { start, end } = range ?? { start: 0, end: size - 1 };
  reply.header('accept-ranges', 'bytes').header('etag', `"${result.version}"`).type(OCTET_STREAM);
  if (!inline) reply.header('x-spacekv-sha256', (value as { $large: { sha256: string } }).$large.sha256);
  if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`);
  reply.header('content-length', String(Math.max(0, end - start + 1)));
  if (inline) return reply.send(inline.subarray(start, end + 1));
  if (end < start) return reply.send(Buffer.alloc(0));
  const id = (value as { $large: { id: string } }).$large.id;
  return reply.send(Readable.from(storedBytes(values, id, start, end), { objectMode: false }));
}

export function registerLargeValueRoutes(app: FastifyInstance, ctx: HttpContext, uploads: LargeUploads): void {
  const values = ctx.engine.store.largeValues;
  void app.register(async (scope) => {
    // The body is read by the handler, a chunk at a time: never parsed, never buffered whole.
    scope.addContentTypeParser(OCTET_STREAM, (_request, _payload, done) => done(null, undefined));
    // largeValueBytesMax is checked by the handler, which answers it with the limit's name.
    scope.put(LARGE_VALUE_PATH, { bodyLimit: Number.MAX_SAFE_INTEGER }, (request: LargeRequest, reply) => {
      if (!values) return sendError(reply, new SpacekvError('bad_request', 'this store keeps no large values'));
      return upload(ctx, values, uploads, request, reply);
    });
    scope.get(LARGE_VALUE_PATH, (request: LargeRequest, reply) => {
      if (!values) return sendError(reply, new SpacekvError('bad_request', 'this store keeps no large values'));
      return download(ctx, values, request, reply);
    });
  });
}
