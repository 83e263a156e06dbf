/**
 * Step 7 (and `node bench/dist/codec.js` alone): the figures behind docs/protocol.md's "Why JSON
 * text frames". JSON text frames as spacekv builds and reads them, beside msgpackr (a Packr with
 * `useRecords: false`, so frames are plain MessagePack any peer can read, and `int64AsType: 'bigint'`,
 * so 64-bit integers stay exact as spacekv requires), on frames of 100 requests or 100 replies:
 *
 *  - server, decode a frame of `get` requests: the frame arrives as bytes; JSON is core's parseJson
 *    of its UTF-8 text (what the WebSocket front does), msgpackr unpacks the bytes;
 *  - server, encode replies: JSON splices the attributes JSON the store keeps into each reply text
 *    (core's encodeResult, the front's `{"id":…,` prefix) and makes the frame bytes; msgpackr must
 *    first JSON.parse the stored attributes (the store keeps JSON text), then pack;
 *  - client, encode requests: JSON as the client does (core's stringifyJson per request, joined),
 *    to bytes; msgpackr packs the array of requests;
 *  - client, decode replies: core's parseJson of the frame text, vs unpacking the bytes;
 *  - bytes of a frame of 100 replies.
 *
 * Each figure is the median of several timed samples, each repeating its step over the same frame
 * for a fixed time after a warm-up; every step's output feeds a checksum, so none is optimized away.
 */
import { type ObjectResult, encodeResult, parseJson, stringifyJson } from '@spacekv/core';
import { Packr, isNativeAccelerationEnabled } from 'msgpackr';
import { int, out, printColumns } from './report.js';
import type { Section } from './section.js';
import { median } from './stats.js';

export const FRAME_ITEMS = 100;
/** The value of docs/protocol.md's table: two 100-byte strings. */
const STRING_BYTES = 100;

export interface CodecOptions {
  readonly samples: number;
  readonly sampleMs: number;
}

export interface CodecStep {
  readonly name: string;
  /** ns per request or reply. */
  readonly jsonNs: number;
  readonly msgpackrNs: number;
}

export interface CodecFigures {
  readonly steps: readonly CodecStep[];
  readonly jsonReplyBytes: number;
  readonly msgpackrReplyBytes: number;
  readonly nativeAcceleration: boolean;
  /** Informational: JSON reply encoding before the text becomes bytes, ns/reply. */
  readonly jsonEncodeTextOnlyNs: number;
  /** Informational: the client's reply decoding with plain JSON.parse (no scan for 64-bit integers), ns/reply. */
  readonly jsonDecodeWithJsonParseNs: number;
}

let sink = 0;

/** ns per item of `fn`, which handles one frame of FRAME_ITEMS items and returns a number for the checksum. */
function time(fn: () => number, o: CodecOptions): number {
  const warmUntil = performance.now() + Math.max(o.sampleMs, 1);
  while (performance.now() < warmUntil) sink += fn();
  const samples: number[] = [];
  for (let s = 0; s < o.samples; s++) {
    let frames = 0;
    const started = performance.now();
    const until = started + o.sampleMs;
    let now = started;
    // Check the clock every 16 frames, so reading it costs next to nothing.
    while (now < until) {
      for (let k = 0; k < 16; k++) sink += fn();
      frames += 16;
      now = performance.now();
    }
    samples.push(((now - started) * 1e6) / (frames * FRAME_ITEMS));
  }
  return median(samples);
}

export function runCodec(o: CodecOptions): CodecFigures {
  const packr = new Packr({ useRecords: false, int64AsType: 'bigint' });
  const attributes = { first: 'f'.repeat(STRING_BYTES), last: 'l'.repeat(STRING_BYTES) };
  const key = (i: number): string => `k${String(i).padStart(7, '0')}`;

  // What the store hands the server for each object: its attributes as JSON text.
  const stored: ObjectResult[] = Array.from({ length: FRAME_ITEMS }, (_, i) => ({
    ok: true, kind: 'object', key: key(1000 + i), version: 1_000_000 + i, attributesJson: stringifyJson(attributes),
  }));
  const requests = Array.from({ length: FRAME_ITEMS }, (_, i) => ({ op: 'get', space: 'friendlists', key: key(1000 + i) }));

  // Frames as they travel.
  const requestFrameJson = Buffer.from(`[${requests.map((r, i) => stringifyJson({ id: i + 1, ...r })).join(',')}]`);
  const requestFrameMsgpack = packr.pack(requests.map((r, i) => ({ id: i + 1, ...r })));
  const replyTextJson = (): string => {
    const texts: string[] = new Array(FRAME_ITEMS);
    for (let i = 0; i < FRAME_ITEMS; i++) texts[i] = `{"id":${i + 1},${encodeResult(stored[i] as ObjectResult).slice(1)}`;
    return `[${texts.join(',')}]`;
  };
  // ws.send(text) makes these bytes itself; counted here because msgpackr's output already is bytes.
  const encodeRepliesJson = (): Buffer => Buffer.from(replyTextJson());
  const encodeRepliesMsgpack = (): Buffer => {
    const replies: unknown[] = new Array(FRAME_ITEMS);
    for (let i = 0; i < FRAME_ITEMS; i++) {
      const r = stored[i] as ObjectResult;
      replies[i] = { id: i + 1, ok: true, key: r.key, version: r.version, attributes: JSON.parse(r.attributesJson) };
    }
    return packr.pack(replies);
  };
  const replyFrameJson = encodeRepliesJson();
  const replyFrameMsgpack = encodeRepliesMsgpack();

  // Both codecs must carry the same frames, or the comparison means nothing.
  assertSame(parseJson(requestFrameJson.toString('utf8')), packr.unpack(requestFrameMsgpack), 'request frames');
  assertSame(parseJson(replyFrameJson.toString('utf8')), packr.unpack(replyFrameMsgpack), 'reply frames');

  const steps: CodecStep[] = [
    {
      name: 'server: decode a frame of `get` requests',
      jsonNs: time(() => (parseJson(requestFrameJson.toString('utf8')) as unknown[]).length, o),
      msgpackrNs: time(() => (packr.unpack(requestFrameMsgpack) as unknown[]).length, o),
    },
    {
      name: 'server: encode replies',
      jsonNs: time(() => encodeRepliesJson().length, o),
      msgpackrNs: time(() => encodeRepliesMsgpack().length, o),
    },
    {
      name: 'client: encode requests',
      jsonNs: time(() => {
        const texts: string[] = new Array(FRAME_ITEMS);
        for (let i = 0; i < FRAME_ITEMS; i++) texts[i] = stringifyJson({ id: i + 1, ...requests[i] });
        return Buffer.from(`[${texts.join(',')}]`).length;
      }, o),
      msgpackrNs: time(() => {
        const items: unknown[] = new Array(FRAME_ITEMS);
        for (let i = 0; i < FRAME_ITEMS; i++) items[i] = { id: i + 1, ...requests[i] };
        return packr.pack(items).length;
      }, o),
    },
    {
      name: 'client: decode replies',
      jsonNs: time(() => (parseJson(replyFrameJson.toString('utf8')) as unknown[]).length, o),
      msgpackrNs: time(() => (packr.unpack(replyFrameMsgpack) as unknown[]).length, o),
    },
  ];
  const jsonEncodeTextOnlyNs = time(() => replyTextJson().length, o);
  const jsonDecodeWithJsonParseNs = time(() => (JSON.parse(replyFrameJson.toString('utf8')) as unknown[]).length, o);
  if (sink === -1) out('(unreachable: keeps the checksum alive)');
  return {
    steps, jsonReplyBytes: replyFrameJson.length, msgpackrReplyBytes: replyFrameMsgpack.length, nativeAcceleration: isNativeAccelerationEnabled,
    jsonEncodeTextOnlyNs, jsonDecodeWithJsonParseNs,
  };
}

function assertSame(a: unknown, b: unknown, what: string): void {
  const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  if (canonical(a) !== canonical(b)) throw new Error(`codec step: JSON and msgpackr ${what} differ:\n${canonical(a).slice(0, 300)}\n${canonical(b).slice(0, 300)}`);
}

export function printCodec(f: CodecFigures, o: CodecOptions, heading: string): void {
  out(heading);
  out(`    frames of ${FRAME_ITEMS} requests or replies, value of two ${STRING_BYTES}-byte strings; msgpackr Packr { useRecords: false, int64AsType: 'bigint' }, `
    + `native acceleration ${f.nativeAcceleration ? 'on' : 'off'}; median of ${o.samples} sample${o.samples === 1 ? '' : 's'} of ${o.sampleMs} ms`);
  const ns = (n: number): string => `${int(n)} ns`;
  const rows = [
    ['step', 'JSON', 'msgpackr', 'msgpackr / JSON'],
    ...f.steps.map((s) => [s.name, `${ns(s.jsonNs)}/${s.name.includes('request') ? 'request' : 'reply'}`, `${ns(s.msgpackrNs)}/${s.name.includes('request') ? 'request' : 'reply'}`,
      `${(s.msgpackrNs / s.jsonNs).toFixed(2)}x`]),
    [`bytes per ${FRAME_ITEMS} replies`, int(f.jsonReplyBytes), int(f.msgpackrReplyBytes), `${(f.msgpackrReplyBytes / f.jsonReplyBytes).toFixed(2)}x`],
  ];
  out();
  printColumns(rows);
  const total = (pick: (s: CodecStep) => number): number => f.steps.reduce((sum, s) => sum + pick(s), 0);
  out(`    one get, all four steps: JSON ${int(total((s) => s.jsonNs))} ns, msgpackr ${int(total((s) => s.msgpackrNs))} ns; `
    + `JSON frames are ${(((f.jsonReplyBytes / f.msgpackrReplyBytes) - 1) * 100).toFixed(0)}% larger`);
  out(`    informational: JSON encode replies as text, before making bytes: ${int(f.jsonEncodeTextOnlyNs)} ns/reply; `
    + `client decode replies with plain JSON.parse instead of core's parseJson (no scan for 64-bit integers): ${int(f.jsonDecodeWithJsonParseNs)} ns/reply`);
}

export const codecSection: Section = {
  id: 'codec',
  title: 'Step 7: codec, JSON text frames vs msgpackr',
  byDefault: true,
  run(c) {
    printCodec(runCodec(c.options.codec), c.options.codec, '[7] codec: JSON text frames vs msgpackr (docs/protocol.md "Why JSON text frames"; alone: node bench/dist/codec.js)');
    return Promise.resolve();
  },
};
