/**
 * Log retention (docs/architecture.md §4.6): trims the change log's old end by age and/or count, in bounded
 * steps, but never past a named durable cursor (the AMQP relay's), so an event the relay has not
 * published is never lost to retention, however long the broker is away. (The log then grows
 * while the relay is stuck: the price of at-least-once, visible in /healthz as the relay's state.)
 * A watcher further behind than retention gets `compacted`.
 */
import type { ChangeLog } from '../store/store.js';
import { type TaskBody, periodic } from './task.js';

export interface RetentionOptions {
  readonly intervalMs: number;
  /** Changes older than this may go. */
  readonly maxAgeMs?: number;
  /** Changes of every seq but the newest `keepSeqs` may go. */
  readonly keepSeqs?: number;
  /** Durable cursors retention must not pass. */
  readonly cursors: readonly string[];
  /** Changes removed per step. */
  readonly batchMax: number;
}

export function logRetention(log: ChangeLog, options: RetentionOptions): TaskBody {
  return periodic(options.intervalMs, async (ctx) => {
    let throughSeqMax = Number.MAX_SAFE_INTEGER;
    for (const name of options.cursors) throughSeqMax = Math.min(throughSeqMax, await log.readCursor(name));
    const { removed } = await log.pruneChanges({
      throughSeqMax,
      ...(options.maxAgeMs === undefined ? {} : { committedBeforeMs: Date.now() - options.maxAgeMs }),
      ...(options.keepSeqs === undefined ? {} : { keepSeqs: options.keepSeqs }),
    }, options.batchMax);
    ctx.count(removed);
    return removed > 0;
  });
}
