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
import type { Operation, ObjectOp } from './operations.js';
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

/**
 * One `spaces` caveat, compiled: the names and prefixes it allows, or every space. Names are an
 * array, not a set: a caveat names a few spaces, and comparing with each costs less than hashing.
 */
interface SpacePatterns {
  readonly every: boolean;
  readonly names: readonly string[];
  readonly prefixes: readonly string[];
}

function compileSpaces(patterns: readonly string[]): SpacePatterns {
  return {
    every: patterns.includes('*'),
    names: patterns.filter((p) => !p.endsWith('*')),
    prefixes: patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1)),
  };
}

function spaceAllowed(patterns: SpacePatterns, space: string | undefined): boolean {
  if (patterns.every) return true;
  if (space === undefined) return false;
  for (const name of patterns.names) if (space === name) return true;
  for (const prefix of patterns.prefixes) if (space.startsWith(prefix)) return true;
  return false;
}

function keyAllowed(prefix: string, key: Key | undefined, keyPrefix: string | undefined): boolean {
  if (key !== undefined) return typeof key === 'string' && key.startsWith(prefix);
  return keyPrefix !== undefined && keyPrefix.startsWith(prefix);
}

/** One bit per right, so the `ops` caveats of a scope compile to one mask (a switch: a keyed lookup by a varying name costs more). */
function rightBit(right: Right): number {
  switch (right) {
    case 'read': return 1;
    case 'write': return 2;
    case 'admin': return 4;
    case 'watch': return 8;
  }
}
const EVERY_RIGHT = 15;

/** Spaces whose granted rights a scope remembers; past this it forgets them all and starts again. */
const REMEMBERED_SPACES_MAX = 64;

/**
 * What a token grants, compiled from its caveats once (at verification), then asked per operation:
 * `grants` runs on the hot path of every request, so it allocates nothing and only walks what the
 * caveats restrict (a mask of rights, the `keys` prefixes). The rights granted on a space are
 * worked out from the `spaces` caveats the first time the space is asked about, then remembered by
 * name: a request names a space the catalog holds, the same string each time, whose hash the
 * string keeps, so looking it up costs less than comparing it with each caveat's names.
 */
export class Scope {
  readonly expiresAtMs: number;
  /** The rights every `ops` caveat allows (all of them without one). */
  private readonly rights: number;
  /** Each `spaces` caveat's patterns; a space must match one pattern of every caveat. */
  private readonly spaceCaveats: readonly SpacePatterns[];
  /** Each `keys` caveat's prefix; a key must start with every one. */
  private readonly keyPrefixes: readonly string[];
  /** The rights granted on each space asked about so far (at most REMEMBERED_SPACES_MAX). */
  private readonly spaceRights = new Map<string, number>();
  /**
   * The space asked about last and its rights: a connection mostly asks about one space, the
   * catalog's string each time, so comparing with it costs less than the map's lookup.
   */
  private lastSpace: string | undefined;
  private lastRights = 0;

  constructor(caveats: readonly Caveat[]) {
    let expiresAtMs = Infinity;
    let rights = EVERY_RIGHT;
    const spaceCaveats: SpacePatterns[] = [];
    const keyPrefixes: string[] = [];
    for (const caveat of caveats) {
      switch (caveat.kind) {
        case 'ops': {
          let allowed = 0;
          for (const right of caveat.rights) allowed |= rightBit(right);
          rights &= allowed;
          break;
        }
        case 'spaces':
          spaceCaveats.push(compileSpaces(caveat.patterns));
          break;
        case 'keys':
          keyPrefixes.push(caveat.prefix);
          break;
        case 'expires':
          expiresAtMs = Math.min(expiresAtMs, caveat.atMs); // checked once per request against the clock
          break;
      }
    }
    this.expiresAtMs = expiresAtMs;
    this.rights = rights;
    this.spaceCaveats = spaceCaveats;
    this.keyPrefixes = keyPrefixes;
  }

  /** Whether `right` is granted on `space` (undefined: every space), for `key`, or for every key starting with `keyPrefix` (neither: every key). */
  grants(right: Right, space: string | undefined, key: Key | undefined, keyPrefix: string | undefined): boolean {
    return (this.rightsOn(space) & rightBit(right)) !== 0 && this.keysAllowed(key, keyPrefix);
  }

  /** The rights (a mask) granted on `space`, or on every space when undefined, before any `keys` caveat. */
  private rightsOn(space: string | undefined): number {
    if (this.spaceCaveats.length === 0) return this.rights;
    if (space === undefined) return this.workOutRightsOn(space);
    if (space === this.lastSpace) return this.lastRights;
    let rights = this.spaceRights.get(space);
    if (rights === undefined) {
      rights = this.workOutRightsOn(space);
      if (this.spaceRights.size >= REMEMBERED_SPACES_MAX) this.spaceRights.clear();
      this.spaceRights.set(space, rights);
    }
    this.lastSpace = space;
    this.lastRights = rights;
    return rights;
  }

  /** The rights on `space` (undefined: every space) as the `spaces` caveats grant them, unremembered. */
  private workOutRightsOn(space: string | undefined): number {
    return this.spaceCaveats.every((patterns) => spaceAllowed(patterns, space)) ? this.rights : 0;
  }

  private keysAllowed(key: Key | undefined, keyPrefix: string | undefined): boolean {
    for (const prefix of this.keyPrefixes) if (!keyAllowed(prefix, key, keyPrefix)) return false;
    return true;
  }

  allows(need: Need): boolean {
    return this.grants(need.right, need.space, need.key, need.keyPrefix);
  }

  /** The first need not granted, or undefined when every one is. */
  refused(needs: readonly Need[]): Need | undefined {
    for (const need of needs) if (!this.allows(need)) return need;
    return undefined;
  }

  /**
   * The first need of `op` not granted, or undefined when every one is. An operation on one object
   * (nearly every request) is checked without building its needs: a need is made only to name a refusal.
   */
  refusedOperation(op: Operation): Need | undefined {
    const needed = objectOpRights(op);
    if (needed === undefined) return this.refused(needsOf(op));
    const { space, key } = op as ObjectOp;
    const granted = this.rightsOn(space);
    const keyGranted = this.keysAllowed(key, undefined);
    if (keyGranted && (granted & needed.mask) === needed.mask) return undefined;
    // Refused: name the first right, in needsOf's order, that is not granted.
    const right = keyGranted ? needed.rights.find((r) => (granted & rightBit(r)) === 0) : needed.rights[0];
    return { right: right as Right, space, key };
  }
}

/** A need, as a forbidden error's message names it. */
export function describeNeed(need: Need): string {
  const where = need.space === undefined ? 'every space' : `space '${need.space}'`;
  const keys = need.key !== undefined ? `, key ${JSON.stringify(String(need.key))}` : need.keyPrefix !== undefined ? `, keys '${need.keyPrefix}*'` : '';
  return `'${need.right}' on ${where}${keys}`;
}

/** Rights an operation needs, in the order a refusal names them, and as a mask (checked in one step). */
interface NeededRights {
  readonly rights: readonly Right[];
  readonly mask: number;
}

function neededRights(rights: readonly Right[]): NeededRights {
  return { rights, mask: rights.reduce((mask, right) => mask | rightBit(right), 0) };
}

const READ_ONLY = neededRights(['read']);
const WRITE_ONLY = neededRights(['write']);
const WRITE_AND_READ = neededRights(['write', 'read']);

/** The rights an operation on one object needs on its space and key; undefined for any other operation. */
function objectOpRights(op: ObjectOp): NeededRights;
function objectOpRights(op: Operation): NeededRights | undefined;
function objectOpRights(op: Operation): NeededRights | undefined {
  switch (op.op) {
    case 'get': case 'get_partial':
      return READ_ONLY;
    // These answer the object's contents (before or after the write) as well as writing it.
    case 'get_and_put': case 'get_and_del': case 'mutate':
      return WRITE_AND_READ;
    case 'put': case 'put_if_not_exist': case 'cond_put': case 'cond_put_or_create': case 'compare_and_swap': case 'del': case 'cond_del':
      return WRITE_ONLY;
    default:
      return undefined;
  }
}

function objectNeeds(needed: NeededRights, target: { readonly space: string; readonly key: Key }): Need[] {
  return needed.rights.map((right) => ({ right, space: target.space, key: target.key }));
}

/** Every right `op` needs, on every space (and key) it touches. */
export function needsOf(op: Operation): Need[] {
  switch (op.op) {
    case 'get': case 'get_partial': case 'put': case 'put_if_not_exist': case 'get_and_put': case 'cond_put':
    case 'compare_and_swap': case 'del': case 'cond_del': case 'get_and_del': case 'mutate': case 'cond_put_or_create':
      return objectNeeds(objectOpRights(op), op);
    case 'tx':
      return [...op.checks.flatMap((check) => objectNeeds(READ_ONLY, check)), ...op.ops.flatMap((o) => objectNeeds(objectOpRights(o), o))];
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
