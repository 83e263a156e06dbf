/**
 * Serves the web console (`@spacekv/console`, built by `npm run build`) at /console, from memory:
 * the bundle is a few files read once at start. Caching follows the build's naming: assets carry a
 * hash of their content, so browsers may keep them for a year (`immutable`); the page itself is
 * `no-cache`, so a new server version is picked up on the next load. A strict content security
 * policy lets the page run only its own script and style and talk only to its own origin.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SpacekvError } from '@spacekv/core';
import { sendError } from './errors.js';

export const CONSOLE_PATH = '/console';

/** The page may load only what this server serves; `'self'` covers the same-origin WebSocket. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data:",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzipped: Buffer;
  readonly etag: string;
  readonly cacheControl: string;
}

function asset(path: string, cacheControl: string): Asset {
  const body = readFileSync(path);
  return {
    type: TYPES[extname(path)] ?? 'application/octet-stream',
    body,
    gzipped: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    cacheControl,
  };
}

/** Where the built console lives, or undefined when it was never built. */
function consoleDist(): string | undefined {
  try {
    const dir = join(dirname(createRequire(import.meta.url).resolve('@spacekv/console/package.json')), 'dist');
    return existsSync(join(dir, 'index.html')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

function send(request: FastifyRequest, reply: FastifyReply, file: Asset): FastifyReply {
  reply.header('cache-control', file.cacheControl).header('etag', file.etag).header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  reply.type(file.type);
  if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(file.gzipped);
  return reply.send(file.body);
}

/** Adds GET /console (the page) and GET /console/assets/:file; without a built console, logs why and adds nothing. */
export function registerConsoleRoutes(app: FastifyInstance, logger: FastifyBaseLogger): void {
  const dist = consoleDist();
  if (!dist) {
    logger.warn('the web console is not built (npm run build); /console is not served');
    return;
  }
  const page = asset(join(dist, 'index.html'), 'no-cache');
  const assets = new Map(readdirSync(join(dist, 'assets')).map((name) => [name, asset(join(dist, 'assets', name), 'public, max-age=31536000, immutable')]));

  app.get(CONSOLE_PATH, (request, reply) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
    return send(request, reply, page);
  });
  app.get(`${CONSOLE_PATH}/assets/:file`, (request, reply) => {
    const name = (request.params as { file: string }).file;
    const file = assets.get(name);
    // An old page may ask for an asset of an earlier build: a plain 404, which a reload cures.
    if (!file) return sendError(reply, new SpacekvError('no_route', `the console has no asset '${name.slice(0, 100)}'; reload the page`));
    return send(request, reply, file);
  });
}
