/** Messages between the engine's thread and the writer thread. */
import type { BatchMember, MemberOutcome, StoredSpace } from '../store.js';

export type ToWriter =
  | { readonly type: 'batch'; readonly id: number; readonly members: readonly BatchMember[] }
  | { readonly type: 'close' };

export type FromWriter =
  | { readonly type: 'ready'; readonly spaces: readonly StoredSpace[] }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'outcomes'; readonly id: number; readonly outcomes: readonly MemberOutcome[] }
  | { readonly type: 'closed' };
