/** Messages between the engine's thread and the writer thread. */
import type { BatchMember, MemberOutcome, RetentionRule, StoredSpace } from '../store.js';
import type { PruneOutcome } from './change-log-writer.js';

export type ToWriter =
  | { readonly type: 'batch'; readonly id: number; readonly members: readonly BatchMember[] }
  | { readonly type: 'save_cursor'; readonly id: number; readonly name: string; readonly seq: number }
  | { readonly type: 'prune'; readonly id: number; readonly rule: RetentionRule; readonly limit: number }
  | { readonly type: 'close' };

export type FromWriter =
  | { readonly type: 'ready'; readonly spaces: readonly StoredSpace[] }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'outcomes'; readonly id: number; readonly outcomes: readonly MemberOutcome[] }
  | { readonly type: 'done'; readonly id: number; readonly pruned?: PruneOutcome; readonly error?: string }
  | { readonly type: 'closed' };
