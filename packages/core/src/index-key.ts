/**
 * The bytes a secondary index stores for a value: an order-preserving encoding, so that comparing
 * two encodings byte by byte (memcmp, then shorter first: SQLite's BLOB order and PostgreSQL's
 * bytea order) gives exactly `compareScalars` on the values. A store can then answer `eq`, ranges
 * and `prefix` from an ordinary B-tree without knowing any type, and can never disagree with the
 * in-memory semantics (int64 past 2^53, UTF-16 string order, -0, bools).
 *
 * | type                      | bytes                                                         |
 * |---------------------------|---------------------------------------------------------------|
 * | string, bytes, timestamp  | UTF-16 code units, big-endian (JS string order; bytes and      |
 * |                           | timestamps compare as their canonical text, as in core)        |
 * | int                       | the int64 plus 2^63, 8 bytes big-endian                       |
 * | float                     | IEEE 754 bits, sign flipped (all bits flipped when negative)  |
 * | bool                      | one byte, 0 or 1                                               |
 *
 * A list or set is indexed by each distinct element, a map by each key (as its canonical text):
 * that is what `contains` asks. A whole document is never indexed; a path into one (`info.name`) is,
 * by the JSON scalar found there, typed by a leading tag byte so that kinds never mix and each kind
 * keeps its order: bool `01`, number `02` + the float bytes, string `03` + the text bytes. A path
 * that is absent or holds null, a list or an object has no entry (`eq`, ranges and `prefix` on a
 * path only ever match scalars).
 */
import { readName } from './paths.js';
import type { Space } from './schema.js';
import type { AttributeType, Attributes, ScalarType, Value } from './types.js';

export type IndexKey = Uint8Array;

function textKey(text: string): IndexKey {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[i * 2] = unit >> 8;
    out[i * 2 + 1] = unit & 0xff;
  }
  return out;
}

function intKey(value: number | bigint): IndexKey {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value) + 2n ** 63n);
  return out;
}

function floatKey(value: number | bigint): IndexKey {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  const n = Number(value);
  view.setFloat64(0, n === 0 ? 0 : n); // -0 equals 0 (compareScalars), so it gets 0's bytes
  if ((out[0] as number) & 0x80) for (let i = 0; i < 8; i++) out[i] = ~(out[i] as number) & 0xff;
  else out[0] = (out[0] as number) | 0x80;
  return out;
}

/** The index bytes of one scalar of type `type`. */
export function scalarIndexKey(type: ScalarType, value: Value): IndexKey {
  switch (type.kind) {
    case 'int':
      return intKey(value as number | bigint);
    case 'float':
      return floatKey(value as number | bigint);
    case 'bool':
      return Uint8Array.of(value === true ? 1 : 0);
    default:
      return textKey(value as string);
  }
}

/** Whether a value of `type` can be indexed at all. */
export function isIndexable(type: AttributeType): boolean {
  return type.kind !== 'document';
}

/**
 * The index entries of an attribute's value: one for a scalar, one per distinct element of a list
 * or set, one per key of a map (encoded as a string: `contains` on a map takes the key's text).
 */
export function indexKeysOf(type: AttributeType, value: Value): IndexKey[] {
  switch (type.kind) {
    case 'document':
      return [];
    case 'list':
    case 'set':
      return distinct((value as readonly Value[]).map((element) => scalarIndexKey(type.of, element)));
    case 'map':
      return Object.keys(value as object).map(textKey);
    default:
      return [scalarIndexKey(type, value)];
  }
}

/** Tag bytes of the JSON kinds a document path's entries are made of. */
export const PATH_TAG = { bool: 0x01, number: 0x02, string: 0x03 } as const;

function tagged(tag: number, bytes: IndexKey): IndexKey {
  const out = new Uint8Array(bytes.length + 1);
  out[0] = tag;
  out.set(bytes, 1);
  return out;
}

/** The index bytes of a JSON scalar found at a document path; undefined for anything else. */
export function pathIndexKey(value: Value | undefined): IndexKey | undefined {
  if (typeof value === 'boolean') return Uint8Array.of(PATH_TAG.bool, value ? 1 : 0);
  if (typeof value === 'number' || typeof value === 'bigint') return tagged(PATH_TAG.number, floatKey(value));
  if (typeof value === 'string') return tagged(PATH_TAG.string, textKey(value));
  return undefined;
}

/** The index bytes of a string prefix at a document path. */
export function pathPrefixIndexKey(prefix: string): IndexKey {
  return tagged(PATH_TAG.string, textKey(prefix));
}

/**
 * The index entries of what an indexed name (an attribute or a document path) holds in complete
 * `attributes`; none for a name the space does not have.
 */
export function indexKeysOfName(space: Space, name: string, attributes: Attributes): IndexKey[] {
  const type = space.attribute(name)?.type;
  if (type !== undefined) {
    const value = attributes[name];
    return value === undefined ? [] : indexKeysOf(type, value);
  }
  const key = pathIndexKey(readName(attributes, name));
  return key === undefined ? [] : [key];
}

function distinct(keys: IndexKey[]): IndexKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const id = Array.from(k).join(',');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** The index bytes of a `contains` operand on a collection of `type`. */
export function elementIndexKey(type: AttributeType, operand: Value): IndexKey {
  if (type.kind === 'list' || type.kind === 'set') return scalarIndexKey(type.of, operand);
  return textKey(operand as string);
}

/** The index bytes of a string prefix (a prefix of a string's bytes is its prefix's bytes). */
export function prefixIndexKey(prefix: string): IndexKey {
  return textKey(prefix);
}

/**
 * The smallest byte string above every string that starts with `prefix`: the prefix with its last
 * byte below 0xff incremented and the rest cut off; undefined when there is none (all 0xff).
 */
export function prefixSuccessor(prefix: IndexKey): IndexKey | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if ((prefix[i] as number) < 0xff) {
      const out = prefix.slice(0, i + 1);
      out[i] = (out[i] as number) + 1;
      return out;
    }
  }
  return undefined;
}

/** memcmp order, shorter first on a common prefix: how SQLite and PostgreSQL order these bytes. */
export function compareIndexKeys(a: IndexKey, b: IndexKey): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
