// The one conformance suite of operation semantics (STYLE.md §3, docs/architecture.md §7). Every store runs the
// same cases through the same Engine, from wire JSON parsed as the fronts parse it; a store adds
// only a factory (see sqlite.test.ts). A difference between stores is a named skip with a reason,
// never a fork of a case.
import { describe } from 'node:test';
import { adminCases } from './cases-admin.js';
import { changeLogCases } from './cases-change-log.js';
import { expiryCases } from './cases-expiry.js';
import { hyperdexCases } from './cases-hyperdex.js';
import { modelCases } from './cases-model.js';
import { mutateCases } from './cases-mutate.js';
import { orderCases } from './cases-order.js';
import { searchCases } from './cases-search.js';
import { searchPropertyCases } from './cases-search-property.js';
import { transferCases } from './cases-tx-transfers.js';
import { txCases } from './cases-tx.js';
import { writeCases } from './cases-write.js';
import type { StoreFactory, SuiteContext, SuiteOptions } from './fixture.js';

export type { StoreFactory, SuiteOptions } from './fixture.js';

/**
 * Register every conformance case for one store. Each case gets a fresh directory under the OS temp
 * dir, `makeStore(dir, limits)` wrapped in an Engine, and everything removed afterwards.
 *
 * @example
 * conformanceSuite('sqlite', (dir, limits) => new SqliteStore(dir, limits));
 */
export function conformanceSuite(storeName: string, makeStore: StoreFactory, options: SuiteOptions = {}): void {
  const ctx: SuiteContext = { storeName, makeStore, options };
  describe(`conformance: ${storeName}`, () => {
    writeCases(ctx);
    mutateCases(ctx);
    expiryCases(ctx);
    adminCases(ctx);
    orderCases(ctx);
    modelCases(ctx);
    txCases(ctx);
    transferCases(ctx);
    changeLogCases(ctx);
    searchCases(ctx);
    searchPropertyCases(ctx);
    hyperdexCases(ctx);
  });
}
