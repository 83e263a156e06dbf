// Proves the atomic operations stay atomic when the parallel clients and the server are different
// processes (docs/architecture.md §7: concurrency over real processes and loopback): the scenarios of
// http/concurrency.test.ts (200 concurrent adds → 200; 50 racing create-if-absent → one 201 and
// 49 × 412 exists; 8 × 25 compare-and-swap increments → 200) against `spacekv serve`.
import { after, before, test } from 'node:test';
import http from 'node:http';
import { Scenarios } from '../helpers/concurrency-scenarios.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

const dataDir = makeTempDir('process-concurrency');
let server: ServerProcess;
let agent: http.Agent;
let scenarios: Scenarios;

before(async () => {
  server = await spawnServer(['--port', '0', '--data', dataDir, '--log-level', 'info']);
  agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  scenarios = new Scenarios(server.url, agent);
  await scenarios.createSpace();
});
after(async () => {
  agent.destroy();
  await killAllChildren();
  removeDir(dataDir);
});

test('200 concurrent PATCH add 1 on one counter end at exactly 200', () => scenarios.concurrentAdds());

test('50 concurrent put_if_not_exist on one key: exactly one 201, 49 × 412 exists', () => scenarios.concurrentCreates());

test('8 clients × 25 compare-and-swap increments (read ETag, PUT If-Match, retry on 412) lose none', async (t) => {
  t.diagnostic(`compare-and-swap conflicts retried: ${await scenarios.casIncrements()}`);
});
