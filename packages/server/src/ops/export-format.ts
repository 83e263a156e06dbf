/**
 * The export format: NDJSON, one JSON value per line, read and written a line at a time.
 *
 *     {"type":"header","format":1,"seq":S,"exported_at":"…","spacekv_version":"…","spaces":n,"objects":N}
 *     {"type":"space","schema":{…the schema's JSON form, indexes and ttl_seconds included…},"objects":n}
 *     {"type":"object","space":"…","key":…,"version":V,"expires_at":ms|null,"attributes":{…}}   × n
 *     … (each space's line, then its objects, in key order)
 *     {"type":"end","spaces":n,"objects":N}
 *
 * Everything is as of seq S. `version` is the object's version in the exported store, kept as
 * metadata: an import commits at the target's own seqs. Integers keep all 64 bits (a key or value
 * past 2^53 is written as its exact digits). The end line tells a whole file from a cut one.
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
