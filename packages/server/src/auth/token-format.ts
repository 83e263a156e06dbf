/**
 * Tokens on the wire: `skv1_` and a macaroon (binary v2, base64url). A macaroon's identifier names
 * the token record whose root key signed it; each first-party caveat narrows what it grants
 * (core's access.ts), and anyone holding a token can add caveats without the server (attenuate):
 * the HMAC chain lets the server check that none was removed. The `macaroon` package is pure JS
 * (HMAC-SHA256 via sjcl, whose signature comparison is constant-time) and works on Node 20; it is
 * used only here, behind these functions.
 */
import { importMacaroon, newMacaroon } from 'macaroon';
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
  return PREFIX + Buffer.from(macaroon.exportBinary()).toString('base64url');
}

/** Read a token's id and caveats; throws `unauthenticated` for anything that is not one. */
export function decodeToken(token: string): DecodedToken {
  if (!token.startsWith(PREFIX)) throw unauthenticated(`a spacekv token starts with '${PREFIX}'`);
  const bytes = Buffer.from(token.slice(PREFIX.length), 'base64url');
  let macaroon;
  try {
    macaroon = importMacaroon(bytes);
  } catch (err) {
    throw unauthenticated(`the token cannot be read (${(err as Error).message})`);
  }
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
  if (!token.startsWith(PREFIX)) throw unauthenticated(`a spacekv token starts with '${PREFIX}'`);
  const macaroon = importMacaroon(Buffer.from(token.slice(PREFIX.length), 'base64url'));
  for (const caveat of caveats) macaroon.addFirstPartyCaveat(caveat);
  return PREFIX + Buffer.from(macaroon.exportBinary()).toString('base64url');
}
