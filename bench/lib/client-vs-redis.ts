/**
 * Step 6: @spacekv/client over WebSocket against a spacekv server child, beside Redis driven by
 * ioredis, from one process with 1, 64 and 1024 operations in flight (inflight.ts drives both).
 *
 *  - point `get` of random keys among pre-loaded ones, vs Redis GET on the fast peer;
 *  - durable `put` of fresh keys, vs Redis SET on the fast peer (no persistence) and on the durable
 *    peer (appendfsync always: each write fsynced before its reply, as spacekv's put).
 *
 * ioredis runs in both of its modes at 64 and 1024 in flight: plain (one socket write per command)
 * and auto-pipelined (commands of one tick leave in one write, as the spacekv client batches its
 * frames); the peer's figure is the faster of the two, so spacekv is compared with the best Redis
 * this client library gives. At 1 in flight there is nothing to pipeline and only plain runs.
 * Rounds are interleaved (every peer at every level, then again), so drift in what else the machine
 * runs hits every figure alike; each figure is the median over rounds.
 *
 * Each server variant of --variants (variants.ts) runs beside the default server, its own client
 * connected to it (with a token where it requires one); in every round each of its measurements is
 * paired with one of the default server's, the operations of each side cut into slices run
 * alternately in ABBA order (paired.ts's slicedRound, --slices).
 */
import { join } from 'node:path';
import { type SpacekvClient, connect } from '@spacekv/client';
import type { Redis } from 'ioredis';
import type { ChildServer } from './child-server.js';
import { runInFlight } from './inflight.js';
import { type Measured, joinMeasured, measure, medianMeasured, sampleOf } from './measured.js';
import type { ClientVsRedisSizes, InFlightLevel } from './options.js';
import { type Pair, describePairs, sliceSizes, slicedRound } from './paired.js';
import { type PeerOutcome, type RedisPeer, deleteKeys, durablePeer, fastPeer, redisClient } from './redis-peer.js';
import { int, out, printColumns } from './report.js';
import { SCHEMA_DSL, SPACE, VALUE_JSON, commitCounters, keyName } from './rest-fixtures.js';
import { type Section, runsPerRound } from './section.js';
import type { Verdict } from './targets.js';
import { DEFAULT_SERVER, type ServerVariant } from './variants.js';

export const CLIENT_VS_REDIS_TARGETS = {
  /** spacekv get throughput over Redis GET's, at 1024 in flight. */
  getVsRedisAt1024Min: 1.0,
  /** spacekv durable put throughput over Redis SET's with appendfsync always, at 1024 in flight. */
  durablePutVsRedisAt1024Min: 1.0,
  /** spacekv get p50 latency at 1 in flight, µs. */
  getP50UsAt1Max: 150,
} as const;

type Mode = 'plain' | 'auto';
type PeerName = 'fast' | 'durable';

export interface Row {
  readonly op: 'get' | 'put';
  readonly peer: PeerName;
  readonly inFlight: number;
  readonly ops: number;
  readonly spacekv: Measured;
  /** The same operations on each server variant, each round's paired with a run on the default server. */
  readonly variants: readonly VariantPairs[];
  /** ioredis modes measured, by mode; empty when the peer was skipped. */
  readonly redis: Partial<Record<Mode, Measured>>;
}

export interface VariantPairs {
  readonly variant: ServerVariant;
  readonly pairs: readonly Pair[];
}

export interface ClientVsRedisFigures {
  readonly rows: readonly Row[];
  readonly fast: PeerOutcome;
  readonly durable: PeerOutcome;
}

/** ioredis's value for the same 100 bytes spacekv stores as attributes JSON. */
const ATTRIBUTES = JSON.parse(VALUE_JSON) as Record<string, unknown>;
const CONTENDED_PERCENT = 25;

/** A server and the client connected to it. */
interface Connected {
  readonly server: ChildServer;
  readonly client: SpacekvClient;
}

interface Clients {
  readonly spacekv: SpacekvClient;
  readonly server: ChildServer;
  readonly variants: readonly (Connected & { readonly variant: ServerVariant })[];
  readonly fast?: Record<Mode, Redis>;
  readonly durable?: Record<Mode, Redis>;
  readonly fastPid: number | undefined;
  readonly durablePid: number | undefined;
}

/** Keys are spread over the pre-loaded ones by a fixed pseudo-random walk, precomputed so picking one costs nothing. */
function keyWalk(keys: number, length: number): Uint32Array {
  const walk = new Uint32Array(length);
  let x = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    walk[i] = (x >>> 0) % keys;
  }
  return walk;
}

export async function clientVsRedis(
  root: string, sizes: ClientVsRedisSizes, variants: readonly ServerVariant[], slices: number, problems: string[],
): Promise<ClientVsRedisFigures> {
  const levels = sizes.levels.map((l) => l.inFlight).join(', ');
  out(`[6] @spacekv/client over WebSocket vs Redis via ioredis, ${levels} operations in flight from one process, ${VALUE_JSON.length}-byte values, `
    + `${sizes.rounds} interleaved round${sizes.rounds === 1 ? '' : 's'} (figures are medians)`);
  const fast = await fastPeer(join(root, 'redis-fast'));
  const durable = await durablePeer(join(root, 'redis-durable'));
  out(`    fast peer (GET, SET): ${'peer' in fast ? fast.peer.label : `SKIPPED: ${fast.skipped}`}`);
  out(`    durable peer (SET):   ${'peer' in durable ? durable.peer.label : `SKIPPED: ${durable.skipped}`}`);
  const prefix = `spacekv-bench:${process.pid}:`;
  const servers: ChildServer[] = [];
  const connected: Connected[] = [];
  const start = async (variant: ServerVariant, dir: string): Promise<Connected> => {
    const { server, token } = await variant.start(join(root, dir), {}, [SPACE]);
    servers.push(server);
    const client = await connect(server.url, { reconnect: false, ...(token === undefined ? {} : { token }) });
    connected.push({ server, client });
    return { server, client };
  };
  let clients: Clients | undefined;
  try {
    const { server, client: spacekv } = await start(DEFAULT_SERVER, 'ws');
    const variantClients = [];
    for (const [i, variant] of variants.entries()) variantClients.push({ variant, ...await start(variant, `ws-variant-${i}`) });
    const open = async (peer: RedisPeer): Promise<Record<Mode, Redis>> => {
      const plain = redisClient(peer.host, peer.port);
      const auto = redisClient(peer.host, peer.port, { enableAutoPipelining: true });
      await Promise.all([plain.connect(), auto.connect()]);
      return { plain, auto };
    };
    clients = {
      spacekv, server, variants: variantClients,
      ...('peer' in fast ? { fast: await open(fast.peer) } : {}),
      ...('peer' in durable ? { durable: await open(durable.peer) } : {}),
      fastPid: 'peer' in fast ? fast.peer.pid : undefined,
      durablePid: 'peer' in durable ? durable.peer.pid : undefined,
    };
    return { rows: await measureAll(clients, sizes, slices, prefix, problems), fast, durable };
  } finally {
    await tearDown(clients, connected, servers, fast, durable, prefix, problems);
  }
}

async function measureAll(c: Clients, sizes: ClientVsRedisSizes, slices: number, prefix: string, problems: string[]): Promise<Row[]> {
  const getKeys = Array.from({ length: sizes.keys }, (_, i) => keyName(i));
  const redisGetKeys = getKeys.map((k) => prefix + k);
  const longest = Math.max(...sizes.levels.map((l) => l.getOps));
  const walk = keyWalk(sizes.keys, longest);
  let fresh = 0;
  const freshKey = (): string => `p${String(fresh++).padStart(7, '0')}`;

  // Pre-load: spacekv through the client, the fast Redis by pipelines (with an expiry, so the
  // keys leave the machine's Redis even if this run dies before it cleans up).
  const preloadStarted = performance.now();
  for (const db of [c.spacekv, ...c.variants.map((v) => v.client)]) {
    await db.addSpace(SCHEMA_DSL);
    await runInFlight(Math.min(256, sizes.keys - 1), sizes.keys, (i) => db.put(SPACE, getKeys[i] as string, ATTRIBUTES));
  }
  if (c.fast) {
    for (let i = 0; i < sizes.keys; i += 1000) {
      const pipeline = c.fast.plain.pipeline();
      for (let k = i; k < Math.min(sizes.keys, i + 1000); k++) pipeline.set(redisGetKeys[k] as string, VALUE_JSON, 'EX', 3600);
      await pipeline.exec();
    }
  }
  out(`    ${int(sizes.keys)} keys pre-loaded for gets in ${((performance.now() - preloadStarted) / 1000).toFixed(1)} s; puts write fresh keys`);

  const getIssue = {
    spacekv: (db: SpacekvClient) => (i: number) => db.get(SPACE, getKeys[walk[i] as number] as string),
    redis: (r: Redis) => (i: number) => r.get(redisGetKeys[walk[i] as number] as string),
  };
  const putIssue = {
    spacekv: (db: SpacekvClient) => () => db.put(SPACE, freshKey(), ATTRIBUTES),
    redis: (r: Redis) => () => r.set(prefix + freshKey(), VALUE_JSON),
  };
  const found = (v: unknown): boolean => v !== null;
  const okReply = (v: unknown): boolean => v === 'OK';

  // Warm-up, unmeasured: every client path JIT-compiled, connections and server caches warm.
  const warm = Math.max(sizes.warmupOps, 65);
  for (const db of [c.spacekv, ...c.variants.map((v) => v.client)]) {
    await runInFlight(64, warm, getIssue.spacekv(db));
    await runInFlight(64, warm, putIssue.spacekv(db));
  }
  for (const peer of [c.fast, c.durable]) {
    for (const r of peer ? [peer.plain, peer.auto] : []) {
      if (peer === c.fast) await runInFlight(64, warm, getIssue.redis(r));
      await runInFlight(64, warm, putIssue.redis(r));
    }
  }

  interface Plan {
    readonly op: 'get' | 'put';
    readonly peer: PeerName;
    readonly level: InFlightLevel;
    readonly spacekv: Measured[];
    /** Per variant (in c.variants' order), its pairs. */
    readonly variants: Pair[][];
    readonly redis: Partial<Record<Mode, Measured[]>>;
  }
  const plans: Plan[] = [];
  for (const level of sizes.levels) {
    plans.push({ op: 'get', peer: 'fast', level, spacekv: [], variants: c.variants.map(() => []), redis: {} });
    // One spacekv put measurement serves both put rows (the same work, compared with two peers).
    plans.push({ op: 'put', peer: 'fast', level, spacekv: [], variants: c.variants.map(() => []), redis: {} });
    plans.push({ op: 'put', peer: 'durable', level, spacekv: [], variants: c.variants.map(() => []), redis: {} });
  }

  const spacekvPut = async (inFlight: number, ops: number, on: Connected): Promise<Measured> => {
    const before = await commitCounters(on.server.url);
    const m = await measure(on.server.pid, () => runInFlight(inFlight, ops, putIssue.spacekv(on.client), (w) => w.created));
    const after = await commitCounters(on.server.url);
    return { ...m, writesPerCommit: (after.writes - before.writes) / (after.batches - before.batches) };
  };
  /** `first`: where the run starts in the key walk, so the slices of a round read different keys. */
  const spacekvGet = (inFlight: number, ops: number, on: Connected, first = 0): Promise<Measured> => {
    const issue = getIssue.spacekv(on.client);
    return measure(on.server.pid, () => runInFlight(inFlight, ops, (i) => issue(first + i), found));
  };
  const defaultSide: Connected = { server: c.server, client: c.spacekv };

  for (let round = 1; round <= sizes.rounds; round++) {
    const ordered = round % 2 === 1 ? plans : [...plans].reverse();
    for (const plan of ordered) {
      const { inFlight } = plan.level;
      const modes: Mode[] = inFlight === 1 ? ['plain'] : ['plain', 'auto'];
      const peer = plan.peer === 'fast' ? c.fast : c.durable;
      const peerPid = plan.peer === 'fast' ? c.fastPid : c.durablePid;
      const runRedis = async (): Promise<void> => {
        if (!peer) return;
        for (const mode of modes) {
          const r = peer[mode];
          const m = plan.op === 'get'
            ? await measure(peerPid, () => runInFlight(inFlight, plan.level.getOps, getIssue.redis(r), found))
            : await measure(peerPid, () => runInFlight(inFlight, plan.level.putOps, putIssue.redis(r), okReply));
          (plan.redis[mode] ??= []).push(m);
        }
      };
      const runSpacekv = async (): Promise<void> => {
        // One spacekv put measurement serves both put rows: the durable row measures none.
        if (plan.op === 'put' && plan.peer === 'durable') return;
        const run = (ops: number, on: Connected, first = 0): Promise<Measured> => (plan.op === 'get' ? spacekvGet(inFlight, ops, on, first) : spacekvPut(inFlight, ops, on));
        const ops = plan.op === 'get' ? plan.level.getOps : plan.level.putOps;
        if (c.variants.length === 0) plan.spacekv.push(await run(ops, defaultSide));
        // Beside a variant, each side's operations in slices run alternately (ABBA); the default's
        // joined slices are also its figure of the round.
        const sliced = sliceSizes(ops, inFlight, slices);
        for (const [i, v] of c.variants.entries()) {
          const { base, variant } = await slicedRound(round, sliced.slices, (side, slice) =>
            run(sliced.opsEach, side === 'default' ? defaultSide : v, slice * sliced.opsEach));
          const [onDefault, onVariant] = [joinMeasured(base), joinMeasured(variant)];
          plan.spacekv.push(onDefault);
          if (onVariant.wrongResults > 0) problems.push(`step 6, ${plan.op} at ${inFlight} in flight, spacekv ${v.variant.label}: ${onVariant.wrongResults} wrong results`);
          plan.variants[i]?.push({ base: sampleOf(onDefault), variant: sampleOf(onVariant) });
        }
      };
      // Alternate who goes first, so neither always runs right after the other's burst.
      if (round % 2 === 1) {
        await runSpacekv();
        await runRedis();
      } else {
        await runRedis();
        await runSpacekv();
      }
    }
    out(`    round ${round} of ${sizes.rounds} done`);
  }

  const rows: Row[] = [];
  const fastPut = new Map(plans.filter((p) => p.op === 'put' && p.peer === 'fast').map((p) => [p.level.inFlight, p]));
  for (const plan of plans) {
    const measured = plan.op === 'put' ? (fastPut.get(plan.level.inFlight) ?? plan) : plan;
    const redis: Partial<Record<Mode, Measured>> = {};
    for (const mode of ['plain', 'auto'] as const) {
      const rounds = plan.redis[mode];
      if (rounds && rounds.length > 0) redis[mode] = medianMeasured(rounds);
    }
    const row: Row = {
      op: plan.op, peer: plan.peer, inFlight: plan.level.inFlight, ops: plan.op === 'get' ? plan.level.getOps : plan.level.putOps,
      spacekv: medianMeasured(measured.spacekv), redis,
      variants: c.variants.map((v, i) => ({ variant: v.variant, pairs: measured.variants[i] ?? [] })),
    };
    rows.push(row);
    for (const [who, m] of [['spacekv', row.spacekv], ...Object.entries(row.redis).map(([mode, r]) => [`Redis ${mode}`, r])] as [string, Measured][]) {
      if (m.wrongResults > 0) problems.push(`step 6, ${row.op} at ${row.inFlight} in flight, ${who}: ${m.wrongResults} wrong results (a get found nothing, a put of a fresh key did not create it, or a SET was not answered OK)`);
    }
  }
  return rows;
}

async function tearDown(
  c: Clients | undefined, connected: readonly Connected[], servers: readonly ChildServer[], fast: PeerOutcome, durable: PeerOutcome, prefix: string, problems: string[],
): Promise<void> {
  if (c?.durable) {
    // Proof the durable peer really wrote its AOF, fsync always, without error.
    const info = await c.durable.plain.info('persistence');
    if (!/^aof_enabled:1$/m.test(info) || !/^aof_last_write_status:ok$/m.test(info)) {
      problems.push(`step 6: the durable Redis peer did not keep a healthy AOF:\n${info}`);
    }
  }
  if (c?.fast) await deleteKeys(c.fast.plain, `${prefix}*`);
  for (const peer of [c?.fast, c?.durable]) {
    if (!peer) continue;
    peer.plain.disconnect();
    peer.auto.disconnect();
  }
  for (const { client } of connected) client.close();
  for (const server of servers) {
    const exit = await server.stop();
    if (exit.code !== 0) problems.push(`step 6: ${server.name} did not shut down cleanly (code ${exit.code}, signal ${exit.signal})\n${exit.stderrTail}`);
  }
  for (const outcome of [fast, durable]) {
    if (!('peer' in outcome)) continue;
    const stopped = await outcome.peer.stop();
    if (!stopped.clean) problems.push(`step 6: ${outcome.peer.label} did not shut down cleanly: ${stopped.detail}`);
  }
}

/** Which ioredis mode gave the peer its figure: the faster. */
function best(row: Row): { mode: Mode; m: Measured } | undefined {
  const { plain, auto } = row.redis;
  if (plain && auto) return auto.opsPerSec > plain.opsPerSec ? { mode: 'auto', m: auto } : { mode: 'plain', m: plain };
  if (plain) return { mode: 'plain', m: plain };
  if (auto) return { mode: 'auto', m: auto };
  return undefined;
}

function us(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

function cpu(n: number): string {
  return Number.isFinite(n) ? n.toFixed(1) : '-';
}

function peerName(row: Row): string {
  return row.op === 'get' ? 'Redis GET' : row.peer === 'fast' ? 'Redis SET (no persistence)' : 'Redis SET (appendfsync always)';
}

function describeMeasured(m: Measured): string {
  const contended = m.otherCpuPercent >= CONTENDED_PERCENT ? ' [other work took CPU meanwhile]' : '';
  return `${int(m.opsPerSec)} ops/s, p50 ${us(m.p50Us)} µs, p99 ${us(m.p99Us)} µs, CPU µs/op client ${cpu(m.clientCpuUs)} server ${cpu(m.serverCpuUs)}, `
    + `rest of machine ${m.otherCpuPercent.toFixed(0)}%${contended}`;
}

export function printClientVsRedis(f: ClientVsRedisFigures): Verdict[] {
  const skipped = (peer: PeerName): string | undefined => {
    const outcome = peer === 'fast' ? f.fast : f.durable;
    return 'skipped' in outcome ? outcome.skipped : undefined;
  };
  for (const row of f.rows) {
    if (row.op === 'put' && row.peer === 'durable') continue; // the same spacekv figure as the fast row
    const perCommit = row.spacekv.writesPerCommit === undefined ? '' : `, ${row.spacekv.writesPerCommit.toFixed(1)} writes per durable commit`;
    out(`    ${row.op}, ${row.inFlight} in flight (${int(row.ops)} ops per round): spacekv ${describeMeasured(row.spacekv)}${perCommit}`);
    for (const v of row.variants) out(describePairs(`    ${row.op}, ${row.inFlight} in flight`, v.variant, v.pairs));
  }
  for (const row of f.rows) {
    const reason = skipped(row.peer);
    if (reason !== undefined) {
      out(`    ${peerName(row)}, ${row.inFlight} in flight: SKIPPED (${reason})`);
      continue;
    }
    for (const [mode, m] of Object.entries(row.redis) as [Mode, Measured][]) {
      out(`    ${peerName(row)}, ${row.inFlight} in flight, ioredis ${mode === 'auto' ? 'auto-pipelined' : 'plain'}: ${describeMeasured(m)}`);
    }
  }

  const header = ['op vs peer', 'in flight', 'spacekv ops/s', 'peer ops/s', 'ratio', 'spacekv p50 µs', 'spacekv p99 µs', 'peer p50 µs', 'peer p99 µs', 'ioredis'];
  const lines: string[][] = [header];
  for (const row of f.rows) {
    const label = `${row.op} vs ${peerName(row)}`;
    const b = best(row);
    const s = row.spacekv;
    if (!b) {
      lines.push([label, String(row.inFlight), int(s.opsPerSec), 'skipped', '-', us(s.p50Us), us(s.p99Us), '-', '-', '-']);
      continue;
    }
    lines.push([label, String(row.inFlight), int(s.opsPerSec), int(b.m.opsPerSec), `${(s.opsPerSec / b.m.opsPerSec).toFixed(2)}x`,
      us(s.p50Us), us(s.p99Us), us(b.m.p50Us), us(b.m.p99Us), b.mode === 'auto' ? 'auto-pipelined' : 'plain']);
  }
  out();
  printColumns(lines);
  out('    (ratio = spacekv ops/s over the peer\'s; the peer\'s figure is the faster ioredis mode; ops/s is the steady state with exactly N in flight)');

  const verdicts = clientVsRedisVerdicts(f.rows, skipped);
  out();
  printColumns([['target', 'measured', 'target', 'verdict'], ...verdicts.map((v) => [v.name, v.measured, v.target, v.verdictText])]);
  return verdicts;
}

interface Verdict6 extends Verdict {
  readonly verdictText: string;
}

function clientVsRedisVerdicts(rows: readonly Row[], skipped: (peer: PeerName) => string | undefined): Verdict6[] {
  const T = CLIENT_VS_REDIS_TARGETS;
  const top = Math.max(...rows.map((r) => r.inFlight));
  const bottom = Math.min(...rows.map((r) => r.inFlight));
  const find = (op: 'get' | 'put', peer: PeerName, inFlight: number): Row | undefined => rows.find((r) => r.op === op && r.peer === peer && r.inFlight === inFlight);
  const ratioVerdict = (name: string, row: Row | undefined, min: number): Verdict6 => {
    const reason = row ? skipped(row.peer) : 'not measured';
    const b = row ? best(row) : undefined;
    if (!row || reason !== undefined || !b) {
      return { name, measured: '-', target: `>= ${min.toFixed(2)}x`, pass: false, verdictText: `SKIPPED (${reason ?? 'no peer figure'})` };
    }
    // Judged as printed, so a printed "1.00x" is what passes ">= 1.00x".
    const ratio = Number((row.spacekv.opsPerSec / b.m.opsPerSec).toFixed(2));
    const pass = ratio >= min;
    return { name, measured: `${ratio.toFixed(2)}x`, target: `>= ${min.toFixed(2)}x`, pass, verdictText: pass ? 'PASS' : 'MISS' };
  };
  const getAt1 = find('get', 'fast', bottom);
  const p50 = getAt1 ? Math.round(getAt1.spacekv.p50Us) : Number.NaN;
  const p50Pass = p50 < T.getP50UsAt1Max;
  return [
    ratioVerdict(`get at ${top} in flight vs Redis GET`, find('get', 'fast', top), T.getVsRedisAt1024Min),
    ratioVerdict(`durable put at ${top} in flight vs Redis SET appendfsync always`, find('put', 'durable', top), T.durablePutVsRedisAt1024Min),
    { name: `get p50 latency at ${bottom} in flight`, measured: `${us(p50)} µs`, target: `< ${T.getP50UsAt1Max} µs`, pass: p50Pass, verdictText: p50Pass ? 'PASS' : 'MISS' },
  ];
}

export const clientVsRedisSection: Section = {
  id: 'client-vs-redis',
  title: 'Step 6: @spacekv/client point get and put vs Redis',
  byDefault: true,
  async run(c) {
    printClientVsRedis(await clientVsRedis(c.root, c.options.clientVsRedis, c.options.variants, c.options.slices, c.problems));
  },
  estimateSeconds({ options: o }) {
    // Rough rates of spacekv here, ops/s at 1, 64 and more in flight: gets, then durable puts (an fsync per batch).
    const rate = (op: 'get' | 'put', inFlight: number): number => (op === 'get' ? [3_000, 20_000, 25_000] : [400, 5_000, 10_000])[inFlight <= 1 ? 0 : inFlight <= 64 ? 1 : 2] as number;
    const spacekvRound = o.clientVsRedis.levels.reduce((sum, l) => sum + l.getOps / rate('get', l.inFlight) + l.putOps / rate('put', l.inFlight), 0);
    // Redis's runs (two peers, two ioredis modes) take about as long as spacekv's.
    return 10 + o.clientVsRedis.rounds * spacekvRound * (1 + runsPerRound(o.variants.length));
  },
};
