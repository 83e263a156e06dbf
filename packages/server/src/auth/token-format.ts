/**
 * Tokens on the wire: `skv1_` and a macaroon (its v2 JSON form, base64url). A macaroon's identifier names
 * the token record whose root key signed it; each first-party caveat narrows what it grants
 * (core's access.ts), and anyone holding a token can add caveats without the server (attenuate):
 * the HMAC chain lets the server check that none was removed. The `macaroon` package is pure JS
 * (HMAC-SHA256 via sjcl, whose signature comparison is constant-time) and works on Node 20; it is
 * used only here, behind these functions. Its binary export is not used: its buffer doubles on
 * every byte appended, so a token of a few caveats cannot be allocated.
 */
import { type Macaroon, importMacaroon, newMacaroon } from 'macaroon';
import { SpacekvError } from '@spacekv/core';

const PREFIX = 'skv1_';
const LOCATION = 'spacekv';

/** A token as read from the wire, not yet verified. */
export interface DecodedToken {
  /** The token record's id (who minted it). */
  readonly id: string;
  /** Its caveats, in order, unverified until `verify` succeeds. */
  readonly caveats: readonly string[];
  /** Throws unless `rootKey` signed the chain (nothing removed or altered). */
  verify(rootKey: Uint8Array): void;
}

function unauthenticated(message: string): SpacekvError {
  return new SpacekvError('unauthenticated', message);
}

/** A new token of record `id`, signed by `rootKey`, with `caveats` (none: everything the record grants). */
export function mintToken(id: string, rootKey: Uint8Array, caveats: readonly string[]): string {
  const macaroon = newMacaroon({ rootKey, identifier: id, location: LOCATION, version: 2 });
  for (const caveat of caveats) macaroon.addFirstPartyCaveat(caveat);
  return encode(macaroon);
}

function encode(macaroon: Macaroon): string {
  return PREFIX + Buffer.from(JSON.stringify(macaroon.exportJSON())).toString('base64url');
}

/** The macaroon of a token; throws `unauthenticated` for anything that is not one. */
function decode(token: string): Macaroon {
  if (!token.startsWith(PREFIX)) throw unauthenticated(`a spacekv token starts with '${PREFIX}'`);
  try {
    const json: unknown = JSON.parse(Buffer.from(token.slice(PREFIX.length), 'base64url').toString('utf8'));
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a JSON object');
    return importMacaroon(json as Record<string, unknown>);
  } catch (err) {
    throw unauthenticated(`the token cannot be read (${(err as Error).message})`);
  }
}

/** Read a token's id and caveats; throws `unauthenticated` for anything that is not one. */
export function decodeToken(token: string): DecodedToken {
  const macaroon = decode(token);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  return {
    id: decoder.decode(macaroon.identifier),
    caveats: macaroon.caveats.map((c) => decoder.decode(c.identifier)),
    verify(rootKey) {
      try {
        macaroon.verify(rootKey, () => null, []);
      } catch {
        throw unauthenticated('the token\'s signature does not verify: it was altered, or not issued by this server');
      }
    },
  };
}

/**
 * A narrower token: `token` with `caveats` added. Needs no server and no secret; the result can
 * never grant more than `token` (every caveat must hold).
 */
export function attenuateToken(token: string, caveats: readonly string[]): string {
  const macaroon = decode(token);
  for (const caveat of caveats) macaroon.addFirstPartyCaveat(caveat);
  return encode(macaroon);
}
