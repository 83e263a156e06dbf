/**
 * Who may do what (docs/architecture.md §4.9): the rights an operation needs, and the scope a token grants.
 *
 * A token is a macaroon whose first-party caveats narrow what it grants; a token without caveats
 * grants everything. Every caveat must hold for every need of an operation, so a holder who adds
 * caveats (attenuation) can only narrow a token, never widen it. The caveat language, one caveat
 * per string:
 *
 * - `ops = read,write` — only these rights (`read`, `write`, `admin`, `watch`);
 * - `spaces = users,logs_*` — only these spaces: a name, a prefix ending in `*`, or `*` for all;
 * - `keys = user_42/` — only objects whose (string) key starts with this prefix;
 * - `expires = 2027-01-01T00:00:00Z` — not after this instant (ISO 8601).
 *
 * Operations that name no single key (search, count, group ops, a watch of a whole space) need a
 * token without a `keys` caveat, except a `list` or watch whose own prefix lies within it.
 * Operations that span every space (`list_spaces`, a watch of everything, token management) need
 * a token whose `spaces` caveats all allow `*`.
 */
import { fail } from './errors.js';
import type { Operation, ObjectOp, TxCheck } from './operations.js';
import type { WatchSpec } from './events.js';
import type { Key } from './types.js';

export const RIGHTS = ['read', 'write', 'admin', 'watch'] as const;
export type Right = (typeof RIGHTS)[number];

/**
 * The space that holds the server's token records. Its name fits the space-name grammar, so every
 * store can hold it, and `_spacekv` starts no name a user may give (see {@link isSystemSpace}).
 */
export const TOKENS_SPACE = '_spacekv_tokens';

/** Spaces of the server's own: no request names them, no listing or event shows them. */
export function isSystemSpace(name: string): boolean {
  return name.startsWith('_spacekv');
}

/** One thing an operation needs: a right on a space (undefined: on every space), for a key or a key prefix. */
export interface Need {
  readonly right: Right;
  readonly space?: string;
  /** The one key it touches; absent with `keyPrefix` absent: every key of the space. */
  readonly key?: Key;
  /** Every key it touches starts with this. */
  readonly keyPrefix?: string;
}

export type Caveat =
  | { readonly kind: 'ops'; readonly rights: ReadonlySet<Right> }
  | { readonly kind: 'spaces'; readonly patterns: readonly string[] }
  | { readonly kind: 'keys'; readonly prefix: string }
  | { readonly kind: 'expires'; readonly atMs: number };

const CAVEAT_PATTERN = /^([a-z]+) = (.*)$/s;

/** Parse one caveat; throws `bad_request` for one this server does not know (a macaroon then fails). */
export function parseCaveat(text: string): Caveat {
  const match = CAVEAT_PATTERN.exec(text);
  const name = match?.[1];
  const value = match?.[2] ?? '';
  switch (name) {
    case 'ops': {
      const rights = value.split(',');
      if (!rights.every((r): r is Right => (RIGHTS as readonly string[]).includes(r))) {
        throw fail('bad_request', `caveat '${text}': ops are ${RIGHTS.join(', ')}`);
      }
      return { kind: 'ops', rights: new Set(rights) };
    }
    case 'spaces': {
      const patterns = value.split(',');
      if (patterns.some((p) => p.length === 0 || p.indexOf('*') !== -1 && p.indexOf('*') !== p.length - 1)) {
        throw fail('bad_request', `caveat '${text}': spaces are names, prefixes ending in '*', or '*'`);
      }
      return { kind: 'spaces', patterns };
    }
    case 'keys':
      return { kind: 'keys', prefix: value };
    case 'expires': {
      const atMs = Date.parse(value);
      if (!/^\d{4}-\d\d-\d\dT/.test(value) || !Number.isFinite(atMs)) throw fail('bad_request', `caveat '${text}': expires takes an ISO 8601 instant`);
      return { kind: 'expires', atMs };
    }
    default:
      throw fail('bad_request', `unknown caveat '${text.slice(0, 80)}' (caveats: ops, spaces, keys, expires)`);
  }
}

/** The caveat text of each part of a scope a user asks for (CLI, REST token creation). */
export interface ScopeRequest {
  readonly ops?: readonly Right[];
  readonly spaces?: readonly string[];
  readonly keys?: string;
  readonly expiresAtMs?: number;
}

/** The caveats that grant `request`, each checked by {@link parseCaveat}. */
export function caveatsOf(request: ScopeRequest): string[] {
  const texts: string[] = [];
  if (request.ops !== undefined) texts.push(`ops = ${request.ops.join(',')}`);
  if (request.spaces !== undefined) texts.push(`spaces = ${request.spaces.join(',')}`);
  if (request.keys !== undefined) texts.push(`keys = ${request.keys}`);
  if (request.expiresAtMs !== undefined) texts.push(`expires = ${new Date(request.expiresAtMs).toISOString()}`);
  for (const text of texts) parseCaveat(text);
  return texts;
}

function spaceAllowed(patterns: readonly string[], space: string | undefined): boolean {
  return patterns.some((p) => p === '*' || (space !== undefined && (p.endsWith('*') ? space.startsWith(p.slice(0, -1)) : space === p)));
}

function keyAllowed(prefix: string, need: Need): boolean {
  if (need.key !== undefined) return typeof need.key === 'string' && need.key.startsWith(prefix);
  return need.keyPrefix !== undefined && need.keyPrefix.startsWith(prefix);
}

/**
 * What a token grants, compiled from its caveats once (at verification), then asked per operation:
 * `allows` runs on the hot path of every request, so it only walks the token's few caveats.
 */
export class Scope {
  readonly expiresAtMs: number;

  constructor(readonly caveats: readonly Caveat[]) {
    let expiresAtMs = Infinity;
    for (const caveat of caveats) if (caveat.kind === 'expires') expiresAtMs = Math.min(expiresAtMs, caveat.atMs);
    this.expiresAtMs = expiresAtMs;
  }

  allows(need: Need): boolean {
    for (const caveat of this.caveats) {
      switch (caveat.kind) {
        case 'ops':
          if (!caveat.rights.has(need.right)) return false;
          break;
        case 'spaces':
          if (!spaceAllowed(caveat.patterns, need.space)) return false;
          break;
        case 'keys':
          if (!keyAllowed(caveat.prefix, need)) return false;
          break;
        case 'expires':
          break; // checked once per request against the clock, see expiresAtMs
      }
    }
    return true;
  }

  /** The first need not granted, or undefined when every one is. */
  refused(needs: readonly Need[]): Need | undefined {
    return needs.find((need) => !this.allows(need));
  }
}

/** A need, as a forbidden error's message names it. */
export function describeNeed(need: Need): string {
  const where = need.space === undefined ? 'every space' : `space '${need.space}'`;
  const keys = need.key !== undefined ? `, key ${JSON.stringify(String(need.key))}` : need.keyPrefix !== undefined ? `, keys '${need.keyPrefix}*'` : '';
  return `'${need.right}' on ${where}${keys}`;
}

function objectNeeds(op: ObjectOp | TxCheck): Need[] {
  const base = { space: op.space, key: op.key };
  if ('check' in op) return [{ right: 'read', ...base }];
  switch (op.op) {
    case 'get':
    case 'get_partial':
      return [{ right: 'read', ...base }];
    // These answer the object's contents (before or after the write) as well as writing it.
    case 'get_and_put':
    case 'get_and_del':
    case 'mutate':
      return [{ right: 'write', ...base }, { right: 'read', ...base }];
    default:
      return [{ right: 'write', ...base }];
  }
}

/** Every right `op` needs, on every space (and key) it touches. */
export function needsOf(op: Operation): Need[] {
  switch (op.op) {
    case 'get': case 'get_partial': case 'put': case 'put_if_not_exist': case 'get_and_put': case 'cond_put':
    case 'compare_and_swap': case 'del': case 'cond_del': case 'get_and_del': case 'mutate': case 'cond_put_or_create':
      return objectNeeds(op);
    case 'tx':
      return [...op.checks.flatMap(objectNeeds), ...op.ops.flatMap(objectNeeds)];
    case 'list':
      return [{ right: 'read', space: op.space, ...(op.range.prefix !== undefined ? { keyPrefix: op.range.prefix } : {}) }];
    case 'search': case 'sorted_search': case 'count': case 'describe_space':
      return [{ right: 'read', space: op.space }];
    case 'group_del': case 'group_mutate':
      return [{ right: 'write', space: op.space }, { right: 'read', space: op.space }];
    case 'list_spaces':
      return [{ right: 'read' }];
    case 'add_space':
      return [{ right: 'admin', space: op.schema.name }];
    case 'rm_space': case 'add_index': case 'rm_index':
      return [{ right: 'admin', space: op.space }];
    case 'expire':
      return [{ right: 'write', space: op.space, key: op.key }]; // internal (the TTL sweeper); no front parses it
  }
}

/** What a watch needs: `watch` on its space (every space when it names none), within its key or prefix. */
export function needsOfWatch(spec: WatchSpec): Need[] {
  return [{
    right: 'watch',
    ...(spec.space !== undefined ? { space: spec.space } : {}),
    ...(spec.key !== undefined ? { key: spec.key } : {}),
    ...(spec.prefix !== undefined ? { keyPrefix: spec.prefix } : {}),
  }];
}

/** Token management (create, list, revoke): admin on every space and every key. */
export const MANAGE_TOKENS_NEED: Need = { right: 'admin' };
