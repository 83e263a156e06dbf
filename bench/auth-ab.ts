/**
 * `node bench/dist/auth-ab.js [get|put] [rounds] [requests]`: the REST cost of auth measured the
 * plainest way, as a check on the http section's auth-on cells. Two servers of this build, auth off
 * and auth on (the section's own variant, so the same token and scope), each warmed by one whole
 * unmeasured run; then `rounds` rounds in which each serves `requests` requests over 64 keep-alive
 * connections, whole runs (no slices), in AB / BA order. Prints each run and the medians: throughput
 * and server CPU per request. Why it exists: on 2026-12-06 the http section's sliced pairs read auth
 * on at 0.889 (get) and 0.904 (put) with 1.19-1.23x the server CPU, while callgrind put auth's work at
 * 1-3 % of a request's instructions; this probe settles which.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoadResult, runLoad } from './lib/load.js';
import { SPACE, createSpace, preload, randomGets, randomPuts } from './lib/rest-fixtures.js';
import { median } from './lib/stats.js';
import { DEFAULT_SERVER, type ServerVariant, type VariantServer, parseVariants } from './lib/variants.js';

const KEYS = 10_000;
const CONNECTIONS = 64;

const [kindArg = 'get', roundsArg = '8', requestsArg = '30000'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const requests = Number(requestsArg);
if ((kindArg !== 'get' && kindArg !== 'put') || !Number.isSafeInteger(rounds) || rounds < 1 || !Number.isSafeInteger(requests) || requests < CONNECTIONS) {
  console.error('usage: node bench/dist/auth-ab.js [get|put] [rounds >= 1] [requests >= 64]');
  process.exit(2);
}

interface Side {
  readonly label: string;
  readonly running: VariantServer;
  readonly runs: LoadResult[];
}

async function side(variant: ServerVariant, dir: string): Promise<Side> {
  const running = await variant.start(join(dir, variant.id), {}, [SPACE]);
  await createSpace(running.server.url, running.token);
  await preload(running.server.url, KEYS, CONNECTIONS, running.token);
  return { label: variant.label, running, runs: [] };
}

function run(s: Side, count: number): Promise<LoadResult> {
  const { server, token } = s.running;
  return runLoad({
    url: server.url, connections: CONNECTIONS, length: { requests: count }, serverPid: server.pid,
    requestsFor: () => (kindArg === 'get' ? randomGets(KEYS, token) : randomPuts(KEYS, token)),
  });
}

const dir = mkdtempSync(join(tmpdir(), 'spacekv-auth-ab-'));
const [authOn] = parseVariants(['auth-on']);
const sides = [await side(DEFAULT_SERVER, dir), await side(authOn as ServerVariant, dir)];
try {
  for (const s of sides) await run(s, requests); // warm-up, unmeasured: a server's first run is its slowest
  for (let round = 0; round < rounds; round++) {
    for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
      const result = await run(s, requests);
      s.runs.push(result);
      console.log(`round ${round + 1}, REST ${kindArg}, ${s.label}: ${Math.round(result.requests / result.seconds)} req/s, server ${result.serverCpuUsPerRequest.toFixed(1)} µs per request, non-2xx ${result.non2xx}`);
    }
  }
  const [off, on] = sides.map((s) => ({
    rate: median(s.runs.map((r) => r.requests / r.seconds)),
    cpu: median(s.runs.map((r) => r.serverCpuUsPerRequest)),
  })) as [{ rate: number; cpu: number }, { rate: number; cpu: number }];
  console.log(`REST ${kindArg}, medians of ${rounds}: auth off ${off.rate.toFixed(0)} req/s at ${off.cpu.toFixed(1)} µs, auth on ${on.rate.toFixed(0)} req/s at ${on.cpu.toFixed(1)} µs; `
    + `auth on / off: throughput ${(on.rate / off.rate).toFixed(3)}, server CPU per request ${(on.cpu / off.cpu).toFixed(3)}`);
} finally {
  for (const s of sides) await s.running.server.stop();
  rmSync(dir, { recursive: true, force: true });
}
