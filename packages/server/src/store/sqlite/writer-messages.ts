/** Messages between the engine's thread and the writer thread. */
import type { Key, SpaceSchema, WireError } from '@spacekv/core';
import type { PurgeOutcome, RetentionRule, StoredSpace } from '../store.js';
import type { PruneOutcome } from './change-log-writer.js';
import type { LargeValueRequest } from './large-value-writer.js';
import type { PackedMembers } from './member-packing.js';
import type { PackedOutcomes } from './outcome-packing.js';

/** One step of an online index build (index-builder.ts). */
export type IndexStep =
  | { readonly step: 'start' }
  | { readonly step: 'fill'; readonly after: Key | null }
  | { readonly step: 'finish' }
  | { readonly step: 'abort' };

/** What a build's start found: built already, the attribute's old entries still being purged (ask again), or begun. */
export type IndexStart = 'indexed' | 'purging' | 'started';

export type IndexStepAnswer =
  | { readonly step: 'start'; readonly state: IndexStart }
  | { readonly step: 'fill'; readonly last: Key | null; readonly rows: number }
  | { readonly step: 'finish'; readonly schema: SpaceSchema }
  | { readonly step: 'abort' };

export type ToWriter =
  | { readonly type: 'batch'; readonly id: number; readonly members: PackedMembers }
  | { readonly type: 'save_cursor'; readonly id: number; readonly name: string; readonly seq: number }
  | { readonly type: 'prune'; readonly id: number; readonly rule: RetentionRule; readonly limit: number }
  | { readonly type: 'purge'; readonly id: number }
  | { readonly type: 'index'; readonly id: number; readonly space: string; readonly createdSeq: number; readonly attribute: string; readonly request: IndexStep }
  | { readonly type: 'large'; readonly id: number; readonly request: LargeValueRequest }
  | { readonly type: 'close' };

export type FromWriter =
  | { readonly type: 'ready'; readonly spaces: readonly StoredSpace[] }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'outcomes'; readonly id: number; readonly outcomes: PackedOutcomes }
  | { readonly type: 'done'; readonly id: number; readonly pruned?: PruneOutcome; readonly purged?: PurgeOutcome; readonly gone?: boolean; readonly error?: string }
  | { readonly type: 'index'; readonly id: number; readonly answer: IndexStepAnswer }
  | { readonly type: 'index_fault'; readonly id: number; readonly fault: WireError }
  | { readonly type: 'closed' };
