/**
 * `spacekv export`: every space (schema, indexes) and object of a store as NDJSON
 * (export-format.ts), streamed page by page from one read snapshot, with backpressure: memory holds
 * one page, whatever the store's size.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { type Attributes, type Key, LARGE_CHUNK_BYTES, SpacekvError, isLargeValueRef, parseJson, schemaToJson, stringifyJson } from '@spacekv/core';
import type { ExportedObject } from '../store/export-source.js';
import type { ExportSource } from '../store/export-source.js';
import type { StoredSpace } from '../store/store.js';
import { SERVER_VERSION } from '../version.js';
import { EXPORT_FORMAT, type EndLine, type HeaderLine, type SpaceLine } from './export-format.js';
import type { Progress } from './progress.js';

/** Objects read from the store per page. */
const EXPORT_PAGE_OBJECTS = 1_000;

export interface ExportSummary {
  readonly seq: number;
  readonly spaces: number;
  readonly objects: number;
  readonly bytes: number;
}

export interface ExportOptions {
  /** Only these spaces (all when absent). */
  readonly spaces?: readonly string[];
  /** Called once the totals are known, with them; the returned progress is told of each page. */
  readonly progress?: (totalObjects: number) => Progress;
}

/** Write `source` to `out` as NDJSON; resolves once the last line is handed to `out`. */
export async function exportNdjson(source: ExportSource, out: Writable, options: ExportOptions = {}): Promise<ExportSummary> {
  const spaces = await chosenSpaces(source, options.spaces);
  const counts = await Promise.all(spaces.map((space) => source.count(space)));
  const total = counts.reduce((a, b) => a + b, 0);
  let bytes = 0;
  let objects = 0;
  const write = async (text: string): Promise<void> => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  const progress = options.progress?.(total);
  const header: HeaderLine = {
    type: 'header', format: EXPORT_FORMAT, seq: source.seq, exported_at: new Date().toISOString(), spacekv_version: SERVER_VERSION,
    spaces: spaces.length, objects: total,
  };
  await write(`${JSON.stringify(header)}\n`);
  for (const [i, space] of spaces.entries()) {
    const line: SpaceLine = { type: 'space', schema: schemaToJson(space.schema), objects: counts[i] as number };
    await write(`${JSON.stringify(line)}\n`);
    const name = JSON.stringify(space.schema.name);
    let after: Key | null = null;
    for (;;) {
      const page = await source.objects(space, after, EXPORT_PAGE_OBJECTS);
      // The stored attribute text is spliced in as it is: no decoding, no precision at risk.
      let text = '';
      for (const o of page) {
        text += `{"type":"object","space":${name},"key":${stringifyJson(o.key)},"version":${o.version},"expires_at":${o.expiresAt ?? 'null'},"attributes":${o.attributesJson}}\n`;
        if (!o.attributesJson.includes('"$large"')) continue;
        await write(text);
        text = '';
        await writeLargeValues(source, write, space.schema.name, o);
      }
      if (text.length > 0) await write(text);
      objects += page.length;
      progress?.update(objects, bytes);
      if (page.length < EXPORT_PAGE_OBJECTS) break;
      after = (page[page.length - 1] as { key: Key }).key;
    }
  }
  const end: EndLine = { type: 'end', spaces: spaces.length, objects };
  await write(`${JSON.stringify(end)}\n`);
  progress?.stop();
  return { seq: source.seq, spaces: spaces.length, objects, bytes };
}

/** The large values of one object, each as its line and its chunks' lines, read one chunk at a time. */
async function writeLargeValues(source: ExportSource, write: (text: string) => Promise<void>, space: string, o: ExportedObject): Promise<void> {
  for (const [attribute, value] of Object.entries(parseJson(o.attributesJson) as Attributes)) {
    if (!isLargeValueRef(value)) continue;
    const { id, size, sha256 } = value.$large;
    const chunks = Math.ceil(size / LARGE_CHUNK_BYTES);
    await write(`{"type":"large","space":${JSON.stringify(space)},"key":${stringifyJson(o.key)},"attribute":${JSON.stringify(attribute)},"size":${size},"sha256":"${sha256}","chunks":${chunks}}\n`);
    for (let index = 0; index < chunks; index++) {
      const data = await source.largeChunk(id, index);
      if (!data) throw new SpacekvError('unavailable', `chunk ${index} of the large value of '${attribute}' in ${space}/${String(o.key)} is missing from the store`);
      await write(`{"type":"large_chunk","data":"${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64')}"}\n`);
    }
  }
}

async function chosenSpaces(source: ExportSource, names: readonly string[] | undefined): Promise<readonly StoredSpace[]> {
  const all = await source.spaces();
  if (names === undefined) return all;
  const missing = names.filter((name) => !all.some((s) => s.schema.name === name));
  if (missing.length > 0) {
    throw new SpacekvError('unknown_space', `no space named ${missing.map((m) => `'${m}'`).join(', ')} in the store`);
  }
  return all.filter((s) => names.includes(s.schema.name));
}
