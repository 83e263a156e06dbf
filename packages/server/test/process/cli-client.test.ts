// Proves the CLI client commands (`spacekv get|put|del|mutate|search|count|add-space|add-index|rm-space|spaces|describe`)
// work against a real server, print JSON, and exit with the codes scripts rely on: 0 done, 1 bad
// input, 2 not found, 3 condition failed, 4 server unreachable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { DEFAULT_CONFIG, type RunningServer, startServer } from '../../src/index.js';
import { MAIN_JS, childEnv } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let server: RunningServer;
let dir: string;

function cli(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, '--url', server.url, ...args], { env: childEnv(), timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? -1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  dir = makeTempDir('cli-client');
  server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir: dir, logLevel: 'silent' });
});

after(async () => {
  await server.close();
  removeDir(dir);
});

test('search, count and add-index: JSON out, exit 0; a bad condition exits 1', async () => {
  assert.equal((await cli('add-space', 'space phones key name attributes string city, int n')).code, 0);
  for (const [name, city, n] of [['a', 'Paris', 1], ['b', 'Oslo', 2], ['c', 'Paris', 3]] as const) {
    assert.equal((await cli('put', 'phones', name, JSON.stringify({ city, n }))).code, 0);
  }
  const indexed = await cli('add-index', 'phones', 'city');
  assert.equal(indexed.code, 0, indexed.stderr);
  assert.deepEqual(JSON.parse(indexed.stdout).indexes, ['city']);
  const found = await cli('search', 'phones', '{"city": "Paris"}', '--select', 'n', '--limit', '1');
  assert.equal(found.code, 0, found.stderr);
  assert.deepEqual(JSON.parse(found.stdout).map((o: { key: string; attributes: unknown }) => [o.key, o.attributes]), [['a', { n: 1 }], ['c', { n: 3 }]]);
  const sorted = await cli('search', 'phones', '--sort-by', 'n', '--desc', '--limit', '2');
  assert.deepEqual(JSON.parse(sorted.stdout).map((o: { key: string }) => o.key), ['c', 'b']);
  assert.deepEqual(JSON.parse((await cli('count', 'phones', '{"n": {"gte": 2}}')).stdout), { count: 2 });
  const bad = await cli('count', 'phones', '{"n": "many"}');
  assert.equal(bad.code, 1);
  assert.equal(JSON.parse(bad.stderr).error.code, 'invalid_predicate');
  assert.equal((await cli('rm-space', 'phones')).code, 0);
});

test('add-space, put, get, mutate, describe, spaces, del, rm-space: JSON out, exit 0', async () => {
  const created = await cli('add-space', 'space users key name attributes int age, set(string) tags');
  assert.equal(created.code, 0, created.stderr);
  assert.equal(JSON.parse(created.stdout).name, 'users');

  const put = await cli('put', 'users', 'bob', '{"age": 9223372036854775807}');
  assert.equal(put.code, 0, put.stderr);
  assert.equal(JSON.parse(put.stdout).created, true);

  const got = await cli('get', 'users', 'bob');
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /"age":9223372036854775807/, 'a 64-bit int is printed exactly');

  const mutated = await cli('mutate', 'users', 'bob', '[{"set_add": {"tags": "admin"}}]');
  assert.equal(mutated.code, 0, mutated.stderr);
  assert.deepEqual(JSON.parse(mutated.stdout).attributes.tags, ['admin']);

  const partial = await cli('get', 'users', 'bob', '--select', 'tags');
  assert.deepEqual(JSON.parse(partial.stdout).attributes, { tags: ['admin'] });

  assert.equal(JSON.parse((await cli('describe', 'users')).stdout).key.name, 'name');
  assert.deepEqual(JSON.parse((await cli('spaces')).stdout).map((s: { name: string }) => s.name), ['users']);

  const deleted = await cli('del', 'users', 'bob');
  assert.equal(deleted.code, 0, deleted.stderr);
  const removed = await cli('rm-space', 'users');
  assert.equal(removed.code, 0, removed.stderr);
});

test('exit codes: 2 not found, 3 condition failed, 1 bad input, 4 unreachable', async () => {
  await cli('add-space', 'space things key k attributes int n');
  await cli('put', 'things', 'a', '{"n": 1}');

  const absent = await cli('get', 'things', 'nobody');
  assert.equal(absent.code, 2);
  assert.equal(absent.stdout.trim(), 'null');
  assert.equal((await cli('get', 'nospace', 'a')).code, 2, 'an unknown space is "not found" too');
  assert.equal((await cli('del', 'things', 'nobody')).code, 2);

  const exists = await cli('put', 'things', 'a', '{}', '--if-not-exist');
  assert.equal(exists.code, 3);
  assert.equal(JSON.parse(exists.stderr).error.code, 'exists');
  const stale = await cli('put', 'things', 'a', '{"n": 2}', '--if-version', '1');
  assert.equal(stale.code, 3);
  assert.equal(JSON.parse(stale.stderr).error.code, 'cmp_fail');
  const current = JSON.parse((await cli('get', 'things', 'a')).stdout).version as number;
  const swapped = await cli('put', 'things', 'a', '{"n": 1}', '--if-version', String(current));
  assert.equal(swapped.code, 0, swapped.stderr);
  assert.equal((await cli('del', 'things', 'a', '--if-version', String(current))).code, 3, 'the swap moved the version on');

  const badJson = await cli('put', 'things', 'a', '{"n":');
  assert.equal(badJson.code, 1);
  assert.equal(JSON.parse(badJson.stderr).error.code, 'bad_request');
  const badType = await cli('put', 'things', 'a', '{"n": "one"}');
  assert.equal(badType.code, 1);
  assert.equal(JSON.parse(badType.stderr).error.code, 'invalid_value');

  const unreachable = await new Promise<CliRun>((resolve) => {
    execFile(process.execPath, [MAIN_JS, '--url', 'http://127.0.0.1:1', 'spaces'], { env: childEnv(), timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: (err as { code?: number } | null)?.code ?? 0, stdout, stderr }));
  });
  assert.equal(unreachable.code, 4);
  assert.equal(JSON.parse(unreachable.stderr).error.code, 'unavailable');

  assert.equal(JSON.parse((await cli('get', 'things', 'a')).stdout).attributes.n, 1, 'failed commands changed nothing');
});
