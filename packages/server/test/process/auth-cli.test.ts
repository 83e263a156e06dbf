// Proves the safe defaults and the token workflow of the real command line: a server asked to
// listen beyond loopback without auth refuses to start (message, exit 1) unless
// --insecure-no-auth; the first start with auth prints the root token once and keeps it in
// <data>/root-token, mode 0600, and a restart neither prints nor replaces it; `spacekv token
// create|attenuate|list|revoke` and `--token`/SPACEKV_TOKEN work end to end, with exit code 6 for
// a refused request.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv, killAllChildren, runCli, spawnServer } from '../helpers/process.js';
import { TempDirs } from '../helpers/temp.js';

const dirs = new TempDirs();
const tempDir = (name: string): string => dirs.make(name);
after(async () => {
  await killAllChildren();
  dirs.removeAll();
});

test('--host 0.0.0.0 without auth refuses to start: a message naming the way out, exit code 1', async () => {
  const run = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--auth', 'off', '--data', tempDir('open')]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /refusing to listen on 0\.0\.0\.0 without auth/);
  assert.match(run.stderr, /--insecure-no-auth/);
  assert.doesNotMatch(run.stdout, /spacekv serving/);
});

test('a root secret shorter than 32 characters is refused at start', async () => {
  const run = await runCli(['serve', '--port', '0', '--auth', 'on', '--data', tempDir('short')], childEnv({ SPACEKV_ROOT_TOKEN: 'short' }));
  assert.equal(run.code, 1);
  assert.match(run.stderr, /SPACEKV_ROOT_TOKEN must be at least 32 characters/);
});

test('first start prints the root token once and keeps it 0600 in the data directory; the token commands and --token work', async () => {
  const data = tempDir('bootstrap');
  let server = await spawnServer(['--port', '0', '--auth', 'on', '--data', data]);
  const printed = /\n {2}(skv2_\S+)\n/.exec(server.output())?.[1];
  assert.ok(printed, `the root token is printed:\n${server.output()}`);
  const file = join(data, 'root-token');
  assert.equal(readFileSync(file, 'utf8').trim(), printed);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(server.logLines().some((l) => l.msg === 'auth is on: every request needs a token'));
  const cli = (args: string[], token?: string) => runCli(['--url', server.url, ...args], childEnv(token ? { SPACEKV_TOKEN: token } : {}));

  assert.equal((await cli(['spaces'])).code, 6, 'no token: refused');
  assert.equal((await cli(['add-space', 'space users key k attributes int n'], printed)).code, 0);
  const created = await cli(['token', 'create', '--label', 'writer', '--ops', 'read,write', '--spaces', 'users'], printed);
  assert.equal(created.code, 0, created.stderr);
  const writer = JSON.parse(created.stdout) as { id: string; token: string };
  // Hex: an id the CLI takes as an argument must never begin with '-' (base64url ids did, 1 in 64, and were read as an option).
  assert.match(writer.id, /^[0-9a-f]{16}$/);
  assert.equal((await cli(['put', 'users', 'a', '{"n": 1}'], writer.token)).code, 0);
  assert.equal((await cli(['rm-space', 'users'], writer.token)).code, 6, 'no admin right');
  const narrowed = await runCli(['token', 'attenuate', writer.token, '--ops', 'read']); // offline: no --url
  assert.equal(narrowed.code, 0, narrowed.stderr);
  const reader = (JSON.parse(narrowed.stdout) as { token: string }).token;
  assert.equal((await cli(['get', 'users', 'a'], reader)).code, 0);
  assert.equal((await cli(['put', 'users', 'a', '{"n": 2}'], reader)).code, 6);
  const listed = await cli(['token', 'list'], printed);
  assert.ok(listed.stdout.includes(writer.id) && !listed.stdout.includes('root_key'), listed.stdout);
  const revoked = await cli(['token', 'revoke', writer.id], printed);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal((await cli(['get', 'users', 'a'], reader)).code, 6, 'a token attenuated from a revoked one is refused');

  server.signal('SIGTERM');
  await server.exited;
  server = await spawnServer(['--port', '0', '--auth', 'on', '--data', data]);
  assert.doesNotMatch(server.output(), /skv\d_/, 'a restart prints no token');
  assert.equal(readFileSync(file, 'utf8').trim(), printed);
  assert.equal((await runCli(['--url', server.url, '--token', printed, 'get', 'users', 'a'])).code, 0, 'the root token survives a restart');
  server.signal('SIGTERM');
  await server.exited;
});

test('auth off on loopback says so in the startup log', async () => {
  const server = await spawnServer(['--port', '0', '--data', tempDir('loopback')]);
  assert.ok(server.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('auth is off: listening on loopback only')), server.output());
  server.signal('SIGTERM');
  await server.exited;
});
