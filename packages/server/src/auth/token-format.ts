/**
 * Tokens on the wire: `skv2_` and a macaroon in its v2 binary form, base64url. A macaroon's
 * identifier names the token record whose root key signed it; each first-party caveat narrows what
 * it grants (core's access.ts), and anyone holding a token can add caveats without the server
 * (attenuate): the HMAC chain lets the server check that none was removed. The `macaroon` package
 * is pure JS (HMAC-SHA256 via sjcl, whose signature comparison is constant-time) and works on
 * Node 20; it is used only here, behind these functions.
 *
 * Why binary, and written here: a REST client sends its token in every request's Authorization
 * header, and the server's HTTP parser and header handling cost instructions per byte of it
 * (callgrind: ~8 per byte, several percent of a REST get). The v2 JSON form of a typical token is
 * ~230 characters; the binary form, without the location no verification reads, ~150. The
 * package's own binary export is not used: its buffer doubles on every byte appended, so a token
 * of a few caveats cannot be allocated. Tokens minted before (`skv1_`, the v2 JSON form) are still
 * read, and attenuating one gives a `skv2_` token.
 */
import { type Macaroon, importMacaroon, newMacaroon } from 'macaroon';
import { SpacekvError } from '@spacekv/core';

const PREFIX = 'skv2_';
/** The v2 JSON form, base64url: what tokens were before `skv2_`. */
const JSON_PREFIX = 'skv1_';
const LOCATION = 'spacekv';

/** Field types of the macaroon v2 binary format. */
const FIELD_EOS = 0;
const FIELD_LOCATION = 1;
const FIELD_IDENTIFIER = 2;
const FIELD_VID = 4;
const FIELD_SIGNATURE = 6;
const VERSION_2 = 2;

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

/** A field of the v2 binary format: its type, its length as a varint, its bytes. */
function field(type: number, data: Uint8Array): Buffer[] {
  const length: number[] = [];
  let n = data.length;
  while (n >= 0x80) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return [Buffer.from([type, ...length]), Buffer.from(data)];
}

const EOS = Buffer.from([FIELD_EOS]);

/** The v2 binary form of `macaroon`, without its location (no check reads it; caveats keep theirs). */
function encodeBinary(macaroon: Macaroon): Buffer {
  const parts: Buffer[] = [Buffer.from([VERSION_2]), ...field(FIELD_IDENTIFIER, macaroon.identifier), EOS];
  for (const caveat of macaroon.caveats) {
    if (caveat.location) parts.push(...field(FIELD_LOCATION, Buffer.from(caveat.location)));
    parts.push(...field(FIELD_IDENTIFIER, caveat.identifier));
    if (caveat.vid !== undefined) parts.push(...field(FIELD_VID, caveat.vid));
    parts.push(EOS);
  }
  parts.push(EOS, ...field(FIELD_SIGNATURE, macaroon.signature));
  return Buffer.concat(parts);
}

function encode(macaroon: Macaroon): string {
  return PREFIX + encodeBinary(macaroon).toString('base64url');
}

/** The macaroon of a token; throws `unauthenticated` for anything that is not one. */
function decode(token: string): Macaroon {
  const binary = token.startsWith(PREFIX);
  if (!binary && !token.startsWith(JSON_PREFIX)) throw unauthenticated(`a spacekv token starts with '${PREFIX}'`);
  try {
    const text = token.slice(PREFIX.length);
    const bytes = Buffer.from(text, 'base64url');
    // Node's decoder skips characters outside the alphabet and a dangling last one: a token read
    // back must be exactly what was minted, not any string that decodes to the same bytes.
    if (bytes.toString('base64url') !== text) throw new Error('not the base64url its bytes encode to');
    if (binary) return importMacaroon(new Uint8Array(bytes));
    const json: unknown = JSON.parse(bytes.toString('utf8'));
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
