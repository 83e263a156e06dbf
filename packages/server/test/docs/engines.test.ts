// Proves the declared Node requirement is true: every package the lock file installs (server, client,
// benchmark, tools) accepts the Node running the tests, as `npm ci` checks with EBADENGINE; every
// published package declares the same requirement as the repository; and the overrides that make
// this so (root package.json) resolve: `npm ls --all` reports no invalid or missing package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import semver from 'semver';
import { REPO_ROOT, repoPath } from './repo.js';

const run = promisify(execFile);

interface Manifest {
  readonly engines?: { readonly node?: string };
}

function readJson<T>(...path: string[]): T {
  return JSON.parse(readFileSync(repoPath(...path), 'utf8')) as T;
}

test('every locked package accepts this Node, as the repository declares it', () => {
  const declared = readJson<Manifest>('package.json').engines?.node;
  assert.ok(declared !== undefined && semver.satisfies(process.version, declared), `this Node ${process.version} is one the repository accepts (${declared})`);
  const lock = readJson<{ packages: Record<string, Manifest & { readonly version?: string; readonly link?: boolean }> }>('package-lock.json');
  const refusing = Object.entries(lock.packages)
    .filter(([, entry]) => entry.engines?.node !== undefined && !semver.satisfies(process.version, entry.engines.node))
    .map(([path, entry]) => `${path}@${entry.version}: node ${entry.engines?.node}`);
  assert.deepEqual(refusing, [], `packages that refuse Node ${process.version}`);
});

test('the published packages declare the repository\'s Node requirement', () => {
  const declared = readJson<Manifest>('package.json').engines?.node;
  for (const pkg of ['core', 'server', 'client']) {
    assert.equal(readJson<Manifest>('packages', pkg, 'package.json').engines?.node, declared, `packages/${pkg}`);
  }
});

test('the installed tree matches the manifests and overrides: npm ls --all finds nothing invalid', async () => {
  const listed = await run('npm', ['ls', '--all'], { cwd: REPO_ROOT, timeout: 60_000, maxBuffer: 32 << 20 })
    .catch((err: { stdout?: string; stderr?: string }) => assert.fail(`npm ls --all fails:\n${err.stderr ?? ''}${(err.stdout ?? '').split('\n').filter((line) => /invalid|missing|ERR/.test(line)).join('\n')}`));
  assert.doesNotMatch(listed.stdout, / invalid|UNMET DEPENDENCY/); // UNMET OPTIONAL: another platform's binary
});
