// Proves the `spacekv serve` command line (docs/architecture.md §6): --help lists --host, --port, --data,
// --store (and --log-level) with their environment variables; the environment variables configure a
// real server (SPACEKV_HOST, SPACEKV_PORT, SPACEKV_DATA, SPACEKV_STORE, SPACEKV_LOG_LEVEL); a flag
// wins over its variable; and bad settings (an unknown store, a bad port, a timer past Node's longest)
// stop the process with a message and a non-zero exit instead of serving.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { LIMIT_MS_MAX } from '@spacekv/core';
import { join } from 'node:path';
import { call, expectOk, objectPath } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { childEnv, killAllChildren, runCli, spawnServer } from '../helpers/process.js';
import { TempDirs } from '../helpers/temp.js';
import { withTimeout } from '../helpers/timeout.js';

const dirs = new TempDirs();
const tempDir = (name: string): string => dirs.make(name);
after(async () => {
  await killAllChildren();
  dirs.removeAll();
});

test('serve --help lists --host, --port, --data, --store and --log-level with their environment variables', async () => {
  const run = await runCli(['serve', '--help']);
  assert.equal(run.code, 0, run.stderr);
  const help = run.stdout.replace(/\s+/g, ' ');
  for (const [flag, env] of [['--host <host>', 'SPACEKV_HOST'], ['--port <port>', 'SPACEKV_PORT'], ['--data <dir>', 'SPACEKV_DATA'],
    ['--store <store>', 'SPACEKV_STORE'], ['--log-level <level>', 'SPACEKV_LOG_LEVEL']] as const) {
    assert.ok(help.includes(flag), `help lists ${flag}:\n${run.stdout}`);
    assert.ok(help.includes(`env: ${env}`), `help names ${env}:\n${run.stdout}`);
  }
  assert.ok(help.includes('default: 7640'), 'the default port is 7640');
});

test('the environment variables configure the server: host, port, data directory, store, log level', async () => {
  const dataDir = tempDir('cli-env');
  const port = await freePort();
  const server = await spawnServer([], childEnv({
    SPACEKV_HOST: 'localhost', SPACEKV_PORT: String(port), SPACEKV_DATA: dataDir, SPACEKV_STORE: 'sqlite', SPACEKV_LOG_LEVEL: 'info',
  }));
  try {
    assert.equal(server.url, `http://localhost:${port}`);
    const serving = server.logLines().find((line) => line.msg === 'spacekv serving');
    assert.equal(serving?.dataDir, dataDir);
    assert.equal(serving?.store, 'sqlite');
    expectOk(await call(server.url, 'POST', '/v1/spaces', { body: { schema: 'space envs key k attributes string v' } }), 201);
    expectOk(await call(server.url, 'PUT', objectPath('envs', 'a'), { body: { v: 'from env' } }), 201);
    assert.ok(existsSync(join(dataDir, 'spacekv.db')), 'the store lives in SPACEKV_DATA');
  } finally {
    await server.kill();
  }
});

test('a flag wins over its environment variable', async () => {
  const flagDir = tempDir('cli-flag');
  const envDir = tempDir('cli-env-loses');
  // SPACEKV_PORT=1 could not be bound by an unprivileged test; --port 0 must win.
  const server = await spawnServer(['--port', '0', '--data', flagDir, '--log-level', 'info'], childEnv({ SPACEKV_PORT: '1', SPACEKV_DATA: envDir }));
  try {
    assert.notEqual(new URL(server.url).port, '1');
    const serving = server.logLines().find((line) => line.msg === 'spacekv serving');
    assert.equal(serving?.dataDir, flagDir);
    expectOk(await call(server.url, 'GET', '/healthz'), 200);
  } finally {
    await server.kill();
  }
});

test('an unknown store (SPACEKV_STORE or --store) stops the process with a message, exit 1', async () => {
  const dataDir = tempDir('cli-store');
  for (const [args, env] of [
    [['--port', '0', '--data', dataDir], childEnv({ SPACEKV_STORE: 'bogus' })],
    [['--port', '0', '--data', dataDir, '--store', 'bogus'], childEnv()],
  ] as const) {
    const run = await runCli(['serve', ...args], env);
    assert.equal(run.code, 1, `${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /unknown store 'bogus'/);
  }
});

test('a bad port (SPACEKV_PORT) stops the process with a message, non-zero exit', async () => {
  const run = await withTimeout(runCli(['serve', '--data', tempDir('cli-port')], childEnv({ SPACEKV_PORT: 'not-a-port' })), 20_000, 'the CLI to refuse');
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /invalid port 'not-a-port'/);
});

test('a timer setting past the longest Node timer (flag or variable) stops the process with a message, exit 1; at it, the server serves', async () => {
  const dataDir = tempDir('cli-timer');
  const over = String(LIMIT_MS_MAX + 1);
  for (const [args, env] of [
    [['--sweep-interval-ms', over], childEnv()],
    [['--drain-timeout-ms', over], childEnv()],
    [[], childEnv({ SPACEKV_HEARTBEAT_INTERVAL_MS: over })],
  ] as const) {
    const run = await withTimeout(runCli(['serve', '--port', '0', '--data', dataDir, ...args], env), 20_000, 'the CLI to refuse');
    assert.equal(run.code, 1, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, new RegExp(`'${over}' is more than ${LIMIT_MS_MAX} ms`));
  }
  const server = await spawnServer(['--port', '0', '--data', dataDir, '--sweep-interval-ms', String(LIMIT_MS_MAX), '--heartbeat-interval-ms', String(LIMIT_MS_MAX)]);
  expectOk(await call(server.url, 'GET', '/healthz'));
  assert.doesNotMatch(server.output(), /TimeoutOverflowWarning/);
});
