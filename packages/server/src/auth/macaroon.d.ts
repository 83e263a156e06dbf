/** The part of the `macaroon` package (pure JS, HMAC-SHA256 chains) that token-format.ts uses. */
declare module 'macaroon' {
  export interface Macaroon {
    readonly identifier: Uint8Array;
    /** A third-party caveat also has its location and verification id. */
    readonly caveats: readonly { readonly identifier: Uint8Array; readonly location?: string; readonly vid?: Uint8Array }[];
    readonly signature: Uint8Array;
    addFirstPartyCaveat(caveat: string): void;
    /** Throws unless the signature chain from `rootKey` holds and `check` (null: satisfied) accepts every caveat. */
    verify(rootKey: Uint8Array, check: (caveat: string) => string | null, discharges: readonly Macaroon[]): void;
  }
  export function newMacaroon(params: { rootKey: Uint8Array; identifier: string | Uint8Array; location: string; version: 2 }): Macaroon;
  /** From the v2 binary form (bytes) or the v2 JSON form (an object); throws on a malformed one. */
  export function importMacaroon(data: Uint8Array | Record<string, unknown>): Macaroon;
}
