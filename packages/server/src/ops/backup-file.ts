/**
 * The backup file: one self-describing file, so a copy carried anywhere keeps its manifest.
 *
 *     spacekv-backup\n
 *     {"format":1,"store":"sqlite","seq":…,"bytes":…,"sha256":"…","created_at":"…","spacekv_version":"…"}\n
 *     <bytes: the store's snapshot (for sqlite, a database file)>
 *
 * The checksum covers the snapshot's bytes; a restore verifies it, and the size, before it opens
 * anything, and refuses a file that differs from its manifest in any byte.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SpacekvError } from '@spacekv/core';
import type { StoreSnapshot } from '../store/store.js';
import { SERVER_VERSION } from '../version.js';

const MAGIC = 'spacekv-backup';
const FORMAT = 1;
/** The magic line and the manifest line together never come near this; a longer head is not ours. */
const HEAD_BYTES_MAX = 4096;

export interface BackupManifest {
  readonly format: typeof FORMAT;
  /**
   * What the bytes after the manifest are: `sqlite`, a SQLite database (the embedded store at the
   * seq); `postgres`, a spacekv export (NDJSON) of a PostgreSQL store at the seq, which a restore
   * imports into a server.
   */
  readonly store: 'sqlite' | 'postgres';
  /** Every commit up to this seq is in the backup, and none after it. */
  readonly seq: number;
  /** Bytes of the snapshot that follows the manifest line. */
  readonly bytes: number;
  /** SHA-256 of those bytes, hex. */
  readonly sha256: string;
  readonly created_at: string;
  readonly spacekv_version: string;
}

function invalid(path: string, why: string): SpacekvError {
  return new SpacekvError('invalid_backup', `${path} is not a usable backup: ${why}; nothing was restored`);
}

/** The manifest of a snapshot (one read of its file for the checksum). */
export async function manifestOf(snapshot: Pick<StoreSnapshot, 'seq' | 'path'> & { readonly store: BackupManifest['store'] }): Promise<BackupManifest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(snapshot.path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  const sha256 = hash.digest('hex');
  return { format: FORMAT, store: snapshot.store, seq: snapshot.seq, bytes, sha256, created_at: new Date().toISOString(), spacekv_version: SERVER_VERSION };
}

/** The backup file's bytes, streamed: the head, then the snapshot's file. */
export function backupBytes(manifest: BackupManifest, snapshotPath: string): Readable {
  return Readable.from((async function* () {
    yield Buffer.from(`${MAGIC}\n${JSON.stringify(manifest)}\n`);
    yield* createReadStream(snapshotPath);
  })());
}

/** Write a backup file from a stream of its bytes: to a temporary name, flushed to disk, then renamed, so `to` is whole or absent. */
export async function writeFileDurably(to: string, bytes: Readable): Promise<void> {
  const partial = `${to}.partial`;
  try {
    await pipeline(bytes, createWriteStream(partial, { flags: 'wx' }));
    const handle = await open(partial, 'r+');
    await handle.sync().finally(() => handle.close());
    await rename(partial, to);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

/** Read and check the head of a backup file: its manifest and where the snapshot's bytes start. */
export async function readManifest(path: string): Promise<{ manifest: BackupManifest; offset: number }> {
  const handle = await open(path, 'r').catch((err: Error) => {
    throw new SpacekvError('bad_request', `cannot read the backup ${path}: ${err.message}`);
  });
  const head = Buffer.alloc(HEAD_BYTES_MAX);
  const { bytesRead } = await handle.read(head, 0, HEAD_BYTES_MAX, 0).finally(() => handle.close());
  const text = head.subarray(0, bytesRead).toString('latin1');
  const first = text.indexOf('\n');
  const second = first < 0 ? -1 : text.indexOf('\n', first + 1);
  if (text.slice(0, first) !== MAGIC || second < 0) throw invalid(path, 'it does not start with a spacekv backup manifest');
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(text.slice(first + 1, second)) as BackupManifest;
  } catch {
    throw invalid(path, 'its manifest is not JSON');
  }
  if (manifest.format !== FORMAT) throw invalid(path, `it has format ${String(manifest.format)}; this spacekv reads format ${FORMAT}`);
  if ((manifest.store !== 'sqlite' && manifest.store !== 'postgres') || !Number.isSafeInteger(manifest.seq) || !Number.isSafeInteger(manifest.bytes) || !/^[0-9a-f]{64}$/.test(manifest.sha256 ?? '')) {
    throw invalid(path, 'its manifest lacks a store, seq, size or checksum');
  }
  return { manifest, offset: second + 1 };
}

/**
 * Check a backup file's size and checksum against its manifest, reading it once; with `copyTo`,
 * copy the snapshot's bytes there on the way (removed again when the check fails). Throws
 * `invalid_backup` saying what does not match.
 */
export async function verifyBackup(path: string, copyTo?: string): Promise<BackupManifest> {
  const { manifest, offset } = await readManifest(path);
  const size = (await stat(path)).size;
  if (size - offset !== manifest.bytes) {
    throw invalid(path, `it holds ${size - offset} bytes of data, its manifest says ${manifest.bytes} (${size - offset < manifest.bytes ? 'truncated' : 'bytes appended'})`);
  }
  const hash = createHash('sha256');
  const hashing = async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      yield chunk;
    }
  };
  try {
    await pipeline(createReadStream(path, { start: offset }), hashing, copyTo === undefined ? new Writable({ write: (_c, _e, done) => done() }) : createWriteStream(copyTo, { flags: 'wx' }));
    if (copyTo !== undefined) {
      const handle = await open(copyTo, 'r+');
      await handle.sync().finally(() => handle.close());
    }
    const sha256 = hash.digest('hex');
    if (sha256 !== manifest.sha256) throw invalid(path, `its checksum is ${sha256}, its manifest says ${manifest.sha256} (the file was damaged)`);
  } catch (err) {
    if (copyTo !== undefined) await rm(copyTo, { force: true });
    throw err;
  }
  return manifest;
}
