/**
 * Object keys as PostgreSQL stores them: `bytea` whose byte order (memcmp, shorter first: the order
 * of bytea on PostgreSQL, CockroachDB and YugabyteDB alike) is core's key order, so no column needs
 * a collation (`COLLATE "C"` is not portable) and one table holds the keys of every space whatever
 * their type.
 * - int keys: core's index bytes for an int (index-key.ts: the int64 plus 2^63, big-endian);
 * - string keys (and timestamps, whose keys are their canonical text): UTF-8. Core orders keys by
 *   code point (search.ts compareKeys), and UTF-8 bytes order exactly so; index-key.ts's UTF-16
 *   bytes order by code unit, which differs above U+FFFF, so keys do not use them.
 */
import { type Key, type KeyTypeName, scalarIndexKey } from '@spacekv/core';

const INT = { kind: 'int' } as const;

export function keyBytes(key: Key): Buffer {
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  const bytes = scalarIndexKey(INT, key);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The key `keyBytes` encoded; an int within ±2^53 comes back a number, as the rest of the server has it. */
export function keyFromBytes(bytes: Uint8Array, keyType: KeyTypeName): Key {
  if (keyType !== 'int') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const value = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0) - 2n ** 63n;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
