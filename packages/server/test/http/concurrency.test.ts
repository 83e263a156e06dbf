// Proves the atomic operations stay atomic under parallel clients over loopback (docs/architecture.md §4.1,
// §4.4), against an in-process server: 200 concurrent PATCH add-1 on one counter, over a pool of 64
// keep-alive sockets, end at exactly 200 and answer 200 distinct versions; 50 concurrent
// create-if-absent PUTs on one key give exactly one 201 and 49 × 412 `exists`, and the winner's value
// is the one stored; 8 clients each doing 25 read-ETag-then-PUT-If-Match increments, retrying on 412
// cmp_fail, lose no increment. process/concurrency.test.ts runs the same against a server process.
import { after, before, test } from 'node:test';
import http from 'node:http';
import { Scenarios } from '../helpers/concurrency-scenarios.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

let srv: TestServer;
let agent: http.Agent;
let scenarios: Scenarios;

before(async () => {
  srv = await startTestServer('concurrency');
  agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  scenarios = new Scenarios(srv.url, agent);
  await scenarios.createSpace();
});
after(async () => {
  agent.destroy();
  await srv.stop();
});

test('200 concurrent PATCH add 1 on one counter end at exactly 200', () => scenarios.concurrentAdds());

test('50 concurrent put_if_not_exist on one key: exactly one 201, 49 × 412 exists', () => scenarios.concurrentCreates());

test('8 clients × 25 compare-and-swap increments (read ETag, PUT If-Match, retry on 412) lose none', async (t) => {
  t.diagnostic(`compare-and-swap conflicts retried: ${await scenarios.casIncrements()}`);
});
