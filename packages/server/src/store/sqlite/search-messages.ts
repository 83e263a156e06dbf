/** Messages between the engine's thread and the search thread. */
import type { EncodedSearchPage, SearchPage, SearchPlan, WireError } from '@spacekv/core';

export type ToSearcher =
  | { readonly type: 'search' | 'search_encoded' | 'count'; readonly id: number; readonly plan: SearchPlan }
  | { readonly type: 'close' };

export type FromSearcher =
  | { readonly type: 'page'; readonly id: number; readonly page: SearchPage }
  | { readonly type: 'encoded_page'; readonly id: number; readonly page: EncodedSearchPage }
  | { readonly type: 'count'; readonly id: number; readonly count: number }
  | { readonly type: 'fault'; readonly id: number; readonly fault: WireError };
