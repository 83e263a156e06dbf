/**
 * Turns a bearer token into what it grants, and decides each operation (docs/architecture.md §4.9).
 *
 * Verifying a macaroon costs about a quarter of a millisecond (an HMAC per caveat), so a token is
 * verified once and its {@link Access} cached (at most `tokenCacheEntriesMax`); a WebSocket keeps
 * its Access for the connection. A record that changes (revoked here or on another server) marks
 * every cached Access of it revoked at once, and each operation checks that flag and the expiry:
 * two comparisons, no crypto, per operation.
 *
 * An operator-chosen root secret (`SPACEKV_ROOT_TOKEN`) is compared as SHA-256 digests with
 * `timingSafeEqual`, so neither its length nor its prefix leaks through timing; it is never stored.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type Limits, type Need, type Operation, Scope, SpacekvError, type WireError, describeNeed, parseCaveat,
} from '@spacekv/core';
import { decodeToken } from './token-format.js';
import type { TokenRecord, TokenRegistry } from './token-registry.js';

/** What a verified token grants; `revoked` turns true when its record is revoked. */
export interface Access {
  /** The token record's id (`env-root` for the operator's root secret). */
  readonly id: string;
  readonly scope: Scope;
  readonly revoked: boolean;
}

/** Whether a token record is revoked: one per record, shared by every Access of its tokens. */
interface RecordState {
  revoked: boolean;
}

/**
 * An Access reads its record's shared state, so a revocation reaches every Access of the record at
 * once: those in the cache, and those it evicted that a connection still holds (a WebSocket for its
 * lifetime, an HTTP keep-alive connection for its last Authorization header).
 */
class RecordAccess implements Access {
  constructor(readonly id: string, readonly scope: Scope, private readonly state: RecordState) {}

  get revoked(): boolean {
    return this.state.revoked;
  }
}

/** Why `access` no longer holds (revoked, expired), or undefined while it does. */
export function accessRefusal(access: Access | null): WireError | undefined {
  if (access === null) return undefined;
  if (access.revoked) return { code: 'unauthenticated', message: 'the token was revoked' };
  // Most tokens never expire: they cost no clock read.
  const expiresAtMs = access.scope.expiresAtMs;
  if (expiresAtMs !== Infinity && Date.now() >= expiresAtMs) return { code: 'unauthenticated', message: 'the token has expired' };
  return undefined;
}

function throwUnlessHolds(access: Access): void {
  const refusal = accessRefusal(access);
  if (refusal) throw new SpacekvError(refusal.code, refusal.message);
}

function forbidden(refused: Need): SpacekvError {
  return new SpacekvError('forbidden', `the token does not grant ${describeNeed(refused)}`);
}

/** Decide whether `access` may run `needs` (no access: auth is off, everything is allowed). */
export function authorize(access: Access | null, needs: readonly Need[]): void {
  if (access === null) return;
  throwUnlessHolds(access);
  const refused = access.scope.refused(needs);
  if (refused) throw forbidden(refused);
}

/** {@link authorize} for one operation: what every request runs, so it builds no needs unless one is refused. */
export function authorizeOperation(access: Access | null, op: Operation): void {
  if (access === null) return;
  throwUnlessHolds(access);
  const refused = access.scope.refusedOperation(op);
  if (refused) throw forbidden(refused);
}

/** Whom a request is counted against for rate limiting: its token record, or its address without tokens. */
export function rateClient(access: Access | null, address: string): string {
  return access === null ? `address ${address}` : `token ${access.id}`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class Authenticator {
  private readonly cache = new Map<string, Access>();
  /** Per token record verified so far (at most the store's `tokensMax` records). */
  private readonly states = new Map<string, RecordState>();
  private readonly rootSecretDigest: Buffer | undefined;
  /** Failed authentications per client address in the current minute. */
  private readonly failures = new Map<string, { minute: number; count: number }>();

  constructor(private readonly registry: TokenRegistry, private readonly limits: Limits, rootSecret?: string) {
    this.rootSecretDigest = rootSecret === undefined ? undefined : digest(rootSecret);
    registry.onChange((record) => this.forget(record));
  }

  /** Tokens verified and cached now (at most `tokenCacheEntriesMax`). */
  get cacheEntries(): number {
    return this.cache.size;
  }

  /** Addresses whose failed authentications are counted now (at most `authFailureAddressesMax`). */
  get failureAddresses(): number {
    return this.failures.size;
  }

  /**
   * The Access of `token`, presented by `address`; throws `unauthenticated` (no token, or one that
   * does not verify) or `rate_limited` (the address failed too often this minute).
   */
  authenticate(token: string | undefined, address: string): Access {
    const cached = token === undefined ? undefined : this.cache.get(token);
    if (cached && !cached.revoked) return cached;
    this.checkFailures(address);
    try {
      if (token === undefined || token === '') throw new SpacekvError('unauthenticated', 'this server requires a token (Authorization: Bearer <token>)');
      const access = this.verify(token);
      if (this.cache.size >= this.limits.tokenCacheEntriesMax) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(token, access);
      return access;
    } catch (err) {
      this.countFailure(address);
      throw err;
    }
  }

  private verify(token: string): Access {
    if (token.length > this.limits.tokenLengthMax) {
      throw new SpacekvError('unauthenticated', `the token is ${token.length} characters; the limit is ${this.limits.tokenLengthMax}`, { limit: 'tokenLengthMax' });
    }
    if (this.rootSecretDigest && timingSafeEqual(digest(token), this.rootSecretDigest)) return { id: 'env-root', scope: new Scope([]), revoked: false }; // never revoked: not a record
    const decoded = decodeToken(token);
    const record = this.registry.get(decoded.id);
    if (!record) throw new SpacekvError('unauthenticated', 'the token was not issued by this server');
    decoded.verify(record.rootKey);
    if (record.revoked) throw new SpacekvError('unauthenticated', 'the token was revoked');
    let scope: Scope;
    try {
      scope = new Scope([...record.caveats, ...decoded.caveats].map(parseCaveat));
    } catch (err) {
      throw new SpacekvError('unauthenticated', `the token carries a caveat this server does not know: ${(err as Error).message}`);
    }
    if (Date.now() >= scope.expiresAtMs) throw new SpacekvError('unauthenticated', 'the token has expired');
    return new RecordAccess(record.id, scope, this.stateOf(record.id));
  }

  private stateOf(id: string): RecordState {
    let state = this.states.get(id);
    if (!state) {
      state = { revoked: false };
      this.states.set(id, state);
    }
    return state;
  }

  /** A record changed: its cached tokens are verified afresh next time, and every Access of it, cached or held, sees `revoked`. */
  private forget(record: TokenRecord): void {
    const state = this.states.get(record.id);
    if (state && record.revoked) state.revoked = true; // a record is never un-revoked
    for (const [token, access] of this.cache) {
      if (access.id === record.id) this.cache.delete(token);
    }
  }

  private checkFailures(address: string): void {
    const entry = this.failures.get(address);
    if (entry && entry.minute === currentMinute() && entry.count >= this.limits.authFailuresPerMinuteMax) {
      throw new SpacekvError('rate_limited', `${entry.count} failed authentications from ${address} this minute; retry in a minute`, { limit: 'authFailuresPerMinuteMax' });
    }
  }

  private countFailure(address: string): void {
    const minute = currentMinute();
    const entry = this.failures.get(address);
    if (entry && entry.minute === minute) {
      entry.count++;
      return;
    }
    this.failures.delete(address);
    // Bounded: the oldest address's count goes first (insertion order is age order here).
    if (this.failures.size >= this.limits.authFailureAddressesMax) this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(address, { minute, count: 1 });
  }
}

function currentMinute(): number {
  return Math.floor(Date.now() / 60_000);
}
