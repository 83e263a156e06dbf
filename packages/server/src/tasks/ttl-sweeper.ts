/**
 * The TTL sweeper (docs/architecture.md §2): expired objects already read as absent; this task deletes them,
 * in bounded batches, each deletion an `expire` write through the engine's normal write path, so it
 * is group-committed, logged and watched like any other. The `expire` names the version the
 * sweeper read: an object rewritten since is spared (cmp_fail), never deleted.
 */
import type { Engine } from '../engine/engine.js';
import type { ChangeLog } from '../store/store.js';
import { type TaskBody, periodic } from './task.js';

export interface SweeperOptions {
  readonly intervalMs: number;
  /** Expired objects deleted per batch. */
  readonly batchMax: number;
}

export function ttlSweeper(log: ChangeLog, engine: Engine, options: SweeperOptions): TaskBody {
  return periodic(options.intervalMs, async (ctx) => {
    const expired = await log.expiredObjects(Date.now(), options.batchMax);
    if (expired.length === 0) return false;
    // A space removed since the read, or a full write queue, fails its own deletions only; the
    // next round finds what is left.
    const outcomes = await Promise.allSettled(expired.map((e) => engine.write({ op: 'expire', space: e.space, key: e.key, version: e.version })));
    const deleted = outcomes.filter((o) => o.status === 'fulfilled' && o.value.ok).length;
    ctx.count(deleted);
    return deleted > 0 && expired.length === options.batchMax;
  });
}
