// Proves export and import (docs/operations.md): every type (int64 extremes as keys and values,
// floats, sets, maps, lists, documents, bytes, timestamps, expiries, a ttl space, an index) goes
// SQLite -> PostgreSQL -> SQLite and comes back identical, with each object's source version in the
// export; an import killed with SIGKILL halfway and run again picks up after its last committed
// batch and ends with exactly one copy of everything; a damaged file stops the import at the line,
// naming it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { type Json, parseJson } from '@spacekv/core';
import { type SpacekvClient, connect } from '@spacekv/client';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { progressFileOf } from '../../src/ops/import.js';
import { startServer } from '../../src/server.js';
import type { Store } from '../../src/store/store.js';
import { MAIN_JS, childEnv, killAllChildren, runCli } from '../helpers/process.js';
import { dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep, withTimeout } from '../helpers/timeout.js';

after(killAllChildren);

const I64_MIN = -9223372036854775808n;
const I64_MAX = 9223372036854775807n;
const HOUR_S = 3600;

interface Line {
  readonly type: string;
  readonly space?: string;
  readonly key?: Json;
  readonly version?: number;
  readonly expires_at?: number | null;
  readonly attributes?: Json;
  readonly schema?: Json;
  readonly objects?: number;
}

function linesOf(file: string): Line[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => parseJson(l) as unknown as Line);
}

/** Objects by space and key, without the store-specific version and expiry instant. */
function objectsOf(lines: readonly Line[]): Map<string, Line> {
  return new Map(lines.filter((l) => l.type === 'object').map((l) => [`${l.space}/${String(l.key)}`, l]));
}

/** Float keys whose doubles must come back bit for bit: a whole one past 2^53, a subnormal, 0.1. */
const FLOAT_KEYS = [1.5, -0.002, 2 ** 60, 5e-324, 0.1, -1e300, 0];

async function fillEveryType(client: SpacekvClient): Promise<void> {
  await client.addSpace('space typed key id attributes int i, float f, string s, bool b, bytes by, document d, timestamp ts, list(int) li, set(string) ss, map(string, int) m index i');
  await client.addSpace('space wide key int n attributes int v, set(int) vs');
  await client.addSpace('space sessions key id attributes string user ttl 3600');
  await client.addSpace('space points key float x attributes string name');
  await client.put('typed', 'extremes', {
    i: I64_MIN, f: -1.7976931348623157e308, s: 'naïve ☃ \u{1F600} "quoted"\n', b: true, by: 'AAECAwT/', d: { nested: [1, { deep: null }], big: I64_MAX },
    ts: '2024-02-29T23:59:59.999Z', li: [I64_MAX, 0, -1], ss: ['b', 'a', ''], m: { x: I64_MAX, y: I64_MIN },
  });
  await client.put('typed', 'small', { i: I64_MAX, f: 5e-324, s: '', b: false, by: '', d: [], ts: 0, li: [], ss: [], m: {} });
  await client.put('typed', 'float', { f: 0.1, i: 0 }, { expireIn: 2 * HOUR_S });
  await client.put('typed', 'sparse', {}); // every attribute at its default
  await client.put('wide', I64_MIN, { v: I64_MAX, vs: [I64_MIN, I64_MAX] });
  await client.put('wide', I64_MAX, { v: I64_MIN });
  await client.put('wide', 0, { v: 0 });
  for (const x of FLOAT_KEYS) await client.put('points', x, { name: String(x) });
  await client.put('sessions', 'with-ttl', { user: 'u1' }); // expires by the space's ttl
  await client.put('sessions', 'forever', { user: 'u2' }, { expireIn: null });
  await client.mutate('typed', 'sparse', [{ add: { i: 41 } }, { add: { i: 1 } }]);
}

test('every type goes SQLite -> PostgreSQL -> SQLite by export and import and comes back identical', async (t) => {
  const missing = await postgresMissing();
  if (missing) return t.skip(missing);
  const work = makeTempDir('export-roundtrip');
  const schema = uniqueSchema('export');
  const first = await startTestServer('export-first');
  const pg = await startServer({ ...DEFAULT_CONFIG, port: 0, store: storeUrl(schema), logLevel: 'silent' }, pino({ level: 'silent' }));
  const last = await startTestServer('export-last');
  try {
    const client = await connect(first.url);
    await fillEveryType(client);
    const sourceVersions = new Map<string, number>();
    for (const [space, keys] of [['typed', ['extremes', 'small', 'float', 'sparse']], ['wide', [I64_MIN, I64_MAX, 0]], ['sessions', ['with-ttl', 'forever']], ['points', FLOAT_KEYS]] as const) {
      for (const key of keys) sourceVersions.set(`${space}/${String(key)}`, (await client.get(space, key))?.version ?? -1);
    }
    await client.close();

    const started = Date.now();
    const fromSqlite = join(work, 'sqlite.ndjson');
    const fromPg = join(work, 'pg.ndjson');
    const back = join(work, 'back.ndjson');
    const steps: string[][] = [
      ['export', '--data', first.dataDir, '--to', fromSqlite, '--quiet'],
      ['--url', pg.url, 'import', '--from', fromSqlite],
      ['export', '--store', storeUrl(schema), '--to', fromPg],
      ['--url', last.url, 'import', '--from', fromPg, '--quiet'],
      ['export', '--data', last.dataDir, '--to', back],
    ];
    for (const args of steps) {
      const run = await runCli(args, childEnv(), 60_000);
      assert.equal(run.code, 0, `spacekv ${args.join(' ')}: ${run.stderr}`);
    }
    const elapsed = Date.now() - started;

    const [a, b, c] = [fromSqlite, fromPg, back].map(linesOf) as [Line[], Line[], Line[]];
    // Schemas (indexes and ttl included) are the same everywhere.
    const spaces = (lines: readonly Line[]) => lines.filter((l) => l.type === 'space').map((l) => l.schema);
    assert.deepEqual(spaces(b), spaces(a));
    assert.deepEqual(spaces(c), spaces(a));
    assert.deepEqual((spaces(a)[0] as { indexes?: string[] }).indexes, ['i']);
    const [objectsA, objectsB, objectsC] = [a, b, c].map(objectsOf) as [Map<string, Line>, Map<string, Line>, Map<string, Line>];
    assert.equal(objectsA.size, 9 + FLOAT_KEYS.length);
    assert.deepEqual([...objectsA.keys()].sort(), [...sourceVersions.keys()].sort());
    for (const [id, original] of objectsA) {
      assert.equal(original.version, sourceVersions.get(id), `${id}: the export carries the source version`);
      for (const [where, copy] of [['PostgreSQL', objectsB.get(id)], ['SQLite again', objectsC.get(id)]] as const) {
        assert.ok(copy, `${id} in ${where}`);
        assert.deepEqual(copy.key, original.key, `${id} key in ${where}`);
        assert.deepEqual(copy.attributes, original.attributes, `${id} attributes in ${where}`);
        if (original.expires_at === null) assert.equal(copy.expires_at, null, `${id} never expires in ${where}`);
        else {
          // Expiry goes over the wire as seconds from the import's commit: the same instant, give or take the run.
          const e = copy.expires_at as number;
          assert.ok(e >= (original.expires_at as number) - 1000 && e <= (original.expires_at as number) + elapsed, `${id} expiry in ${where}: ${e} vs ${original.expires_at}`);
        }
      }
    }
    assert.notEqual(objectsA.get('sessions/with-ttl')?.expires_at, null, 'the ttl space gave its object an expiry');
    assert.equal(objectsA.get('wide/-9223372036854775808')?.key, I64_MIN, 'an int64 key keeps every digit');
    for (const x of FLOAT_KEYS) assert.ok(Object.is(objectsC.get(`points/${x}`)?.key, x), `the float key ${x} comes back the same double`);
    // The index came across and answers.
    const reader = await connect(last.url);
    assert.deepEqual((await reader.explain('typed', { i: { gte: 0 } })).kind, 'index');
    assert.deepEqual((await reader.get('typed', 'extremes'))?.attributes, objectsA.get('typed/extremes')?.attributes);
    await reader.close();
  } finally {
    await Promise.all([first.stop(), pg.close(), last.stop()]);
    await dropSchema(schema);
    removeDir(work);
  }
});

/** The real store with each commit held back a little, so an import is still running when it is killed. */
function slowCommits(real: Store): Store {
  return new Proxy(real, {
    get(target, name) {
      if (name === 'commit') return async (batch: Parameters<Store['commit']>[0]) => {
        await sleep(20);
        return target.commit(batch);
      };
      const value = Reflect.get(target, name) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

test('an import killed with SIGKILL halfway and run again ends with exactly one copy of everything', async () => {
  const N = 3000;
  const BATCH = 25;
  const work = makeTempDir('import-killed');
  const source: TestServer = await startTestServer('import-source', { inMemory: true });
  const target: TestServer = await startTestServer('import-target', { inMemory: true, wrapStore: slowCommits });
  try {
    const client = await connect(source.url);
    await client.addSpace('space items key id attributes int n, string label');
    for (let from = 0; from < N; from += 500) {
      await client.tx({ ops: Array.from({ length: 500 }, (_, i) => ({ op: 'put', space: 'items', key: `k${String(from + i).padStart(5, '0')}`, attributes: { n: from + i, label: `item ${from + i}` } })) });
    }
    await client.close();
    const file = join(work, 'items.ndjson');
    assert.equal((await runCli(['export', '--data', source.dataDir, '--to', file, '--quiet'])).code, 0);

    const child = spawn(process.execPath, [MAIN_JS, '--url', target.url, 'import', '--from', file, '--batch-objects', String(BATCH)], { env: childEnv(), stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Kill it once it has committed a good part, and before it ends.
    await withTimeout((async () => {
      for (;;) {
        if (existsSync(progressFileOf(file)) && (JSON.parse(readFileSync(progressFileOf(file), 'utf8')) as { objects: number }).objects >= N / 3) return;
        await sleep(10);
      }
    })(), 60_000, 'the import to reach a third');
    child.kill('SIGKILL');
    await exited;
    const saved = JSON.parse(readFileSync(progressFileOf(file), 'utf8')) as { line: number; objects: number };
    assert.ok(saved.objects < N, `the import was cut before its end (at ${saved.objects} of ${N})`);

    const rerun = await runCli(['--url', target.url, 'import', '--from', file, '--batch-objects', String(BATCH)], childEnv(), 120_000);
    assert.equal(rerun.code, 0, rerun.stderr);
    const summary = JSON.parse(rerun.stdout) as { objects: number; imported: number; resumedAfterLine: number };
    assert.equal(summary.resumedAfterLine, saved.line, 'the second run picked up where the first saved its place');
    assert.equal(summary.imported, N - saved.objects, 'and wrote only what the first had not committed');
    assert.equal(existsSync(progressFileOf(file)), false, 'a finished import leaves no saved position');

    const reader = await connect(target.url);
    assert.equal(await reader.count('items'), N);
    const seen = new Set<string>();
    for await (const object of reader.search('items', {})) {
      const n = Number(String(object.key).slice(1));
      assert.deepEqual(object.attributes, { n, label: `item ${n}` }, String(object.key));
      seen.add(String(object.key));
    }
    assert.equal(seen.size, N);
    await reader.close();
  } finally {
    await Promise.all([source.stop(), target.stop()]);
    removeDir(work);
  }
});

test('a damaged line stops the import, naming it, with every earlier object imported; fixed, the import goes on', async () => {
  const work = makeTempDir('import-damaged');
  const source = await startTestServer('import-damaged-src', { inMemory: true });
  const target = await startTestServer('import-damaged-dst', { inMemory: true });
  try {
    const client = await connect(source.url);
    await client.addSpace('space notes key id attributes string text');
    for (let i = 0; i < 10; i++) await client.put('notes', `n${i}`, { text: `note ${i}` });
    await client.close();
    const file = join(work, 'notes.ndjson');
    assert.equal((await runCli(['export', '--data', source.dataDir, '--to', file, '--quiet'])).code, 0);
    const good = readFileSync(file, 'utf8').split('\n');
    const damaged = [...good];
    damaged[7] = (damaged[7] as string).slice(0, 20); // line 8 cut in the middle
    writeFileSync(file, damaged.join('\n'));
    const run = await runCli(['--url', target.url, 'import', '--from', file, '--batch-objects', '3']);
    assert.equal(run.code, 1, run.stderr);
    // Progress lines come first on stderr; the error is the last line.
    const { error } = JSON.parse(run.stderr.trim().split('\n').pop() as string) as { error: { code: string; message: string } };
    assert.equal(error.code, 'invalid_export');
    assert.match(error.message, /line 8/);
    const reader = await connect(target.url);
    assert.equal(await reader.count('notes'), 5, 'the objects on lines 3-7 were imported');
    writeFileSync(file, good.join('\n'));
    const resumed = await runCli(['--url', target.url, 'import', '--from', file]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((JSON.parse(resumed.stdout) as { imported: number }).imported, 5);
    assert.equal(await reader.count('notes'), 10);
    await reader.close();
  } finally {
    await Promise.all([source.stop(), target.stop()]);
    removeDir(work);
  }
});
