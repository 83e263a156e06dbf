/**
 * `spacekv import`: an export (export-format.ts) into a live server, in batched transactions (one
 * `tx` of puts per batch, all or nothing, a few in flight: import-batches.ts), streamed a line at
 * a time. Idempotent: spaces are created when absent and checked when present, objects are
 * upserted by key, so importing a file twice leaves one copy of everything. Resumable: as batches
 * commit, the line they reached is saved beside the file (`<file>.import-progress.json`); a run that
 * was cut picks up after it, and at worst writes again the batches whose commits it did not see. A line that cannot be imported stops
 * the run, naming it, with everything before it imported.
 */
import { createReadStream, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type SpacekvClient, SpacekvError, UnknownSpaceError } from '@spacekv/client';
import { createHash } from 'node:crypto';
import { type Json, type SchemaJson, isLargeValueRef, parseJson } from '@spacekv/core';
import { EXPORT_FORMAT, type EndLine, type HeaderLine, type LargeChunkLine, type LargeLine, type SpaceLine } from './export-format.js';
import { ImportBatches } from './import-batches.js';
import type { Progress } from './progress.js';

export interface ImportOptions {
  /** The server's URL, saved in the progress file: a resume only ever continues into the same server. */
  readonly url: string;
  /** Objects per transaction. */
  readonly batchObjects: number;
  /** Bytes of NDJSON per transaction at most (a batch also ends at `batchObjects`). */
  readonly batchBytes: number;
  /** Transactions in flight at once. */
  readonly window: number;
  /** Ignore a saved position and import from the start. */
  readonly restart?: boolean;
  /** Told the total objects and those already done by an earlier run. */
  readonly progress?: (totalObjects: number, alreadyDone: number) => Progress;
}

export interface ImportSummary {
  readonly seq: number;
  readonly spaces: number;
  readonly objects: number;
  /** Objects this run wrote (an earlier, interrupted run wrote the others). */
  readonly imported: number;
  /** Objects whose expiry had passed by the time they were imported: absent, so not written. */
  readonly expired: number;
  /** The line a resumed run started after (0: from the start). */
  readonly resumedAfterLine: number;
}

/** Where an interrupted import of one file into one server stopped. */
interface Saved {
  readonly url: string;
  readonly seq: number;
  readonly exported_at: string;
  /** Every object line up to this one is committed. */
  readonly line: number;
  readonly objects: number;
}

interface ObjectLine {
  readonly type: 'object';
  readonly space: string;
  readonly key: string | number | bigint;
  readonly expires_at: number | null;
  readonly attributes: Readonly<Record<string, Json>>;
}

type Line = HeaderLine | SpaceLine | ObjectLine | LargeLine | LargeChunkLine | EndLine;

export function progressFileOf(from: string): string {
  return `${from}.import-progress.json`;
}

function bad(line: number, why: string): SpacekvError {
  return new SpacekvError('invalid_export', `line ${line}: ${why}`);
}

function parseLine(text: string, line: number): Line {
  let value: Json;
  try {
    value = parseJson(text);
  } catch {
    throw bad(line, 'not JSON (the file is damaged or was cut here)');
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (type !== 'header' && type !== 'space' && type !== 'object' && type !== 'large' && type !== 'large_chunk' && type !== 'end') throw bad(line, `not a line of a spacekv export (type ${JSON.stringify(type)})`);
  return value as unknown as Line;
}

function readSaved(from: string, header: HeaderLine, url: string): Saved | undefined {
  let saved: Saved;
  try {
    saved = JSON.parse(readFileSync(progressFileOf(from), 'utf8')) as Saved;
  } catch {
    return undefined;
  }
  return saved.url === url && saved.seq === header.seq && saved.exported_at === header.exported_at ? saved : undefined;
}

function save(from: string, saved: Saved): void {
  const path = progressFileOf(from);
  writeFileSync(`${path}.tmp`, JSON.stringify(saved));
  renameSync(`${path}.tmp`, path);
}

/** An object's attributes without its large values, which follow it as lines of their own. */
function inlineAttributes(attributes: Readonly<Record<string, Json>>): Readonly<Record<string, Json>> {
  const large = Object.keys(attributes).filter((name) => isLargeValueRef(attributes[name]));
  if (large.length === 0) return attributes;
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => !large.includes(name)));
}

/** Create the space if absent; if present, it must have the same key and attributes, and gets any index it lacks. */
async function ensureSpace(client: SpacekvClient, schema: SchemaJson, line: number): Promise<void> {
  let present;
  try {
    present = await client.describeSpace(schema.name);
  } catch (err) {
    if (!(err instanceof UnknownSpaceError)) throw err;
    await client.addSpace(schema as never);
    return;
  }
  const shape = (s: { key: unknown; attributes: unknown; ttl_seconds?: unknown }) => JSON.stringify([s.key, s.attributes, s.ttl_seconds ?? null]);
  if (shape(present) !== shape(schema)) {
    throw new SpacekvError('space_exists', `line ${line}: space '${schema.name}' exists on the server with another key, attributes or ttl; remove it, or import into another server`);
  }
  for (const attribute of schema.indexes ?? []) if (!present.indexes?.includes(attribute)) await client.addIndex(schema.name, attribute);
}

/** Import the export at `from` through `client`; see the module comment. */
export async function importNdjson(client: SpacekvClient, from: string, options: ImportOptions): Promise<ImportSummary> {
  const lines = createInterface({ input: createReadStream(from), crlfDelay: Infinity });
  let n = 0;
  let header: HeaderLine | undefined;
  let saved: Saved | undefined;
  let progress: Progress | undefined;
  const declared = new Set<string>();
  let objects = 0;
  let expired = 0;
  let bytes = 0;
  let end: EndLine | undefined;
  let lastExpired = false;

  const batches = new ImportBatches(client, { objects: options.batchObjects, bytes: options.batchBytes, window: options.window }, (line, through) => {
    if (header) save(from, { url: options.url, seq: header.seq, exported_at: header.exported_at, line, objects: through });
    progress?.update(through, bytes);
  });

  const reader = lines[Symbol.asyncIterator]();
  try {
    for (let next = await reader.next(); !next.done; next = await reader.next()) {
      const text = next.value;
      n++;
      bytes += text.length + 1;
      if (text.length === 0) continue;
      if (end) throw bad(n, 'a line after the end line');
      let line: Line;
      try {
        line = parseLine(text, n);
        if (!header) {
          if (line.type !== 'header' || line.format !== EXPORT_FORMAT) throw bad(n, `not a spacekv export of format ${EXPORT_FORMAT} (no header line)`);
          header = line;
          saved = options.restart ? undefined : readSaved(from, header, options.url);
          progress = options.progress?.(header.objects, saved?.objects ?? 0);
          continue;
        }
        if (line.type === 'header') throw bad(n, 'a second header line');
      } catch (err) {
        await batches.drain(n - 1, objects);
        throw err;
      }
      if (line.type === 'space') {
        await batches.drain(n - 1, objects); // a space's objects never share a transaction with the space's creation
        await ensureSpace(client, line.schema, n);
        declared.add(line.schema.name);
      } else if (line.type === 'object') {
        if (!declared.has(line.space)) {
          await batches.drain(n - 1, objects);
          throw bad(n, `an object of space '${line.space}', which no earlier line declares`);
        }
        objects++;
        lastExpired = false;
        if (saved && n <= saved.line) {
          bytes -= text.length + 1; // committed by the run that was cut: read past, not imported (nor counted in the rate)
          continue;
        }
        const expireIn = line.expires_at === null ? null : (line.expires_at - Date.now()) / 1000;
        lastExpired = expireIn !== null && expireIn <= 0;
        if (lastExpired) {
          expired++;
          continue;
        }
        await batches.add({ op: 'put', space: line.space, key: line.key, attributes: inlineAttributes(line.attributes), expire_in: expireIn }, text.length, n, objects);
      } else if (line.type === 'large' || line.type === 'large_chunk') {
        if (line.type === 'large_chunk') throw bad(n, 'a chunk of a large value without its large line');
        await batches.drain(n - 1, objects); // the value's object is committed before its value is written onto it
        // Read past a value committed by the run that was cut, or of an object not imported because it expired.
        const skip = (saved !== undefined && n <= saved.line) || lastExpired;
        const first = n;
        const chunks = async function* (): AsyncGenerator<Uint8Array> {
          const hash = createHash('sha256');
          for (let i = 0; i < line.chunks; i++) {
            const chunk = await reader.next();
            n++;
            if (chunk.done) throw bad(n, `the file ends inside the large value of line ${first}`);
            bytes += chunk.value.length + 1;
            const parsed = parseLine(chunk.value, n);
            if (parsed.type !== 'large_chunk') throw bad(n, `chunk ${i} of the large value of line ${first} expected`);
            const data = Buffer.from(parsed.data, 'base64');
            hash.update(data);
            yield data;
          }
          if (hash.digest('hex') !== line.sha256) throw bad(n, `the large value of line ${first} does not match its SHA-256`);
        };
        if (skip) {
          for await (const _ of chunks());
        } else {
          let lineError: unknown; // a bad line surfaces as itself, not as the upload it cut
          const body = async function* (): AsyncGenerator<Uint8Array> {
            try {
              yield* chunks();
            } catch (err) {
              lineError = err;
              throw err;
            }
          };
          await client.putLarge(line.space, line.key, line.attribute, body()).catch((err: unknown) => {
            throw lineError ?? err;
          });
          if (header) save(from, { url: options.url, seq: header.seq, exported_at: header.exported_at, line: n, objects });
        }
      } else {
        await batches.drain(n, objects);
        end = line;
      }
    }
    if (!header) throw bad(1, 'the file is empty');
    await batches.drain(n, objects);
    if (!end) throw bad(n, 'the file ends before its end line (cut short?); every object before it was imported');
    if (end.objects !== objects || end.spaces !== declared.size) {
      throw bad(n, `the end line counts ${end.spaces} spaces and ${end.objects} objects, the file holds ${declared.size} and ${objects}`);
    }
  } finally {
    progress?.stop();
    lines.close();
  }
  rmSync(progressFileOf(from), { force: true }); // done: a later run starts afresh
  return { seq: header.seq, spaces: declared.size, objects, imported: batches.imported, expired, resumedAfterLine: saved?.line ?? 0 };
}
