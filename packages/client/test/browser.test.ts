// Proves the client can run in a browser: it bundles for the browser platform with no Node built-in
// and without the `ws` package (mapped away by package.json's "browser" field), and the bundle
// talks to a real server through the platform's own WebSocket (here a standard-API WebSocket put on
// globalThis, as a browser provides; the bundle has no other way to open a socket).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { WebSocket as NodeWebSocket } from 'ws';
import { type TestServer, startTestServer } from './support.js';

const ENTRY = fileURLToPath(new URL('../src/index.js', import.meta.url));

let server: TestServer;
let dir: string;
let bundle = '';

before(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'spacekv-browser-'));
  const result = await build({ entryPoints: [ENTRY], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
  assert.deepEqual(result.errors, []);
  bundle = result.outputFiles[0]?.text ?? '';
});

after(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the client bundles for the browser without Node built-ins or the ws package', () => {
  assert.ok(bundle.length > 10_000, 'the bundle holds the client');
  assert.doesNotMatch(bundle, /\bfrom\s*["']node:|require\(["']node:|["'](fs|net|tls|http|https|crypto|stream|zlib)["']\)/, 'no Node built-in');
  assert.doesNotMatch(bundle, /Sec-WebSocket-Key|perMessageDeflate/, 'the ws package is not in the bundle');
});

test('the bundle works over the platform WebSocket', async () => {
  const opened: string[] = [];
  // A browser's WebSocket: the standard API, on globalThis. Counting constructions proves the bundle used it.
  class PlatformWebSocket extends NodeWebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      opened.push(url);
    }
  }
  const globals = globalThis as { WebSocket?: unknown };
  const before = globals.WebSocket;
  globals.WebSocket = PlatformWebSocket;
  try {
    const file = join(dir, 'client-bundle.mjs');
    await writeFile(file, bundle);
    const client = (await import(pathToFileURL(file).href)) as typeof import('../src/index.js');
    const db = await client.connect(server.url);
    await db.addSpace('space pages key id attributes string title, int views');
    await db.put('pages', 'home', { title: 'Welcome' });
    await db.atomicAdd('pages', 'home', { views: 1 });
    const home = await db.get('pages', 'home');
    assert.deepEqual(home?.attributes, { title: 'Welcome', views: 1 });
    await db.close();
    assert.equal(opened.length, 1, 'the bundle opened its connection through the platform WebSocket');
    assert.match(opened[0] as string, /\/v1\/ws$/);
  } finally {
    globals.WebSocket = before;
  }
});
