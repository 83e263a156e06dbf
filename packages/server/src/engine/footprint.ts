/**
 * What an operation reads or writes, as the per-key order of a session sees it (docs/architecture.md §4.3):
 * one object, a whole space, or the catalog of spaces. Two operations of one session are ordered
 * only when their footprints overlap and one of them writes.
 */
import type { Key, Operation } from '@spacekv/core';

export interface Target {
  /** Absent: the catalog (every space). */
  readonly space?: string;
  /** Absent: the whole space (a scan, a group operation, an admin operation). */
  readonly key?: Key;
  readonly writes: boolean;
  /**
   * The write goes through group commit as one batch member. The committer applies members in the
   * order they were submitted, so such a write may follow another one on its key at once instead of
   * waiting for its commit: that is what lets a pipeline of writes share a batch.
   */
  readonly committed: boolean;
}

const CATALOG_READ: readonly Target[] = [{ writes: false, committed: false }];

export function footprintOf(op: Operation): readonly Target[] {
  switch (op.op) {
    case 'get':
    case 'get_partial':
      return [{ space: op.space, key: op.key, writes: false, committed: false }];
    case 'search':
    case 'sorted_search':
    case 'count':
    case 'list':
    case 'describe_space':
      return [{ space: op.space, writes: false, committed: false }];
    case 'group_del':
    case 'group_mutate':
    case 'add_index':
      return [{ space: op.space, writes: true, committed: false }];
    case 'rm_space':
    case 'rm_index':
      return [{ space: op.space, writes: true, committed: true }];
    case 'add_space':
      return [{ space: op.schema.name, writes: true, committed: true }];
    case 'list_spaces':
      return CATALOG_READ;
    case 'tx':
      // A tx commits as one batch member; its checks are ordered like its writes (they read at its instant).
      return [...op.checks, ...op.ops].map((t) => ({ space: t.space, key: t.key, writes: true, committed: true }));
    default:
      return [{ space: op.space, key: op.key, writes: true, committed: true }];
  }
}
