/**
 * The purge of removed spaces and indexes: their removal was a catalog change, immediate whatever
 * they held; this task deletes the rows they left, one bounded slice per step, each a short writer
 * transaction of its own between group-commit batches (Store.purgeRemoved), so writes keep being
 * answered during the delete of a million rows. Pending purges are in the store: a restart resumes.
 */
import type { PurgeOutcome } from '../store/store.js';
import { type TaskBody, periodic } from './task.js';

export function purgeRemoved(purge: () => Promise<PurgeOutcome>, intervalMs: number): TaskBody {
  return periodic(intervalMs, async (ctx) => {
    const { removed, more } = await purge();
    ctx.count(removed);
    return more;
  });
}
