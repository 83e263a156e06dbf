// Proves spacekv installs and runs outside this repository, as a user gets it: `npm run pack`'s four
// tarballs go into an empty temporary project with `npm install` (no workspace links; the
// third-party dependencies come from the registry through the npm cache). Then, from that project only:
// - `tsc --noEmit`-strict type checking of a file that imports @spacekv/client, including a line
//   that must NOT type-check (so types that silently became `any` fail the test);
// - `npx spacekv serve` on a free port, and that file, compiled, runs operations against it;
// - `npx spacekv get` (the CLI's client commands) reads what it wrote;
// - SIGTERM to the server drains it and ends npx.
// This is what catches a file missing from `files`, a wrong `exports`/`types`/`bin` path, or a
// dependency declared only at the repository root.
// It is part of `npm test`, so it must not compile better-sqlite3 (75 s and more on two loaded
// cores, and it proves nothing of our packages): the install runs with --ignore-scripts, the test
// checks better-sqlite3 is the only installed package that needed a script, and gives it the addon
// the repository already compiled for this Node when the versions agree (else it compiles it).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/ports.js';
import { childEnv, isAlive, killAllChildren, servingPid, spawnServing } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { withTimeout } from '../helpers/timeout.js';
import { REPO_ROOT, repoPath } from '../docs/repo.js';

const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 5 * 60_000;
const STEP_TIMEOUT_MS = 120_000;

const dirs: string[] = [];
after(async () => {
  await killAllChildren();
  for (const dir of dirs) removeDir(dir);
});

/** Our environment without npm's per-run variables (npm_config_*, npm_package_*) from an outer `npm run`. */
function cleanEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env = childEnv(extra);
  for (const name of Object.keys(env)) if (/^npm_(config|package|lifecycle)_/i.test(name) && !(name in extra)) delete env[name];
  return env;
}

/** Every package directory under a node_modules folder (scoped ones included, nested ones too). */
function packageDirs(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  return readdirSync(nodeModules).filter((name) => !name.startsWith('.')).flatMap((name) => {
    const dir = join(nodeModules, name);
    const dirs = name.startsWith('@') ? readdirSync(dir).map((inner) => join(dir, inner)) : [dir];
    return dirs.flatMap((d) => [d, ...packageDirs(join(d, 'node_modules'))]);
  });
}

function versionOf(packageDir: string): string {
  return (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The installed packages whose install would run a script (npm runs node-gyp for a binding.gyp without one). */
function packagesWithInstallScripts(nodeModules: string): string[] {
  return packageDirs(nodeModules).filter((dir) => {
    const { scripts = {} } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    return ['preinstall', 'install', 'postinstall'].some((name) => name in scripts) || existsSync(join(dir, 'binding.gyp'));
  }).map((dir) => dir.slice(nodeModules.length + 1));
}

const ADDON = join('build', 'Release', 'better_sqlite3.node');

/**
 * better-sqlite3 installed without its script has no addon: give it the one the repository compiled
 * (same version, same Node, so the same binary a compile would make), or compile it if they differ.
 */
async function provideSqliteAddon(project: string): Promise<void> {
  const installed = join(project, 'node_modules', 'better-sqlite3');
  const built = repoPath('node_modules', 'better-sqlite3');
  if (versionOf(installed) === versionOf(built) && existsSync(join(built, ADDON))) {
    mkdirSync(join(installed, 'build', 'Release'), { recursive: true });
    copyFileSync(join(built, ADDON), join(installed, ADDON));
    return;
  }
  console.log(`# better-sqlite3 ${versionOf(installed)} differs from the repository's ${versionOf(built)}: compiling it`);
  await run('npm', ['rebuild', 'better-sqlite3'], { cwd: project, env: cleanEnv({ npm_config_build_from_source: 'true' }), timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 << 20 });
}

/** The user's program: typed use of the installed client (SERVER_URL is filled in once the port is known). */
const TRY_TS = `import { connect, defineSpace, t } from '@spacekv/client';

const people = defineSpace('pack_people', {
  key: 'username',
  attributes: { first: t.string(), age: t.int(), tags: t.set(t.string()) },
});

const db = await connect('SERVER_URL');
const space = await db.space(people);
await space.put('ada', { first: 'Ada', age: 36 });
// @ts-expect-error first is a string: if the package's types were lost, this line would type-check
await space.put('bad', { first: 1 }).catch(() => undefined);
await space.mutate('ada', [{ add: { age: 1 } }, { set_add: { tags: 'math' } }]);
const ada = await space.get('ada');
const first: string | undefined = ada?.attributes.first;
const tags: readonly string[] | undefined = ada?.attributes.tags;
console.log(JSON.stringify({ first, age: String(ada?.attributes.age), tags, count: await space.count({ age: { gte: 30 } }) }));
await db.close();
`;

test('the tarballs install into an empty project, type-check, serve with npx spacekv and run operations', { timeout: INSTALL_TIMEOUT_MS + 4 * STEP_TIMEOUT_MS }, async () => {
  const work = makeTempDir('pack');
  dirs.push(work);
  const packs = join(work, 'packs');
  const project = join(work, 'project');
  mkdirSync(project);

  const packed = await run(process.execPath, [repoPath('scripts', 'pack.js'), '--out', packs], { cwd: REPO_ROOT, env: cleanEnv(), timeout: STEP_TIMEOUT_MS });
  const tarballs = packed.stdout.trim().split('\n');
  assert.deepEqual(tarballs.map((path) => path.slice(packs.length + 1)).sort(), ['spacekv-0.1.0.tgz', 'spacekv-client-0.1.0.tgz', 'spacekv-console-0.1.0.tgz', 'spacekv-core-0.1.0.tgz']);

  // The project the README's "Using spacekv in your own project" makes, with the override it sets.
  const overrides = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { overrides: Record<string, string> }).overrides;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'spacekv-pack-test', private: true, type: 'module', overrides }));
  const started = Date.now();
  const installed = await run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', ...tarballs], {
    cwd: project, env: cleanEnv(), timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 << 20,
  });
  console.log(`# npm install of the four tarballs took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.doesNotMatch(`${installed.stdout}${installed.stderr}`, /EBADENGINE/, 'every installed package accepts this Node');
  // A new dependency with an install script would be left broken by --ignore-scripts: say so here.
  // bufferutil's script only compiles where no prebuilt binary ships; without it, it loads the
  // prebuilt one (and ws masks in JavaScript where there is neither).
  assert.deepEqual(packagesWithInstallScripts(join(project, 'node_modules')), ['better-sqlite3', 'bufferutil'], 'only better-sqlite3 needs its install script, and bufferutil does without its own');
  const bufferutil = createRequire(join(project, 'package.json'))('bufferutil') as { mask: unknown };
  assert.equal(typeof bufferutil.mask, 'function', 'bufferutil loads without its install script');
  await provideSqliteAddon(project);

  for (const name of ['spacekv', '@spacekv/client', '@spacekv/core']) {
    const installed = join(project, 'node_modules', name);
    assert.ok(!lstatSync(installed).isSymbolicLink(), `${name} is installed, not linked`);
    assert.ok(!realpathSync(installed).startsWith(REPO_ROOT), `${name} lives in the project, not the repository`);
  }
  const installedPackages = readdirSync(join(project, 'node_modules')).filter((name) => !name.startsWith('.'));
  for (const benchOnly of ['etcd3', '@grpc', '@deno', 'ioredis', 'vega', 'autocannon']) {
    assert.ok(!installedPackages.includes(benchOnly), `${benchOnly} (a benchmark peer) is not installed with the server`);
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(project, 'try.ts'), TRY_TS.replace('SERVER_URL', url));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    // No @types/node: the client's types must stand without them (a browser project has none).
    compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, types: [] },
    files: ['try.ts'],
  }));
  const tsc = repoPath('node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '--noEmit', '-p', project], { cwd: project, timeout: STEP_TIMEOUT_MS }).catch((err: { stdout?: string }) => {
    assert.fail(`the client's types do not check from an installed package:\n${err.stdout ?? String(err)}`);
  });
  await run(process.execPath, [tsc, '-p', project], { cwd: project, timeout: STEP_TIMEOUT_MS });

  const served = await spawnServing(['npx', 'spacekv', 'serve', '--port', String(port), '--data', join(work, 'data')], cleanEnv(), project, STEP_TIMEOUT_MS);
  const pid = servingPid(served);
  try {
    assert.equal(served.url, url);
    const ran = await run(process.execPath, [join(project, 'try.js')], { cwd: project, timeout: STEP_TIMEOUT_MS });
    assert.deepEqual(JSON.parse(ran.stdout), { first: 'Ada', age: '37', tags: ['math'], count: 1 });
    const got = await run('npx', ['spacekv', 'get', 'pack_people', 'ada', '--url', url], { cwd: project, env: cleanEnv(), timeout: STEP_TIMEOUT_MS });
    assert.equal((JSON.parse(got.stdout) as { attributes: { first: string } }).attributes.first, 'Ada');
    // npx does not pass signals on (docs/operations.md): a process manager signals the server itself.
    process.kill(pid, 'SIGTERM');
    await withTimeout(served.exited, STEP_TIMEOUT_MS, 'npx spacekv serve to exit after its server');
    assert.ok(served.logLines().some((line) => line.msg === 'closed'), `the server drained and closed:\n${served.output()}`);
  } finally {
    await served.kill();
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});
