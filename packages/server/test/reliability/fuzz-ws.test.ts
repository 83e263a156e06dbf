// Proves the WebSocket front survives garbage (the fuzzing bullet): fast-check drives a real
// server process over /v1/ws with sessions of random frames: plausible pipelined requests with
// random operations and fields, unknown fields, wrong types, bad ids, text that is not JSON, deep
// nesting, binary frames, text frames of invalid UTF-8, frames past requestBytesMax; and, over a raw
// socket, truncated and malformed WebSocket frames. Every request of a readable frame is answered
// once with a result or a catalogue error (never `internal`); an unreadable frame closes the
// connection with the protocol's close code; nothing hangs; the process never exits; its memory
// does not keep growing; and a canary object is unchanged at its version.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import WebSocket from 'ws';
import { CLOSE_CODES, DEFAULT_LIMITS, SUBPROTOCOLS, WS_PATH } from '@spacekv/core';
import { connect } from '@spacekv/client';
import { killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { withTimeout } from '../helpers/timeout.js';
import { CANARY, CANARY_KEY, CANARY_SCHEMA, CANARY_SPACE, FUZZ_SCHEMA, deepJsonArb, errorBodyProblem, fuzzParameters, operationArb, residentBytes } from './harness/fuzz.js';
import { recordFigures } from './harness/figures.js';
import { runSeed, scaled } from './harness/seed.js';

const SEED = runSeed();
const SESSIONS = scaled(300, 8_000);
const SESSION_TIMEOUT_MS = 30_000;
const RSS_GROWTH_MAX_BYTES = 150 * 1024 * 1024;
/**
 * The close codes an unreadable frame may get (docs/protocol.md, Connection errors), and 1006: the
 * server resets the socket after its close frame, and frames we sent behind the bad one race it.
 */
const PROTOCOL_CLOSES = new Set<number>([CLOSE_CODES.unsupportedData, CLOSE_CODES.invalidPayload, CLOSE_CODES.policyViolation, CLOSE_CODES.tooBig, 1006]);

const dataDir = makeTempDir('fuzz-ws');
after(async () => {
  await killAllChildren();
  removeDir(dataDir);
});

/** One frame to send, and whether the protocol must answer each request in it (a readable frame). */
type Frame =
  | { readonly kind: 'requests'; readonly requests: readonly Record<string, unknown>[]; readonly asArray: boolean }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: Buffer; readonly binary: boolean };

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('requests' as const), requests: fc.array(operationArb, { minLength: 1, maxLength: 20 }), asArray: fc.boolean() }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ kind: 'text' as const, text })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => ({ kind: 'text' as const, text: JSON.stringify(v) ?? 'null' })) },
  { weight: 1, arbitrary: fc.constantFrom('[{"id":-1,"op":"get"}]', '[{"id":1.5,"op":"get"}]', '{"op":"get"}', '[{"id":"1","op":"get"}]', '[]', '[{"id":1,"op":"get"},{"id":1,"op":"get"}]', '{"id":18446744073709551616,"op":"list_spaces"}').map((text) => ({ kind: 'text' as const, text })) },
  { weight: 1, arbitrary: deepJsonArb.map((text) => ({ kind: 'text' as const, text })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({ kind: 'bytes' as const, bytes: Buffer.from(b), binary: true })) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xff, 0xfe, 0x7b]), Buffer.from('[{"id":1,"op":"get","space":"\xc3\x28"}]', 'latin1'), Buffer.from([0xed, 0xa0, 0x80])).map((bytes) => ({ kind: 'bytes' as const, bytes, binary: false })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'text' as const, text: `[{"id":1,"op":"put","space":"fz","key":"big","attributes":{"s":"${'x'.repeat(DEFAULT_LIMITS.requestBytesMax)}"}}]` }) },
);

interface SessionResult {
  readonly requests: number;
  readonly problems: readonly string[];
}

/** Open a connection, send `frames`, and wait until every readable request is answered or the server closes. */
async function session(url: string, frames: readonly Frame[]): Promise<SessionResult> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + WS_PATH, [...SUBPROTOCOLS]);
  const problems: string[] = [];
  const expected = new Set<number>();
  let readableOnly = true;
  // Above the ids of the hand-written frames, whose replies are checked but not expected.
  let nextId = 1000;
  let probe = 0;
  let requests = 0;
  const done = new Promise<void>((resolve, reject) => {
    let hello = false;
    ws.on('error', () => undefined); // the close event tells the story
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as unknown;
      if (!hello) {
        hello = true;
        for (const frame of frames) {
          if (frame.kind === 'requests') {
            const withIds = frame.requests.map((r) => ({ ...r, id: nextId++ }));
            for (const r of withIds) expected.add(r.id);
            requests += withIds.length;
            ws.send(JSON.stringify(frame.asArray || withIds.length > 1 ? withIds : withIds[0]));
          } else {
            readableOnly = false;
            requests++;
            ws.send(frame.kind === 'text' ? frame.text : frame.bytes, { binary: frame.kind === 'bytes' && frame.binary });
          }
        }
        // A last, well-formed request: once it and every readable request are answered, the session is over.
        probe = nextId++;
        expected.add(probe);
        ws.send(JSON.stringify([{ id: probe, op: 'list_spaces' }]));
        return;
      }
      if (!Array.isArray(message)) {
        const error = (message as { type?: string; error?: unknown }).error;
        const problem = errorBodyProblem(0, error);
        if (problem) problems.push(`connection error frame: ${problem}`);
        return;
      }
      for (const reply of message as { id?: number; ok?: boolean; error?: unknown }[]) {
        if (reply.id === probe && probe > 0 && reply.ok !== true) problems.push(`the probe failed: ${JSON.stringify(reply).slice(0, 200)}`);
        if (typeof reply.id !== 'number' || (reply.id >= 1000 && !expected.delete(reply.id))) problems.push(`a reply for an unknown or repeated id: ${JSON.stringify(reply).slice(0, 200)}`);
        if (reply.ok !== true) {
          const problem = errorBodyProblem(0, reply.error);
          if (problem) problems.push(problem);
        }
      }
      if (expected.size === 0) resolve();
    });
    ws.on('close', (code) => {
      if (expected.size === 0) return resolve();
      if (readableOnly && code !== CLOSE_CODES.tooBig) problems.push(`closed with ${code} while ${expected.size} readable requests were unanswered`);
      else if (!PROTOCOL_CLOSES.has(code)) problems.push(`closed with ${code}, not a protocol close code`);
      resolve();
    });
    setTimeout(() => reject(new Error(`session hung: ${expected.size} requests unanswered`)), SESSION_TIMEOUT_MS).unref();
  });
  try {
    await done;
  } finally {
    ws.terminate();
  }
  return { requests, problems };
}

/** Raw-socket sessions: a handshake, then a frame that is cut, unmasked, oversized in its header, or a bad opcode. */
const RAW_FRAMES: readonly (readonly [string, Buffer])[] = [
  ['a header cut after two bytes', Buffer.from([0x81, 0xfe])],
  ['a masked frame cut mid-payload', Buffer.from([0x81, 0x85, 1, 2, 3, 4, 0x5a])],
  ['an unmasked client frame', Buffer.from([0x81, 0x02, 0x5b, 0x5d])],
  ['a 2^63-byte length', Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4])],
  ['a reserved opcode', Buffer.from([0x83, 0x80, 1, 2, 3, 4])],
  ['a fragmented ping', Buffer.from([0x09, 0x80, 1, 2, 3, 4])],
  ['a continuation without a start', Buffer.from([0x80, 0x80, 1, 2, 3, 4])],
];

async function rawSession(url: string, frame: Buffer): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`GET ${WS_PATH} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${SUBPROTOCOLS[0]}\r\n\r\n`);
  socket.write(frame);
  // Either the server closes (a protocol error) or we leave the frame cut and go away.
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 200))]);
  socket.destroy();
  await closed;
}

test(`WebSocket fuzzing: ${SESSIONS} sessions of random and malformed frames, answered or closed by the protocol, data intact (seed ${SEED})`, async (t) => {
  const server = await spawnServer(['--port', '0', '--data', dataDir, '--log-level', 'info']);
  const admin = await connect(server.url);
  try {
    await admin.addSpace(CANARY_SCHEMA);
    await admin.addSpace(FUZZ_SCHEMA);
    const canary = await admin.put(CANARY_SPACE, CANARY_KEY, CANARY);
    let requests = 0;
    let sessions = 0;
    let rssAfterWarmUp = 0;
    await fc.assert(fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 4 }), async (frames) => {
      const result = await session(server.url, frames);
      requests += result.requests;
      if (++sessions === Math.floor(SESSIONS / 5)) rssAfterWarmUp = residentBytes(server.pid);
      if (result.problems.length > 0) throw new Error(result.problems.slice(0, 5).join('\n'));
    }), fuzzParameters(SEED, SESSIONS));

    for (const [what, frame] of RAW_FRAMES) {
      await withTimeout(rawSession(server.url, frame), 10_000, `the raw session with ${what} to end`);
      requests++;
    }

    const exited = await Promise.race([server.exited.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
    assert.equal(exited, false, `the server process is still running:\n${server.output().slice(-2000)}`);
    const back = await admin.get(CANARY_SPACE, CANARY_KEY);
    assert.deepEqual(back, { key: CANARY_KEY, version: canary.version, attributes: CANARY }, 'the canary is untouched');
    const growth = residentBytes(server.pid) - rssAfterWarmUp;
    t.diagnostic(`${sessions} sessions, ${requests} requests and frames (${RAW_FRAMES.length} raw); RSS growth after warm-up ${(growth / 1048576).toFixed(1)} MiB`);
    recordFigures('fuzz-ws', { requests });
    assert.ok(growth < RSS_GROWTH_MAX_BYTES, `resident memory grew by ${growth} bytes after the warm-up`);
  } finally {
    await admin.close();
    await server.kill();
  }
});
