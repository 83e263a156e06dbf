/**
 * Large values (docs/large-values.md): a `bytes` attribute written from a stream, past the inline
 * value limit. Its bytes live off to the side in fixed-size chunks; the object holds a reference,
 * written in the same commit as the rest of the object, so the value becomes visible all at once.
 * A normal read of the object returns the reference, never the bytes.
 */
import { parseJson } from './json.js';
import type { Attributes, Value } from './types.js';

/**
 * Bytes per stored chunk. Fixed, so a byte range maps to chunk numbers without an index; 1 MiB
 * keeps a chunk one cheap row or message while a 4 GiB value is still only 4096 of them.
 */
export const LARGE_CHUNK_BYTES = 1024 * 1024;

/** What a large attribute holds in the object: the value's id, its size in bytes and its SHA-256 (hex). */
export interface LargeValueRef {
  readonly $large: { readonly id: string; readonly size: number; readonly sha256: string };
}

/** Ids are 32 lowercase hex characters (16 random bytes), made by the server only. */
const ID = /^[0-9a-f]{32}$/;

export function isLargeValueRef(value: unknown): value is LargeValueRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const inner = (value as { $large?: unknown }).$large;
  if (typeof inner !== 'object' || inner === null) return false;
  const { id, size, sha256 } = inner as Record<string, unknown>;
  return typeof id === 'string' && ID.test(id) && typeof size === 'number' && typeof sha256 === 'string';
}

export function largeValueRef(id: string, size: number, sha256: string): Value {
  return { $large: { id, size, sha256 } };
}

/**
 * The ids of the large values an object's attributes refer to. Costs one substring search for an
 * object without any (most of them), so a store can call it on every write.
 */
export function largeValueIds(attributesJson: string, attributes: Attributes): string[] {
  if (!attributesJson.includes('"$large"')) return [];
  const ids: string[] = [];
  for (const value of Object.values(attributes)) if (isLargeValueRef(value)) ids.push(value.$large.id);
  return ids;
}

/** The chunks holding bytes `start` to `end` (inclusive) of a value. */
export function chunkSpan(start: number, end: number): { readonly first: number; readonly last: number } {
  return { first: Math.floor(start / LARGE_CHUNK_BYTES), last: Math.floor(end / LARGE_CHUNK_BYTES) };
}

/** Whether the object text `attributesJson` holds, in `attribute`, a reference to large value `id`. */
export function refersToLargeValue(attributesJson: string, attribute: string, id: string): boolean {
  if (!attributesJson.includes(id)) return false;
  const value = (parseJson(attributesJson) as Attributes)[attribute];
  return isLargeValueRef(value) && value.$large.id === id;
}
