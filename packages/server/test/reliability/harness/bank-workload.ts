/**
 * The bank workload, checked and under faults: transfers are server `tx`s (a check that the source
 * holds the amount, then sub and add), reads are read-only `tx`s of every account at one instant.
 * Whatever happens to a transfer (committed, refused, unknown), it is atomic, so every read must
 * see the same total and no negative balance. (The client's optimistic `transaction()` has its own
 * bank test in packages/client/test/transactions.test.ts, without faults.)
 */
import { sleep } from '../../helpers/timeout.js';
import type { Rng } from './seed.js';
import type { TxClient } from './tx-client.js';

export const BANK_SCHEMA = (space: string): string => `space ${space} key k attributes int balance`;

export interface BankOptions {
  readonly clients: readonly TxClient[];
  readonly space: string;
  readonly accounts: number;
  readonly rng: Rng;
  readonly opsPerClient: number;
}

export interface BankRun {
  /** Each successful read: its total and how many balances were negative. */
  readonly reads: readonly { readonly total: number; readonly negative: number }[];
  readonly transfers: { ok: number; fail: number; info: number };
}

export const accountKey = (i: number): string => `a${i}`;

export async function runBank(options: BankOptions): Promise<BankRun> {
  const { space, rng, accounts } = options;
  const reads: { total: number; negative: number }[] = [];
  const transfers = { ok: 0, fail: 0, info: 0 };
  await Promise.all(options.clients.map(async (client) => {
    for (let i = 0; i < options.opsPerClient; i++) {
      if (rng.chance(0.3)) {
        const done = await client.tx({ ops: Array.from({ length: accounts }, (_, a) => ({ op: 'get', space, key: accountKey(a) })) });
        if (done.outcome === 'ok') {
          const balances = done.results.map((r) => Number((r.attributes as { balance?: unknown } | undefined)?.balance));
          reads.push({ total: balances.reduce((a, b) => a + b, 0), negative: balances.filter((b) => !(b >= 0)).length });
        } else {
          await sleep(20 + rng.int(80));
        }
        continue;
      }
      const from = rng.int(accounts);
      const to = (from + 1 + rng.int(accounts - 1)) % accounts;
      const amount = 1 + rng.int(20);
      const done = await client.tx({
        checks: [{ space, key: accountKey(from), if: { balance: { gte: amount } } }],
        ops: [
          { op: 'mutate', space, key: accountKey(from), mutations: [{ sub: { balance: amount } }] },
          { op: 'mutate', space, key: accountKey(to), mutations: [{ add: { balance: amount } }] },
        ],
      });
      transfers[done.outcome]++;
      if (done.outcome !== 'ok') await sleep(20 + rng.int(80));
    }
  }));
  return { reads, transfers };
}

/** What is wrong with a bank run: reads whose total is off, or with a negative balance. */
export function bankViolations(run: BankRun, expectedTotal: number): string[] {
  return run.reads
    .filter((r) => r.total !== expectedTotal || r.negative > 0)
    .map((r) => `a read saw total ${r.total} (expected ${expectedTotal}) with ${r.negative} negative balances`);
}
