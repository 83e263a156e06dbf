/**
 * The export format: NDJSON, one JSON value per line, read and written a line at a time.
 *
 *     {"type":"header","format":1,"seq":S,"exported_at":"…","spacekv_version":"…","spaces":n,"objects":N}
 *     {"type":"space","schema":{…the schema's JSON form, indexes and ttl_seconds included…},"objects":n}
 *     {"type":"object","space":"…","key":…,"version":V,"expires_at":ms|null,"attributes":{…}}   × n
 *       {"type":"large","space":"…","key":…,"attribute":"…","size":B,"sha256":"…","chunks":K}  after an object with a large value
 *       {"type":"large_chunk","data":"<base64 of ≤ 1 MiB>"}   × K: the value's bytes, in order
 *     … (each space's line, then its objects, in key order)
 *     {"type":"end","spaces":n,"objects":N}
 *
 * Everything is as of seq S. `version` is the object's version in the exported store, kept as
 * metadata: an import commits at the target's own seqs. Integers keep all 64 bits (a key or value
 * past 2^53 is written as its exact digits). The end line tells a whole file from a cut one.
 * A large value (docs/large-values.md) follows its object's line, whose attribute holds the
 * reference, as its chunks: a line holds one chunk, so a reader never holds more than that.
 */
import type { SchemaJson } from '@spacekv/core';

export const EXPORT_FORMAT = 1;

export interface HeaderLine {
  readonly type: 'header';
  readonly format: typeof EXPORT_FORMAT;
  readonly seq: number;
  readonly exported_at: string;
  readonly spacekv_version: string;
  readonly spaces: number;
  readonly objects: number;
}

export interface SpaceLine {
  readonly type: 'space';
  readonly schema: SchemaJson;
  readonly objects: number;
}

export interface EndLine {
  readonly type: 'end';
  readonly spaces: number;
  readonly objects: number;
}

export interface LargeLine {
  readonly type: 'large';
  readonly space: string;
  readonly key: string | number | bigint;
  readonly attribute: string;
  readonly size: number;
  readonly sha256: string;
  readonly chunks: number;
}

export interface LargeChunkLine {
  readonly type: 'large_chunk';
  readonly data: string;
}
