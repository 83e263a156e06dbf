/**
 * Object keys as PostgreSQL stores them: `bytea` whose byte order (memcmp, shorter first: the order
 * of bytea on PostgreSQL, CockroachDB and YugabyteDB alike) is core's key order, so no column needs
 * a collation (`COLLATE "C"` is not portable) and one table holds the keys of every space whatever
 * their type.
 * - int keys: core's index bytes for an int (index-key.ts: the int64 plus 2^63, big-endian);
 * - float keys: core's index bytes for a float (index-key.ts: the IEEE 754 bits, sign flipped, all
 *   bits flipped when negative), which order as the values do and give the double back bit for bit;
 * - string keys (and timestamps, whose keys are their canonical text): UTF-8. Core orders keys by
 *   code point (search.ts compareKeys), and UTF-8 bytes order exactly so; index-key.ts's UTF-16
 *   bytes order by code unit, which differs above U+FFFF, so keys do not use them.
 * The key's type picks the encoding: a float key that happens to be whole (2) is a JS number like
 * an int key, but must get the float bytes to order among its space's other keys.
 */
import { type Key, type KeyTypeName, scalarIndexKey } from '@spacekv/core';

export function keyBytes(key: Key, keyType: KeyTypeName): Buffer {
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  const bytes = scalarIndexKey({ kind: keyType === 'float' ? 'float' : 'int' }, key);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The key `keyBytes` encoded; an int within ±2^53 comes back a number, as the rest of the server has it. */
export function keyFromBytes(bytes: Uint8Array, keyType: KeyTypeName): Key {
  if (keyType === 'float') return floatFromBytes(bytes);
  if (keyType !== 'int') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const value = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0) - 2n ** 63n;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Undo index-key.ts's float flip: a set top bit marks a non-negative value (only that bit was flipped). */
function floatFromBytes(bytes: Uint8Array): number {
  const bits = Uint8Array.from(bytes);
  if ((bits[0] as number) & 0x80) bits[0] = (bits[0] as number) & 0x7f;
  else for (let i = 0; i < 8; i++) bits[i] = ~(bits[i] as number) & 0xff;
  return new DataView(bits.buffer).getFloat64(0);
}
