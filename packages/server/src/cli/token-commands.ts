/**
 * `spacekv token create|attenuate|list|revoke` (docs/security.md). `create`, `list` and `revoke`
 * ask the server (REST, `/v1/tokens`) with a token that may manage tokens (`--token`,
 * SPACEKV_TOKEN); `attenuate` needs no server: it adds caveats to a token, which then grants at
 * most what both allow.
 */
import { Command, Option } from 'commander';
import { RIGHTS, type Right, type ScopeRequest, SpacekvError, type WireError, caveatsOf, isErrorCode } from '@spacekv/core';
import { attenuateToken } from '../auth/token-format.js';
import { printFailure, printResult } from './client-commands.js';

interface ScopeOptions { ops?: string; spaces?: string; keys?: string; expiresIn?: number }

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new SpacekvError('bad_request', `expected seconds (a whole number above 0), got '${value}'`);
  return n;
}

function withScopeOptions(command: Command): Command {
  return command
    .option('--ops <rights>', `comma-separated rights among ${RIGHTS.join(', ')}`)
    .option('--spaces <spaces>', "comma-separated space names, prefixes ending in '*', or '*'")
    .option('--keys <prefix>', 'only keys starting with this prefix')
    .option('--expires-in <seconds>', 'expires after this many seconds', seconds);
}

function scopeOf(options: ScopeOptions): ScopeRequest {
  const ops = options.ops?.split(',');
  if (ops && !ops.every((op): op is Right => (RIGHTS as readonly string[]).includes(op))) {
    throw new SpacekvError('bad_request', `--ops takes ${RIGHTS.join(', ')}`);
  }
  return {
    ...(ops ? { ops } : {}),
    ...(options.spaces ? { spaces: options.spaces.split(',') } : {}),
    ...(options.keys !== undefined ? { keys: options.keys } : {}),
    ...(options.expiresIn !== undefined ? { expiresAtMs: Date.now() + options.expiresIn * 1000 } : {}),
  };
}

/** One REST call to /v1/tokens with the program's token; the body's JSON, or its catalogue error thrown. */
async function tokensApi(program: Command, method: string, path: string, body?: unknown): Promise<unknown> {
  const { url, token } = program.opts<{ url: string; token?: string }>();
  let response: Response;
  try {
    response = await fetch(new URL(path, url), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new SpacekvError('unavailable', `cannot reach ${url}: ${(err as Error).message}`);
  }
  const json = (await response.json()) as { ok?: boolean; error?: Partial<WireError> };
  if (json.ok !== false) return json;
  const code = json.error?.code ?? 'internal';
  throw new SpacekvError(isErrorCode(code) ? code : 'internal', json.error?.message ?? `HTTP ${response.status}`);
}

function action(fn: (...args: never[]) => Promise<unknown>) {
  return async (...args: unknown[]): Promise<void> => {
    try {
      printResult(await fn(...(args as never[])));
    } catch (err) {
      printFailure(err);
    }
  };
}

export function tokenCommand(program: Command): Command {
  const token = new Command('token').description('manage tokens: create, attenuate, list, revoke (docs/security.md)');
  withScopeOptions(token.command('create').description('create a token record and print {id, token}; no option: a token that grants everything')
    .addOption(new Option('--label <text>', 'what the token is for, shown by list')))
    .action(action(async (options: ScopeOptions & { label?: string }) => {
      const { ops, spaces, keys, expiresIn } = options;
      return tokensApi(program, 'POST', '/v1/tokens', {
        ...(options.label !== undefined ? { label: options.label } : {}),
        ...(ops ? { ops: ops.split(',') } : {}), ...(spaces ? { spaces: spaces.split(',') } : {}),
        ...(keys !== undefined ? { keys } : {}), ...(expiresIn !== undefined ? { expires_in: expiresIn } : {}),
      });
    }));
  withScopeOptions(token.command('attenuate').description('print a narrower token (offline: no server, no secret): <token> with these caveats added')
    .argument('[token]', 'the token to narrow; default --token / SPACEKV_TOKEN'))
    .action(action(async (given: string | undefined, options: ScopeOptions) => {
      const wide = given ?? program.opts<{ token?: string }>().token;
      if (!wide) throw new SpacekvError('bad_request', 'give the token to attenuate (argument, --token or SPACEKV_TOKEN)');
      const caveats = caveatsOf(scopeOf(options));
      if (caveats.length === 0) throw new SpacekvError('bad_request', 'give at least one of --ops, --spaces, --keys, --expires-in');
      return { token: attenuateToken(wide, caveats), caveats };
    }));
  token.command('list').description('list token records (id, label, created_at, caveats, revoked; never a secret)')
    .action(action(() => tokensApi(program, 'GET', '/v1/tokens')));
  token.command('revoke').description('revoke a token record: its tokens, and every token attenuated from them, are refused at once on every server')
    .argument('<id>')
    .action(action((id: string) => tokensApi(program, 'DELETE', `/v1/tokens/${encodeURIComponent(id)}`)));
  return token;
}
