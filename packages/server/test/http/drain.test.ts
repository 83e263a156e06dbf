// Proves the drain's answers exactly, in process (the process-level SIGTERM test sees them only as
// scheduling allows): a request in flight on a connection when close() starts is answered and its
// write is durable (visible after a restart on the same data directory); a request that arrives on
// that connection after the drain began is refused with 503, nothing of it applied, and the refusal
// is a catalogue error: {"ok":false,"error":{"code":"shutting_down",...}} (docs/errors.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { call, expectOk, objectPath } from '../helpers/http.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

interface RawAnswer {
  readonly status: number;
  readonly body: string;
}

function parseAnswers(text: string): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return answers;
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    answers.push({ status: Number(head.slice(9, 12)), body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
}

const put = (key: string, body: string): string =>
  `PUT ${objectPath('d', key)} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

test('drain: the in-flight request is answered and durable; a later one on the same connection is refused 503 shutting_down', async (t) => {
  const dataDir = makeTempDir('drain');
  try {
    let answers: RawAnswer[] = [];
    // The connection must be busy (headers parsed, body pending) when close() starts, or close()
    // drops it as idle and there is nothing to observe; if that happens, try again waiting longer.
    for (let attempt = 1, waitMs = 100; attempt <= 4 && answers.length < 2; attempt++, waitMs *= 2) {
      const server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent' });
      if (attempt === 1) expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space d key k attributes int n' } }), 201);
      const { hostname, port } = new URL(server.url);
      const socket = net.connect(Number(port), hostname);
      let received = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const first = put(`in-flight-${attempt}`, '{"n": 1}');
      socket.write(first.slice(0, -3)); // all but the end of the body: a request in flight
      await sleep(waitMs);
      const closing = server.close();
      socket.write(first.slice(-3) + put(`after-close-${attempt}`, '{"n": 2}'));
      await withTimeout(closing, 10_000, 'close() to finish');
      await withTimeout(closed, 10_000, 'the server to close the connection');
      answers = parseAnswers(received);
      t.diagnostic(`attempt ${attempt} (busy for ${waitMs} ms before close): ${answers.length} answers`);
    }
    assert.equal(answers.length, 2, 'both requests were answered');
    const [inFlight, late] = answers as [RawAnswer, RawAnswer];
    assert.equal(inFlight.status, 201, `the in-flight write is answered: ${inFlight.body}`);
    assert.equal(late.status, 503, `the late write is refused: ${late.body}`);

    const restarted = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent' });
    try {
      const listed = expectOk<{ spaces: { name: string }[] }>(await call(restarted.url, 'GET', '/v1/spaces'), 200);
      assert.deepEqual(listed.spaces.map((s) => s.name), ['d']);
      const keys = await Promise.all(['in-flight', 'after-close'].map(async (prefix) => {
        for (let attempt = 1; attempt <= 4; attempt++) {
          const reply = await call(restarted.url, 'GET', objectPath('d', `${prefix}-${attempt}`));
          if (reply.status === 200) return `${prefix}-${attempt}`;
        }
        return undefined;
      }));
      assert.ok(keys[0], 'the answered in-flight write is durable');
      assert.equal(keys[1], undefined, 'nothing of a refused write was applied');
    } finally {
      await restarted.close();
    }

    const body = JSON.parse(late.body) as { ok?: boolean; error?: { code?: string; message?: string } };
    assert.deepEqual({ ok: body.ok, code: body.error?.code }, { ok: false, code: 'shutting_down' }, `the refusal is a catalogue error, got ${late.body}`);
  } finally {
    removeDir(dataDir);
  }
});

// A PUT takes its place in its connection's order when its headers arrive, before its body (see
// HttpContext.admit); the drain waits for every place taken. A peer that goes mid-body must give
// its place back, or close() would wait for a request that can never come.
test('drain: a PUT whose connection dropped mid-body holds nothing up', async () => {
  const dataDir = makeTempDir('drain-aborted');
  try {
    const server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent' });
    let closing: Promise<void> | undefined;
    try {
      expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space d key k attributes int n' } }), 201);
      const { hostname, port } = new URL(server.url);
      const socket = net.connect(Number(port), hostname);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(put('cut', '{"n": 1}').slice(0, -3)); // headers and part of the body
      await sleep(200); // the server reads the headers and admits the request
      socket.destroy();
      await closed;
      await sleep(100); // the server sees the connection go
      closing = server.close();
      await withTimeout(closing, 10_000, 'close() to finish with the cut request given back');
    } finally {
      if (!closing) await server.close();
    }
  } finally {
    removeDir(dataDir);
  }
});
