// Proves spacekv runs under a process manager: SIGTERM sent to `npm start` (what systemd, pm2 or a
// container runtime sends to the process they started) reaches the server, which drains and exits,
// leaving no server process behind; and the systemd unit of docs/operations.md passes
// `systemd-analyze verify` (where systemd is installed), with a deliberately broken copy of it as the
// negative control that the check can fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { childEnv, isAlive, killAllChildren, servingPid, spawnServing } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { withTimeout } from '../helpers/timeout.js';
import { REPO_ROOT, repoPath } from '../docs/repo.js';

const run = promisify(execFile);
let work = '';
before(() => {
  work = makeTempDir('npm-start');
});
after(async () => {
  await killAllChildren();
  removeDir(work);
});

test('SIGTERM to `npm start` drains the server and leaves no process behind', async () => {
  const dataDir = join(work, 'data');
  // npm start builds first (tsc -b, quick when up to date, slower on a loaded machine).
  const npm = await spawnServing(['npm', 'start', '--', '--port', '0', '--data', dataDir], childEnv(), REPO_ROOT, 120_000);
  const pid = servingPid(npm);
  try {
    assert.notEqual(pid, npm.pid, 'the server runs in its own process under npm');
    const health = await fetch(`${npm.url}/healthz`);
    assert.equal(health.status, 200);
    npm.signal('SIGTERM');
    await withTimeout(npm.exited, 30_000, 'npm start to exit after SIGTERM');
    assert.ok(npm.logLines().some((line) => line.msg === 'closed'), `the server drained and closed:\n${npm.output()}`);
    for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(!isAlive(pid), `server process ${pid} is still running after npm start exited`);
  } finally {
    await npm.kill();
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});

const UNIT = repoPath('docs', 'deploy', 'spacekv.service');

test('the systemd unit runs the bin the server package ships', () => {
  const unit = readFileSync(UNIT, 'utf8');
  const execStart = /^ExecStart=(\S+) (\S+) serve/m.exec(unit);
  assert.ok(execStart, 'the unit has an ExecStart running `<node> <entry> serve`');
  const bin = (JSON.parse(readFileSync(repoPath('packages', 'server', 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['spacekv'];
  assert.equal(execStart[2], `/opt/spacekv/node_modules/spacekv/${bin!.replace(/^\.\//, '')}`);
});

async function verifyUnit(text: string): Promise<string> {
  const dir = mkdtempSync(join(work, 'unit-'));
  const file = join(dir, 'spacekv.service');
  // The node of this machine, so verify checks the unit and not where node happens to live.
  writeFileSync(file, text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
  const result = await run('systemd-analyze', ['verify', file], { cwd: dir, timeout: 60_000 })
    .then(({ stdout, stderr }) => `${stdout}${stderr}`, (err: { stdout?: string; stderr?: string }) => `failed: ${err.stdout ?? ''}${err.stderr ?? ''}`);
  return result.split('\n').filter((line) => line.includes(file) || line.startsWith('failed')).join('\n');
}

const systemdMissing = await run('systemd-analyze', ['--version']).then(() => undefined, () => 'systemd-analyze is not installed here');

test('the systemd unit passes systemd-analyze verify, and a broken copy does not', { skip: systemdMissing }, async () => {
  const unit = readFileSync(UNIT, 'utf8');
  assert.equal(await verifyUnit(unit), '', 'systemd-analyze verify reports nothing about the unit');
  const broken = await verifyUnit(unit.replace('Type=simple', 'Type=simpel').replace('TimeoutStopSec=', 'TimeoutStoppSec='));
  assert.match(broken, /simpel/, 'a bad value is reported');
  assert.match(broken, /TimeoutStoppSec/, 'an unknown key is reported');
});
