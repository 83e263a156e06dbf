/**
 * The Redis peers of step 6, both driven by ioredis:
 *  (a) fast: the machine's own Redis at 127.0.0.1:6379 when it answers PING (its persistence settings
 *      are printed as found); if none answers, one the bench starts itself with persistence off;
 *  (b) durable: a redis-server the bench starts itself on a free port with
 *      `--appendonly yes --appendfsync always --save ""`, its AOF in a temporary directory on the
 *      same filesystem as spacekv's data, removed when it stops.
 * A peer that cannot run is reported with the reason, never dropped silently.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { Redis, type RedisOptions } from 'ioredis';
import { visible } from './proc-stats.js';

export interface RedisPeer {
  /** How the table and lines name it, e.g. "Redis 7.0.15 at :6379 (appendonly no, save '')". */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  /** The server process, for its CPU; undefined when /proc cannot see it. */
  readonly pid: number | undefined;
  /** Stop it (if the bench started it) and remove its directory; no-op for the machine's Redis. */
  stop(): Promise<{ readonly clean: boolean; readonly detail: string }>;
}

export type PeerOutcome = { readonly peer: RedisPeer } | { readonly skipped: string };

const live = new Set<ChildProcess>();

/** Kill every redis-server this bench started; synchronous, for an 'exit' handler. */
export function killRedisChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export function redisClient(host: string, port: number, options: RedisOptions = {}): Redis {
  // No retries and no offline queue: a peer that goes away must fail the step, not stall it.
  return new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: true, retryStrategy: () => null, ...options });
}

/** The version, pid and persistence settings of a Redis, as it reports them. */
async function describe(host: string, port: number): Promise<{ version: string; pid: number | undefined; persistence: string }> {
  const redis = redisClient(host, port);
  try {
    await redis.connect();
    const info = await redis.info('server');
    const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    const pid = Number(field('process_id'));
    let persistence: string;
    try {
      const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
      const [, appendfsync] = (await redis.config('GET', 'appendfsync')) as string[];
      const [, save] = (await redis.config('GET', 'save')) as string[];
      persistence = appendonly === 'yes' ? `appendonly yes, appendfsync ${appendfsync}, save '${save}'` : `appendonly no, save '${save}'`;
    } catch (err) {
      persistence = `persistence unknown: CONFIG GET refused (${(err as Error).message})`;
    }
    return { version: field('redis_version') ?? 'unknown', pid: Number.isSafeInteger(pid) && pid > 0 && visible(pid) ? pid : undefined, persistence };
  } finally {
    redis.disconnect();
  }
}

async function answersPing(host: string, port: number): Promise<string | undefined> {
  const redis = redisClient(host, port, { connectTimeout: 1_000 });
  try {
    await redis.connect();
    const pong = await redis.ping();
    return pong === 'PONG' ? undefined : `PING answered '${pong}'`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    redis.disconnect();
  }
}

export function redisServerPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A TCP port nothing listens on right now (it may be taken before it is used: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The fast peer: the machine's Redis if it answers; else one of our own with persistence off. */
export async function fastPeer(dir: string): Promise<PeerOutcome> {
  const host = '127.0.0.1';
  const port = 6379;
  const noAnswer = await answersPing(host, port);
  if (noAnswer === undefined) {
    const { version, pid, persistence } = await describe(host, port);
    return {
      peer: {
        label: `the machine's Redis ${version} at ${host}:${port} (${persistence})`,
        host, port, pid,
        stop: () => Promise.resolve({ clean: true, detail: 'not ours to stop' }),
      },
    };
  }
  const started = await startRedisChild(dir, ['--appendonly', 'no', '--save', '']);
  if ('skipped' in started) return { skipped: `no Redis answers at ${host}:${port} (${noAnswer}), and ${started.skipped}` };
  return { peer: { ...started.peer, label: `${started.peer.label} (no Redis answered at ${host}:${port}: ${noAnswer})` } };
}

/** The durable peer: our own redis-server, every write fsynced before its reply. */
export function durablePeer(dir: string): Promise<PeerOutcome> {
  return startRedisChild(dir, ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']);
}

async function startRedisChild(dir: string, persistence: readonly string[]): Promise<PeerOutcome> {
  const binary = redisServerPath();
  if (binary === undefined) return { skipped: 'redis-server is not on PATH (install it, e.g. apt-get install redis-server)' };
  mkdirSync(dir, { recursive: true });
  let lastError = '';
  // A free port can be taken between our probe and redis-server's bind: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'no', '--logfile', '', '--dir', dir, ...persistence];
    try {
      const peer = await spawnRedis(binary, args, port, dir);
      const { version, persistence: found } = await describe('127.0.0.1', port);
      return { peer: { ...peer, label: `redis-server ${version} started by the bench at :${port} (${found}; data on ${dir})` } };
    } catch (err) {
      lastError = (err as Error).message;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return { skipped: `redis-server would not start: ${lastError}` };
}

function spawnRedis(binary: string, args: readonly string[], port: number, dir: string): Promise<RedisPeer> {
  const child = spawn(binary, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const tail: string[] = [];
  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  createInterface({ input: child.stderr }).on('line', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const stop = async (): Promise<{ clean: boolean; detail: string }> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const grace = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const exit = await exited;
    clearTimeout(grace);
    rmSync(dir, { recursive: true, force: true });
    return { clean: exit.code === 0, detail: `code ${exit.code}, signal ${exit.signal}\n${tail.join('\n')}` };
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no 'Ready to accept connections' within 10 s\n${tail.join('\n')}`));
    }, 10_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line);
      if (ready || !line.includes('Ready to accept connections')) return;
      ready = true;
      clearTimeout(timeout);
      resolve({ label: 'redis-server', host: '127.0.0.1', port, pid: child.pid, stop });
    });
    void exited.then((exit) => {
      if (ready) return;
      clearTimeout(timeout);
      reject(new Error(`exited before it was ready (code ${exit.code}, signal ${exit.signal}): ${tail.slice(-3).join(' | ')}`));
    });
    child.once('error', (err) => {
      clearTimeout(timeout);
      reject(err);
    });
  });
}

/** Remove this run's keys from the machine's Redis (and nothing else). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
