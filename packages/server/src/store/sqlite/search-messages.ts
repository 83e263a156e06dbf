/** Messages between the engine's thread and the search thread. */
import type { SearchPage, SearchPlan, WireError } from '@spacekv/core';

export type ToSearcher =
  | { readonly type: 'search' | 'count'; readonly id: number; readonly plan: SearchPlan }
  | { readonly type: 'close' };

export type FromSearcher =
  | { readonly type: 'page'; readonly id: number; readonly page: SearchPage }
  | { readonly type: 'count'; readonly id: number; readonly count: number }
  | { readonly type: 'fault'; readonly id: number; readonly fault: WireError };
