// Proves how a run picks its sections and sizes: the default set leaves out sections behind a flag
// (scaling) until their flag or --only names them, an unknown section or workload is refused with
// the valid names rather than silently running less, and explicit YCSB flags win over the presets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions, reportPathOf } from '../lib/options.js';
import { type Section, selectSections } from '../lib/section.js';

const section = (id: string, byDefault: boolean): Section => ({ id, title: id, byDefault, run: () => Promise.resolve() });
const REGISTRY = [section('http', true), section('ycsb', true), section('scaling', false), section('search', true)];
const ids = (sections: readonly Section[]): string[] => sections.map((s) => s.id);

test('the default run leaves out sections behind a flag; their flag or --only brings them in, in registry order', () => {
  assert.deepEqual(ids(selectSections(REGISTRY, undefined, new Set())), ['http', 'ycsb', 'search']);
  assert.deepEqual(ids(selectSections(REGISTRY, undefined, new Set(['scaling']))), ['http', 'ycsb', 'scaling', 'search']);
  assert.deepEqual(ids(selectSections(REGISTRY, new Set(['search', 'scaling']), new Set())), ['scaling', 'search']);
  const o = parseOptions(['--scaling'], {});
  assert.deepEqual(ids(selectSections(REGISTRY, o.only, o.enabled)), ['http', 'ycsb', 'scaling', 'search']);
});

test('an unknown section or workload is refused with the valid names', () => {
  assert.throws(() => selectSections(REGISTRY, new Set(['ycsb', 'nope']), new Set()), /no section 'nope'; sections: http, ycsb, scaling, search/);
  assert.throws(() => parseOptions(['--workloads', 'A,G'], {}), /--workloads takes YCSB workloads A-F, got 'G'/);
  assert.throws(() => parseOptions(['--records', '0'], {}), /--records takes a positive integer/);
});

test('YCSB flags win over the presets, tiny or not', () => {
  const tiny = parseOptions(['--tiny', '--records', '1000', '--workloads', 'c,a', '--in-flight', '8', '--peers', 'spacekv,redis', '--pg-url', 'postgres://x@h/db'], {});
  assert.equal(tiny.ycsb.records, 1000);
  assert.deepEqual(tiny.ycsb.workloads, ['C', 'A']);
  assert.deepEqual(tiny.ycsb.levels, [8]);
  assert.deepEqual([...(tiny.ycsb.peers ?? [])], ['spacekv', 'redis']);
  assert.equal(tiny.ycsb.postgresUrl, 'postgres://x@h/db');
  assert.equal(tiny.ycsb.operations, 200, 'the tiny preset keeps what no flag set');
  const full = parseOptions([], { SPACEKV_BENCH_PG_URL: 'postgres://env@h/db' });
  assert.equal(full.ycsb.records, 100_000);
  assert.deepEqual(full.ycsb.levels, [1, 64, 1024]);
  assert.equal(full.ycsb.postgresUrl, 'postgres://env@h/db');
});

test('--report auto names the report bench/results/<date>-<host>.md', () => {
  assert.match(reportPathOf('auto') ?? '', /\/bench\/results\/\d{4}-\d{2}-\d{2}-[\w.-]+\.md$/);
  assert.equal(reportPathOf('/tmp/x.md'), '/tmp/x.md');
  assert.equal(reportPathOf(undefined), undefined);
});
