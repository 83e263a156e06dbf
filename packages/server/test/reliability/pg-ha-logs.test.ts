// A Patroni cluster that does not become healthy fails its test with the tail of each node's log
// (helpers/pg-ha.ts). Patroni writes a status line every loop (every second here), so a slow
// bootstrap's tail was fifteen "bootstrap in progress" lines and nothing that says why; the tail
// now leaves those out and keeps initdb's, PostgreSQL's and Patroni's own lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastLines } from '../helpers/pg-ha.js';

const loop = (second: number): string[] => [
  `2026-12-05 22:56:${String(second).padStart(2, '0')},792 INFO: Lock owner: None; I am pg2`,
  `2026-12-05 22:56:${String(second).padStart(2, '0')},792 INFO: not healthy enough for leader race`,
  `2026-12-05 22:56:${String(second).padStart(2, '0')},842 INFO: bootstrap in progress`,
];

test('the tail of a slow bootstrap\'s Patroni log shows what it is doing, not its loop status lines', () => {
  const log = [
    '2026-12-05 22:56:34,791 INFO: trying to bootstrap a new cluster',
    ...loop(35),
    'running bootstrap script ... ok',
    'syncing data to disk ... ok',
    '2026-12-05 22:56:41.435 UTC [23729] LOG:  starting PostgreSQL 15.20',
    '2026-12-05 22:56:41.450 UTC [23729] FATAL:  could not create lock file "/tmp/x/.s.PGSQL.5432.lock": Permission denied',
    ...Array.from({ length: 40 }, (_, i) => loop(i + 42)).flat(),
    '2026-12-05 22:57:22,554 INFO: no action. I am (pg1), the leader with the lock',
    '2026-12-05 22:57:22,575 INFO: bootstrap from leader \'pg2\' in progress',
    '2026-12-05 22:57:22,740 INFO: waiting for leader to bootstrap',
  ].join('\n');
  const tail = lastLines(log, 15);
  assert.match(tail, /syncing data to disk/);
  assert.match(tail, /FATAL: {2}could not create lock file/);
  assert.match(tail, /trying to bootstrap a new cluster/);
  assert.doesNotMatch(tail, /in progress|Lock owner|leader race|no action|waiting for leader/);
});

test('a log tail keeps the last lines when there are more than asked for', () => {
  const log = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
  assert.equal(lastLines(log, 3), 'line 27\nline 28\nline 29');
});
