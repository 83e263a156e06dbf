/**
 * Redis as a YCSB peer, driven by ioredis with auto-pipelining (commands of one tick leave in one
 * write, as the spacekv client batches its frames), the way YCSB's own Redis binding stores data:
 * a record is a hash (HSET / HGETALL), and a sorted set indexes the keys for scans (here ordered by
 * the key itself, ZRANGE BYLEX, then HGETALL of each record, pipelined).
 *
 * Two peers: the machine's Redis (no persistence: the fast comparison) and a redis-server the bench
 * starts with `appendfsync always` (every write fsynced before its reply: the durable one). Keys
 * carry a per-run prefix and are deleted at the end; on the machine's Redis they also expire.
 */
import type { Redis } from 'ioredis';
import { type PeerOutcome, deleteKeys, durablePeer, fastPeer, redisClient } from '../../redis-peer.js';
import type { YcsbPeer, YcsbStore } from '../store.js';
import type { Fields } from '../workload.js';

/** Seconds after which keys left by a run that died expire from the machine's Redis. */
const EXPIRE_SECONDS = 3600;

export function redisPeers(problems: string[]): YcsbPeer[] {
  return [
    {
      id: 'redis',
      name: 'Redis (no persistence)',
      durability: "the machine's Redis, in memory, nothing fsynced",
      open: async (dir) => storeOf(await fastPeer(dir), true, problems),
    },
    {
      id: 'redis-aof',
      name: 'Redis (appendfsync always)',
      durability: 'own redis-server, AOF fsynced before every reply',
      open: async (dir) => storeOf(await durablePeer(dir), false, problems),
    },
  ];
}

async function storeOf(outcome: PeerOutcome, shared: boolean, problems: string[]): Promise<YcsbStore | { skipped: string }> {
  if ('skipped' in outcome) return outcome;
  const { peer } = outcome;
  const redis: Redis = redisClient(peer.host, peer.port, { enableAutoPipelining: true });
  await redis.connect();
  const prefix = `spacekv-bench:ycsb:${process.pid}:`;
  const index = `${prefix}__index`;
  const k = (key: string): string => prefix + key;
  return {
    detail: `${peer.label}, ioredis auto-pipelined`,
    scanUnsupported: undefined,
    serverPids: () => Promise.resolve(peer.pid === undefined ? [] : [peer.pid]),
    async load(records) {
      const pipeline = redis.pipeline();
      for (const [key, fields] of records) {
        pipeline.hset(k(key), fields);
        if (shared) pipeline.expire(k(key), EXPIRE_SECONDS);
        pipeline.zadd(index, 0, key);
      }
      if (shared) pipeline.expire(index, EXPIRE_SECONDS);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0] as Error;
    },
    async read(key) {
      const fields = await redis.hgetall(k(key));
      return Object.keys(fields).length === 0 ? null : fields;
    },
    async update(key, field, value) {
      await redis.hset(k(key), field, value);
    },
    async insert(key, fields: Fields) {
      await Promise.all([redis.hset(k(key), fields), redis.zadd(index, 0, key)]);
    },
    async scan(startKey, count) {
      const keys = await redis.zrangebylex(index, `[${startKey}`, '+', 'LIMIT', 0, count);
      const records = await Promise.all(keys.map((key) => redis.hgetall(k(key))));
      return records.length;
    },
    async close() {
      if (shared) await deleteKeys(redis, `${prefix}*`);
      redis.disconnect();
      const stopped = await peer.stop();
      if (!stopped.clean) problems.push(`${peer.label} did not shut down cleanly: ${stopped.detail}`);
    },
  };
}
