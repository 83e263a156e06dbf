/**
 * Array parameters written as PostgreSQL array literals (`{...}` text, sent untyped and read by the
 * statement's own cast, `$2::bytea[]`), rather than as JavaScript arrays for postgres.js to encode.
 *
 * The driver can only encode an array once it has fetched the database's array types, which it
 * does on each new connection (`fetch_types`); a statement built before that answer has been
 * applied (a fresh connection during a failover, seen in the failover test) was sent with its
 * element's type, and PostgreSQL refused it (42846, "cannot cast type bytea to bytea[]"): a
 * request answered `internal`. Written here, the literal needs nothing from the connection, so the
 * store turns `fetch_types` off altogether. The text is what the driver itself would have sent.
 */

/** Characters that end or escape a quoted element. */
const QUOTED_SPECIALS = /[\\"]/g;

function quoted(text: string): string {
  return `"${text.replace(QUOTED_SPECIALS, '\\$&')}"`;
}

/** `bytea[]`: each element as bytea's hex text (`\x0a0b`), quoted. */
export function byteaArray(values: readonly Uint8Array[]): string {
  return `{${values.map((v) => `"\\\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}"`).join(',')}}`;
}

/** `text[]`: null for SQL NULL. */
export function textArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : quoted(v))).join(',')}}`;
}

/** `int2[]` to `int8[]`: safe integers, or null for SQL NULL. */
export function integerArray(values: readonly (number | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}
