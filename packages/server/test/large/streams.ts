/**
 * Streams for the large-value tests: deterministic bytes made on the fly (never held whole), an
 * upload that sends them chunked (or cut midway), and a download that hashes what it reads.
 */
import { createCipheriv, createHash } from 'node:crypto';
import http from 'node:http';

const BLOCK = 256 * 1024;

/** `size` pseudo-random bytes from `seed` (AES-CTR over zeros: fast, and the same on every call). */
export async function* generated(size: number, seed: number): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(`seed ${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(BLOCK);
  for (let sent = 0; sent < size; sent += BLOCK) yield cipher.update(zeros.subarray(0, Math.min(BLOCK, size - sent)));
}

/** The SHA-256 (hex) of generated(size, seed). */
export async function digestOf(size: number, seed: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const block of generated(size, seed)) hash.update(block);
  return hash.digest('hex');
}

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

function collect(response: http.IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    response.on('error', reject);
  });
}

export interface UploadOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Cut the connection after this many bytes (an interrupted upload); the promise then resolves with null. */
  readonly cutAfter?: number;
  /** Called once the server has taken this many bytes (to act while an upload is under way). */
  readonly onProgress?: (sent: number) => void;
  /** The loopback address to send from (127.0.0.2 is another client to a server without tokens). */
  readonly localAddress?: string;
}

/** PUT `source` to `url` with chunked transfer encoding (no Content-Length), with backpressure. */
export function upload(url: string, source: AsyncIterable<Buffer>, options: UploadOptions = {}): Promise<Answer | null> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'PUT', headers: { 'content-type': 'application/octet-stream', ...options.headers },
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    let cut = false;
    request.on('response', (response) => void collect(response).then(resolve, reject));
    request.on('error', (err) => (cut ? resolve(null) : reject(err)));
    void (async () => {
      let sent = 0;
      for await (const block of source) {
        if (options.cutAfter !== undefined && sent + block.length > options.cutAfter) {
          cut = true;
          request.destroy();
          return resolve(null);
        }
        if (!request.write(block)) await new Promise((r) => request.once('drain', r));
        sent += block.length;
        options.onProgress?.(sent);
      }
      request.end();
    })().catch(reject);
  });
}

export interface Download {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly bytes: number;
  readonly sha256: string;
}

/** GET `url` and hash the body as it arrives (never held whole). */
export function download(url: string, headers: Readonly<Record<string, string>> = {}): Promise<Download> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes, sha256: hash.digest('hex') }));
      response.on('error', reject);
    }).on('error', reject);
  });
}

/** GET `url` whole (small answers: ranges, errors). */
export function fetchBytes(url: string, headers: Readonly<Record<string, string>> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (response) => void collect(response).then(resolve, reject)).on('error', reject);
  });
}

/** The bytes `start` to `end` (inclusive) of generated(size, seed). */
export async function slice(size: number, seed: number, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = 0;
  for await (const block of generated(size, seed)) {
    const from = Math.max(start - offset, 0);
    const to = Math.min(end + 1 - offset, block.length);
    if (to > from) parts.push(block.subarray(from, to));
    offset += block.length;
    if (offset > end) break;
  }
  return Buffer.concat(parts);
}
