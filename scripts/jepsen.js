#!/usr/bin/env node
// `npm run test:jepsen`: the long version of the reliability harness (packages/server/test/reliability):
// the targets (>= 1,000 checked histories, >= 50 kill -9 cycles, >= 100,000 fuzzed requests),
// then the counts the run reached. SPACEKV_SEED=<n> replays a run. Extra arguments narrow the files
// (e.g. `npm run test:jepsen -- fuzz`).
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = mkdtempSync(join(tmpdir(), 'spacekv-jepsen-'));
const figures = join(dir, 'figures.jsonl');
const filters = process.argv.slice(2).map((f) => `reliability/${f}`);
const started = Date.now();
const run = spawnSync(process.execPath, ['scripts/run-tests.js', ...(filters.length > 0 ? filters : ['reliability/'])], {
  stdio: 'inherit',
  env: { ...process.env, SPACEKV_JEPSEN: 'long', SPACEKV_FIGURES: figures },
});

const lines = existsSync(figures) ? readFileSync(figures, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
rmSync(dir, { recursive: true, force: true });
const sum = (field, pick = () => true) => lines.filter(pick).reduce((n, l) => n + (l[field] ?? 0), 0);
const fuzz = (l) => l.test.startsWith('fuzz');
const onPostgres = (l) => l.test.startsWith('pg');
const pgLines = lines.filter(onPostgres);
const pgSum = (field, pick = () => true) => pgLines.filter(pick).reduce((n, l) => n + (l[field] ?? 0), 0);
console.log('\nspacekv reliability, long run' + (run.status === 0 ? ' (all passed)' : ' (FAILED: see above)') + ` in ${((Date.now() - started) / 60000).toFixed(1)} min`);
for (const l of lines) console.log(`  ${JSON.stringify(l)}`);
console.log(`  histories checked under faults on SQLite: ${sum('histories', (l) => !onPostgres(l))} (register ${sum('histories', (l) => l.test === 'jepsen-register')}, ` +
  `list-append ${sum('histories', (l) => l.test === 'jepsen-list-append')}, bank ${sum('histories', (l) => l.test === 'jepsen-bank')}, set ${sum('histories', (l) => l.test === 'jepsen-set')})`);
console.log(`  negative-control histories: ${sum('controlHistories')}, caught ${sum('caught')} (on PostgreSQL: ${pgSum('controlHistories')}, caught ${pgSum('caught')})`);
console.log(`  faults on SQLite: ${sum('kills', (l) => !onPostgres(l))} kill -9 cycles, ${sum('pauses')} SIGSTOP/SIGCONT, ${sum('drops')} connection drops; acknowledged writes lost: ${sum('lost', (l) => !onPostgres(l))}`);
console.log(`  on PostgreSQL (two servers on a Patroni pair): ${pgSum('histories')} histories checked (register ${pgSum('register')}, ` +
  `list-append ${pgSum('listAppend')}, bank ${pgSum('bank')}, set ${pgSum('set')}, failover rounds ${pgSum('histories', (l) => l.test === 'pg-failover')}); ` +
  `${pgSum('failovers')} failovers, ${pgSum('kills')} kill -9 of a server, ${pgSum('storeDrops')} store connection cuts, ${pgSum('blackholes')} blackholes; ` +
  `acknowledged writes lost: ${pgSum('lost')}` + (pgLines.some((l) => l.test === 'pg-failover') ? `; kill of the primary to first write: median ${pgSum('killToWriteMedianMs', (l) => l.test === 'pg-failover')} ms, max ${pgSum('killToWriteMaxMs', (l) => l.test === 'pg-failover')} ms` : ''));
console.log(`  fuzzed requests: ${sum('requests', fuzz)} (REST ${sum('requests', (l) => l.test === 'fuzz-rest')}, raw HTTP ${sum('requests', (l) => l.test === 'fuzz-http-raw')}, WebSocket ${sum('requests', (l) => l.test === 'fuzz-ws')})` +
  (run.status === 0 ? ', 0 crashes' : ''));
process.exit(run.status ?? 1);
