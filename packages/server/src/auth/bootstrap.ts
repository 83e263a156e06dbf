/**
 * Whether this server requires tokens, and its first start (docs/architecture.md §4.9, docs/security.md).
 *
 * On loopback, tokens may be off for development (the default there, said in the startup log).
 * Listening beyond loopback requires them, unless `--insecure-no-auth`, which warns on every start;
 * a server is never open to its network by accident. The first start with tokens creates the root
 * token record, prints its token once (stderr) and writes it to `<data>/root-token`, readable by
 * the owner only; or the operator brings a root secret in SPACEKV_ROOT_TOKEN.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SpacekvError } from '@spacekv/core';
import type { ServerConfig } from '../config.js';
import type { Engine } from '../engine/engine.js';
import type { ChangeFeed } from '../events/change-feed.js';
import { isLoopbackHost } from '../front/browser-guard.js';
import { Authenticator } from './authenticator.js';
import { ROOT_TOKEN_ID, TokenRegistry } from './token-registry.js';

/** Characters an operator's root secret needs at least (about 190 bits of base64). */
const ROOT_SECRET_LENGTH_MIN = 32;

export interface AuthSetup {
  readonly authenticator: Authenticator;
  readonly registry: TokenRegistry;
}

/** Whether `config` requires tokens; throws (the server must not start) when it would be open beyond loopback. */
export function authRequired(config: ServerConfig, logger: Logger): boolean {
  const loopback = isLoopbackHost(config.host);
  const required = config.auth === 'on' || (config.auth === 'auto' && !loopback);
  if (required) return true;
  if (loopback) {
    logger.info({ host: config.host }, 'auth is off: listening on loopback only, every local process and user may do anything (start with --auth on to require tokens)');
    return false;
  }
  if (!config.insecureNoAuth) {
    throw new SpacekvError('bad_request', `refusing to listen on ${config.host} without auth: anyone who can reach it could read, write and drop every space. ` +
      'Leave --auth at auto (tokens are then required), or listen on 127.0.0.1, or pass --insecure-no-auth if a network you trust is all that reaches it');
  }
  logger.warn({ host: config.host }, 'INSECURE: auth is off on a non-loopback address (--insecure-no-auth); anyone who can reach it may read, write and drop every space');
  return false;
}

/** Open the token records, bootstrap the root token on the first start, and build the authenticator. */
export async function setUpAuth(config: ServerConfig, engine: Engine, feed: ChangeFeed, logger: Logger): Promise<AuthSetup> {
  if (config.rootToken !== undefined && config.rootToken.length < ROOT_SECRET_LENGTH_MIN) {
    throw new SpacekvError('bad_request', `SPACEKV_ROOT_TOKEN must be at least ${ROOT_SECRET_LENGTH_MIN} characters (e.g. openssl rand -base64 32)`);
  }
  const registry = new TokenRegistry(engine, feed, engine.limits);
  await registry.open();
  if (config.rootToken === undefined && !registry.get(ROOT_TOKEN_ID)) {
    const created = await registry.create('root', [], ROOT_TOKEN_ID);
    if (created) announceRootToken(config, created.token, logger); // undefined: another server sharing the store made it first
  }
  logger.info({ tokens: registry.list().filter((t) => !t.revoked).length, rootSecret: config.rootToken !== undefined }, 'auth is on: every request needs a token');
  return { authenticator: new Authenticator(registry, engine.limits, config.rootToken), registry };
}

function announceRootToken(config: ServerConfig, token: string, logger: Logger): void {
  let file: string | undefined = join(config.dataDir, 'root-token');
  try {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    logger.warn({ err, file }, 'could not write the root token file; it is printed below only');
    file = undefined;
  }
  process.stderr.write(`\nspacekv: created the root token (it grants everything; shown only this once${file ? `, and kept in ${file}, mode 0600` : ''}):\n\n  ${token}\n\n`);
  logger.info({ file }, 'root token created');
}
