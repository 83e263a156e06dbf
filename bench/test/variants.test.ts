// Proves the server variants of --variants (bench/lib/variants.ts) and their paired measurement
// (bench/lib/paired.ts): bounds-off switches off every bound of the limits module (so a new limit
// cannot be forgotten) with values the server accepts and starts with; the option names each
// variant or is refused with the valid ones; a pair alternates which side runs first, and a sliced
// round alternates its slices ABBA and joins each side's into the rate of all its work (step 6's and
// 10's operations, the HTTP steps' requests, a YCSB cell's); a slice is long enough; ratios are
// the median and range over rounds, oriented so that below 1 always means this build is slower.
// No timing is asserted: speed is measured by `npm run bench`, not here.
import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS, LIMIT_MS_MAX, makeLimits } from '@spacekv/core';
import { BOUNDS_AT_ISSUE_13, BOUNDS_OFF, NEW_BOUNDS, boundsOffArgs } from '../lib/bounds-off.js';
import { killAllChildren } from '../lib/child-server.js';
import { parseOptions } from '../lib/options.js';
import { joinMeasured } from '../lib/measured.js';
import { type LoadResult, joinLoads } from '../lib/load.js';
import { type Pair, type Sample, boundedSliceSizes, coupledRounds, couplesOf, describePairs, evenRounds, joinSlices, pairedRound, sliceSizes, slicedRound, summarize } from '../lib/paired.js';
import type { CellResult, Latency } from '../lib/ycsb/driver.js';
import { joinCells } from '../lib/ycsb/slices.js';
import { type ServerVariant, cliOfBuild, parseVariants } from '../lib/variants.js';

test('bounds-off names every limit of the limits module, and only those', () => {
  assert.deepEqual(Object.keys(BOUNDS_OFF).sort(), Object.keys(DEFAULT_LIMITS).sort());
});

test('bounds-off is off: every ceiling at or past its default, every floor at or below, timers within what Node takes, and makeLimits accepts it', () => {
  makeLimits(BOUNDS_OFF);
  for (const [name, value] of Object.entries(BOUNDS_OFF)) {
    const fallback = DEFAULT_LIMITS[name as keyof typeof DEFAULT_LIMITS];
    if (name.endsWith('Min')) assert.ok(value <= fallback, `${name}: ${value} is above its default ${fallback}: a floor is off at its lowest`);
    else assert.ok(value >= fallback, `${name}: ${value} is below its default ${fallback}: that is a tighter bound, not an off one`);
    if (/Ms(Max)?$/.test(name)) assert.ok(value <= LIMIT_MS_MAX, `${name}: ${value} ms is past the longest duration the server takes`);
  }
});

test('a bounds-off server starts with the whole list and serves a put and a get', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spacekv-bench-variants-'));
  t.after(() => {
    killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  });
  const [variant] = parseVariants(['bounds-off']);
  const { server, token } = await (variant as NonNullable<typeof variant>).start(join(dir, 'data'), {}, ['bench']);
  assert.equal(token, undefined);
  const call = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  assert.equal((await call('POST', '/v1/spaces', { schema: 'space bench key k attributes string v' })).status, 201);
  assert.ok([200, 201].includes((await call('PUT', '/v1/spaces/bench/objects/a', { v: 'x' })).status));
  assert.equal(((await (await call('GET', '/v1/spaces/bench/objects/a')).json()) as { attributes: { v: string } }).attributes.v, 'x');
  const exit = await server.stop();
  assert.equal(exit.code, 0, exit.stderrTail);
});

/** A directory that looks like a built checkout (its server CLI exists), removed after the test. */
function fakeCheckout(t: TestContext): string {
  const checkout = mkdtempSync(join(tmpdir(), 'spacekv-bench-build-'));
  t.after(() => rmSync(checkout, { recursive: true, force: true }));
  mkdirSync(join(cliOfBuild(checkout), '..'), { recursive: true });
  writeFileSync(cliOfBuild(checkout), '');
  return checkout;
}

test('--variants names bounds-off, auth-on and builds, each with its target; anything else is refused with the valid names', (t) => {
  const checkout = fakeCheckout(t);

  assert.deepEqual(parseOptions([], {}).variants, []);
  const o = parseOptions(['--variants', `bounds-off, auth-on,build=${checkout}:old-layout,build=${checkout}`], {});
  assert.deepEqual(o.variants.map((v) => [v.label, v.target?.min, v.baseline === true]), [
    ['bounds off', 0.95, true], ['auth on', 0.95, false], ['old-layout', 0.9, true], [checkout.split('/').pop(), 0.9, true],
  ]);
  assert.throws(() => parseOptions(['--variants', 'auth-off'], {}), /--variants takes bounds-off, bounds-off=<limit>\[\+<limit>...\], new-bounds-off, auth-on, build=<dir>\[:label\]; got 'auth-off'/);
  assert.throws(() => parseOptions(['--variants', `build=${join(checkout, 'nope')}:x`], {}), /no built server at .*nope\/packages\/server\/dist\/src\/cli\/main\.js/);
  assert.throws(() => parseOptions(['--variants', 'auth-on,auth-on'], {}), /names 'auth on' twice/);
});

test('bounds-off=<limit>+<limit> switches off only the named limits, as a reference like bounds-off; an unknown name is refused', () => {
  const [some] = parseOptions(['--variants', 'bounds-off=batchWritesMax+readCacheBytesMax'], {}).variants;
  assert.deepEqual([some?.id, some?.label, some?.target?.min, some?.baseline], ['bounds-off=batchWritesMax+readCacheBytesMax', 'off: batchWritesMax+readCacheBytesMax', 0.95, true]);
  assert.deepEqual(boundsOffArgs(['batchWritesMax', 'readCacheBytesMax']), ['--limit', `batchWritesMax=${BOUNDS_OFF.batchWritesMax}`, '--limit', `readCacheBytesMax=${BOUNDS_OFF.readCacheBytesMax}`]);
  const all = boundsOffArgs().filter((_, i) => i % 2 === 1).map((flag) => flag.split('=')[0]);
  assert.deepEqual(all.sort(), Object.keys(DEFAULT_LIMITS).filter((name) => !['batchWritesMax', 'readCacheBytesMax', 'pointReadBatchKeysMax'].includes(name)).sort(),
    'without names, every limit but the three that size a performance mechanism (a batch, a cache, a statement)');
  assert.throws(() => parseOptions(['--variants', 'bounds-off=batchWritesMax+nope'], {}), /'bounds-off=batchWritesMax\+nope' is not bounds-off=<limit>\[\+<limit>\.\.\.\]; unknown limit: 'nope'/);
  assert.throws(() => parseOptions(['--variants', 'bounds-off='], {}), /unknown limit: ''/);
});

test('new-bounds-off switches off the bounds added since issue 13 was filed, and leaves those its figures had (scan pages, index build slices) on', () => {
  const [newer] = parseOptions(['--variants', 'new-bounds-off'], {}).variants;
  assert.deepEqual([newer?.label, newer?.target?.min, newer?.baseline], ['new bounds off', 0.95, true]);
  for (const name of ['scanRowsMax', 'indexBuildBatchRowsMax', 'batchWritesMax', 'readCacheBytesMax']) assert.ok(!NEW_BOUNDS.includes(name as never), name);
  for (const name of ['replyBufferBytesMax', 'conditionStepsMax', 'searchStepsMax', 'connectionIdleMs', 'purgeBatchRowsMax', 'txReplyBytesMax']) assert.ok(NEW_BOUNDS.includes(name as never), name);
  assert.ok(BOUNDS_AT_ISSUE_13.every((name) => Object.hasOwn(DEFAULT_LIMITS, name)), 'every limit of that day is still a limit');
});

test('an explicit --rounds sets the HTTP steps\', step 6\'s and the variants\' rounds; without it each keeps its preset; --slices sets the slices of a paired round', () => {
  assert.equal(parseOptions([], {}).clientVsRedis.rounds, 3);
  assert.equal(parseOptions(['--tiny'], {}).clientVsRedis.rounds, 1);
  const o = parseOptions(['--tiny', '--rounds', '9'], {});
  assert.equal(o.rounds, 9);
  assert.equal(o.clientVsRedis.rounds, 9);
  assert.deepEqual([parseOptions([], {}).slices, parseOptions(['--slices', '8'], {}).slices], [4, 8]);
  assert.throws(() => parseOptions(['--slices', '0'], {}), /--slices takes a positive integer, got '0'/);
});

test('a pair runs the default first in odd rounds and the variant first in even ones', async () => {
  const order: string[] = [];
  const side = (name: string, opsPerSec: number) => async (): Promise<Sample> => {
    order.push(name);
    return { opsPerSec, serverCpuUsPerOp: 10 };
  };
  for (let round = 1; round <= 4; round++) {
    const pair = await pairedRound(round, side('default', 100), side('variant', 90));
    assert.deepEqual([pair.base.opsPerSec, pair.variant.opsPerSec], [100, 90], 'each result lands on its own side whatever the order');
  }
  assert.deepEqual(order, ['default', 'variant', 'variant', 'default', 'default', 'variant', 'variant', 'default']);
});

test('a sliced round runs its slices in ABBA order, the default first in odd rounds, and gives each side its slices in order', async () => {
  const order: string[] = [];
  const run = async (side: 'default' | 'variant', slice: number): Promise<string> => {
    order.push(`${side === 'default' ? 'A' : 'B'}${slice}`);
    return `${side}${slice}`;
  };
  const odd = await slicedRound(1, 4, run);
  assert.deepEqual(order.splice(0), ['A0', 'B0', 'B1', 'A1', 'A2', 'B2', 'B3', 'A3']);
  assert.deepEqual([odd.base, odd.variant], [['default0', 'default1', 'default2', 'default3'], ['variant0', 'variant1', 'variant2', 'variant3']]);
  await slicedRound(2, 3, run);
  assert.deepEqual(order, ['B0', 'A0', 'A1', 'B1', 'B2', 'A2']);
});

test('slices join into the rate of all their operations over all their time and the mean CPU per operation', () => {
  // Equal slices at 100 and 50 ops/s: 2 slices' operations in 1/100 + 1/50 of a slice's time each, 66.7 ops/s, not the mean 75.
  const joined = joinSlices([{ opsPerSec: 100, serverCpuUsPerOp: 10, storeCpuUsPerOp: 4 }, { opsPerSec: 50, serverCpuUsPerOp: 20, storeCpuUsPerOp: 6 }]);
  assert.deepEqual([joined.opsPerSec.toFixed(2), joined.serverCpuUsPerOp, joined.storeCpuUsPerOp], ['66.67', 15, 5]);
  assert.equal(joinSlices([{ opsPerSec: 100, serverCpuUsPerOp: 10 }]).storeCpuUsPerOp, undefined, 'no store figure where none was measured');
  const slice = (opsPerSec: number, p99Us: number) => ({
    inFlight: 64, total: 1000, opsPerSec, seconds: 1000 / opsPerSec, p50Us: p99Us / 10, p99Us, wrongResults: 1, clientCpuUs: 5, serverCpuUs: opsPerSec / 10, otherCpuPercent: 0,
  });
  const m = joinMeasured([slice(100, 300), slice(50, 900), slice(100, 500)]);
  assert.deepEqual([m.total, m.opsPerSec.toFixed(1), m.seconds, m.p99Us, m.p50Us, m.wrongResults, m.serverCpuUs.toFixed(2)],
    [3000, '75.0', 40, 500, 50, 3, '8.33'], 'a measurement joins the same way; its latencies are the median of the slices\'');
});

test('a slice keeps at least 100 operations and 4 per operation in flight; what cannot be cut stays one slice', () => {
  assert.deepEqual(sliceSizes(40_000, 64, 4), { slices: 4, opsEach: 10_000 });
  assert.deepEqual(sliceSizes(600, 1, 4), { slices: 4, opsEach: 150 });
  assert.deepEqual(sliceSizes(250, 1, 4), { slices: 2, opsEach: 125 });
  assert.deepEqual(sliceSizes(1_536, 1024, 4), { slices: 1, opsEach: 1_536 });
  assert.deepEqual(sliceSizes(50_000, 1024, 8), { slices: 8, opsEach: 6_250 });
  assert.deepEqual(sliceSizes(50_003, 1024, 1), { slices: 1, opsEach: 50_003 });
});

test('a cell bounded by time as well is cut by the operations it is expected to complete', () => {
  // 200,000 operations or 2 s at 1,024 in flight: at 10,000 ops/s it completes 20,000, 4 slices of 5,000, each past 4 x 1,024.
  assert.deepEqual(boundedSliceSizes(200_000, 2, 10_000, 1024, 4), { slices: 4, opsEach: 50_000, secondsEach: 0.5 });
  // At 5,000 ops/s only 10,000: 2 slices (sliceSizes on the operations alone would give 4 of 2,500, mostly ramp and drain).
  assert.deepEqual(boundedSliceSizes(200_000, 2, 5_000, 1024, 4), { slices: 2, opsEach: 100_000, secondsEach: 1 });
  // Bound by operations first: the rate does not matter.
  assert.deepEqual(boundedSliceSizes(400, 2, 1e6, 1, 4), { slices: 4, opsEach: 100, secondsEach: 0.5 });
  // No rate (a first run with no figures): the operations alone decide.
  assert.deepEqual(boundedSliceSizes(400, 2, Number.NaN, 1, 4), { slices: 4, opsEach: 100, secondsEach: 0.5 });
});

test('HTTP slices and YCSB slices join into all their requests (operations) over all their time, the mean CPU per request, and the median of their percentiles', () => {
  const load = (requests: number, seconds: number, cpuUs: number, p99Ms: number): LoadResult => ({
    reqPerSec: 1, meanReqPerSec: 1, requests, seconds, p50Ms: 1, p99Ms, responses2xx: requests, non2xx: 1, errors: 0,
    serverCpuPercent: 50, serverCpuUsPerRequest: cpuUs, loaderCpuPercent: 40, otherCpuPercent: 10,
  });
  // 3,000 requests in 0.5 s and 1,000 in 0.5 s: 4,000 per second (the mean of the per-second rates of equal times), not their median.
  const joined = joinLoads([load(3_000, 0.5, 20, 5), load(1_000, 0.5, 30, 9), load(2_000, 0.5, 40, 7)]);
  assert.deepEqual([joined.reqPerSec, joined.requests, joined.seconds, joined.serverCpuUsPerRequest, joined.p99Ms, joined.non2xx, joined.slices],
    [4_000, 6_000, 1.5, 30, 7, 3, 3]);
  const latency = (p99Us: number): Latency => ({ count: 100, p50Us: p99Us / 10, p95Us: p99Us / 2, p99Us, maxUs: p99Us * 2 });
  const cell = (ops: number, seconds: number, cpuUs: number, p99Us: number, misses: number): CellResult => ({
    ops, seconds, opsPerSec: ops / seconds, latency: latency(p99Us), byKind: { read: latency(p99Us) }, errors: misses, firstError: misses > 0 ? `failed ${p99Us}` : undefined,
    misses, malformed: 0, serverCpuPercent: 50, serverCpuUsPerOp: cpuUs, serverRssMb: p99Us, benchCpuPercent: 30, otherCpuPercent: 5,
  });
  // A time-bound cell's slices differ in operations: 1,000 in 0.5 s and 250 in 0.5 s make 1,250 per second.
  const c = joinCells([cell(1_000, 0.5, 60, 900, 0), cell(250, 0.5, 80, 300, 2), cell(500, 0.5, 100, 500, 1)]);
  assert.deepEqual([c.ops, c.seconds, c.opsPerSec, c.serverCpuUsPerOp, c.latency.p99Us, c.latency.maxUs, c.byKind.read?.p99Us, c.misses, c.firstError, c.serverRssMb],
    [1_750, 1.5, 1_750 / 1.5, 80, 500, 1_800, 500, 3, 'failed 300', 500]);
});

test('the summary is the median and range of the per-round ratios, inverted for a baseline build, and judged as printed', (t) => {
  const pair = (base: number, variant: number, baseCpu = 10, variantCpu = 10): Pair =>
    ({ base: { opsPerSec: base, serverCpuUsPerOp: baseCpu }, variant: { opsPerSec: variant, serverCpuUsPerOp: variantCpu } });
  const pairs = [pair(100, 96, 10, 11), pair(100, 80, 10, 12), pair(100, 120, 10, Number.NaN)];
  const [authOn, old] = parseVariants(['auth-on', `build=${fakeCheckout(t)}:old-layout`]) as [ServerVariant, ServerVariant];
  const s = summarize(authOn, pairs);
  assert.deepEqual([s.throughput.median, s.throughput.min, s.throughput.max], [0.96, 0.8, 1.2]);
  assert.deepEqual([s.cpu.median, s.cpu.min, s.cpu.max].map((x) => Number(x.toFixed(3))), [1.1, 1.1, 1.2], 'a round without CPU figures is left out of the CPU ratio');
  assert.equal(s.pass, true);
  assert.match(describePairs('    REST get', authOn, pairs),
    /^    REST get, auth on \/ this build: throughput 0\.960 \(0\.800-1\.200\), server CPU µs\/op 1\.100 \(1\.100-1\.200\), median of 3 paired rounds \(throughput per round: 0\.960 0\.800 1\.200\); issue 15 target: throughput >= 0\.95: PASS$/);
  assert.equal(summarize(authOn, [pair(10_000, 9_496)]).pass, true, '0.9496 prints as 0.950, which meets >= 0.95');
  assert.equal(summarize(authOn, [pair(10_000, 9_494)]).pass, false, '0.9494 prints as 0.949');
  // The baseline is the older build: the ratio is this build (the default side) over it.
  const b = summarize(old, [pair(80, 100, 12, 10)]);
  assert.deepEqual([b.throughput.median, b.cpu.median, b.pass], [0.8, 1.2, false]);
  assert.match(describePairs('    put', old, [pair(80, 100)]), /^    put, this build \/ old-layout: throughput 0\.800 .*issue 21 target: throughput >= 0\.90: MISS$/);
});

test('a step measured once per round is judged on couples of rounds, so what going first costs cancels', (t) => {
  const pair = (base: number, variant: number, baseCpu = 10, variantCpu = 10): Pair =>
    ({ base: { opsPerSec: base, serverCpuUsPerOp: baseCpu }, variant: { opsPerSec: variant, serverCpuUsPerOp: variantCpu } });
  // The same servers, but whichever goes first runs 20 % slower: the default first in odd rounds.
  const rounds = [pair(80, 100), pair(100, 80), pair(80, 100), pair(100, 80), pair(80, 100)];
  const [old] = parseVariants([`build=${fakeCheckout(t)}:old-layout`]) as [ServerVariant];
  assert.equal(summarize(old, rounds).throughput.median, 0.8, 'the median of 5 rounds takes the order 3 of them had');
  const couples = couplesOf(rounds);
  assert.equal(couples.length, 2, 'the fifth round has no partner and is dropped');
  const s = summarize(old, couples);
  assert.deepEqual([s.throughput.median, s.throughput.min, s.throughput.max, s.cpu.median, s.rounds], [1, 1, 1, 1, 2]);
  assert.match(describePairs('    load', old, couples),
    /^    load, this build \/ old-layout: throughput 1\.000 \(1\.000-1\.000\), server CPU µs\/op 1\.000 \(1\.000-1\.000\), median of 2 couples of paired rounds, each side first once in a couple \(throughput per round: 0\.800\/1\.250 0\.800\/1\.250\); issue 21 target: throughput >= 0\.90: PASS$/);
  assert.deepEqual([evenRounds(1), evenRounds(4), evenRounds(5)], [2, 4, 6]);
});

test('coupledRounds runs an even number of rounds, alternating which side goes first, and returns their couples', async () => {
  const order: string[] = [];
  const couples = await coupledRounds(3, async (side, round) => {
    order.push(`${round}${side[0]}`);
    return { opsPerSec: side === 'default' ? 100 : 81 * round, serverCpuUsPerOp: 1 };
  });
  assert.deepEqual(order, ['1d', '1v', '2v', '2d', '3d', '3v', '4v', '4d']);
  assert.deepEqual(couples.map((c) => Number(c.variant.opsPerSec.toFixed(6))), [Number(Math.sqrt(81 * 162).toFixed(6)), Number(Math.sqrt(243 * 324).toFixed(6))]);
});
