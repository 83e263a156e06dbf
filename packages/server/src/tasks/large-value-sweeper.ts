/**
 * The large-value sweeper (docs/large-values.md): removes the chunks of uploads that were cut
 * (staged, idle past largeUploadIdleMs, not being received here: after a lost connection or a
 * crash, also after a restart), and of values no object refers to any more, once log retention
 * has passed the seq from which none does (so a point-in-time restore never misses one). Adopted
 * values are looked at a page at a time, round robin.
 */
import type { Limits } from '@spacekv/core';
import type { LargeUploads } from '../large/uploads.js';
import type { LargeValues } from '../store/store.js';
import { type TaskBody, periodic } from './task.js';

export interface LargeSweeperOptions {
  readonly intervalMs: number;
  /** Values looked at per round. */
  readonly batchMax: number;
}

export function largeValueSweeper(values: LargeValues, uploads: LargeUploads, limits: Limits, options: LargeSweeperOptions): TaskBody {
  let after = ''; // the last adopted value looked at; the next round starts past it
  return periodic(options.intervalMs, async (ctx) => {
    const nowMs = Date.now();
    const candidates = await values.sweepCandidates(nowMs - limits.largeUploadIdleMs, after, options.batchMax);
    let removed = 0;
    let sawAdopted = false;
    for (const candidate of candidates) {
      if (ctx.signal.aborted) return false;
      if (candidate.state !== 'staged') {
        sawAdopted = true;
        after = candidate.id;
      }
      if (candidate.state === 'adopted') {
        await values.orphanIfUnreferenced(candidate.id, candidate.owner, nowMs);
        continue;
      }
      if (candidate.state === 'staged' && uploads.has(candidate.id)) continue;
      while (!(await values.drop(candidate.id))) if (ctx.signal.aborted) return false;
      removed++;
    }
    if (!sawAdopted) after = ''; // past the last adopted value: start over next round
    ctx.count(removed);
    return removed > 0 && candidates.length === options.batchMax;
  });
}
