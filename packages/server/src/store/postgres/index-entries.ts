/**
 * Secondary index entries on PostgreSQL: the same bytes as SQLite's (core's `indexKeysOfName`,
 * index-key.ts), one row per (attribute, value, object) in `index_entries`, with the object's
 * expiry. Made here as parallel arrays, so any number of entries is written with one statement
 * (`unnest`), whatever the batch's size.
 */
import { type Attributes, type Space, indexKeysOfName } from '@spacekv/core';

export interface IndexedObject {
  readonly key: Buffer;
  readonly attributes: Attributes;
  readonly expiresAt: number | null;
}

export interface EntryArrays {
  readonly attrs: string[];
  readonly values: Buffer[];
  readonly keys: Buffer[];
  readonly expiries: (number | null)[];
}

/** The entries of `objects` for each of `attributes` (attributes or document paths). */
export function indexEntriesOf(space: Space, attributes: Iterable<string>, objects: readonly IndexedObject[]): EntryArrays {
  const out: EntryArrays = { attrs: [], values: [], keys: [], expiries: [] };
  const names = [...attributes];
  if (names.length === 0) return out;
  for (const object of objects) {
    for (const name of names) {
      for (const value of indexKeysOfName(space, name, object.attributes)) {
        out.attrs.push(name);
        out.values.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        out.keys.push(object.key);
        out.expiries.push(object.expiresAt);
      }
    }
  }
  return out;
}
