// Proves the `tx` operation (docs/architecture.md §3 transaction, §4.1; docs/transactions.md) behaves the same on
// every store: all or nothing (a transfer applies both sides or neither); a failed check or operation
// answers tx_failed listing every failing check, or the first failing operation, with its index and
// the object's current version, changes nothing and takes no seq; operations see the tx's earlier
// writes; every write of a tx lands at one seq and the next write gets the next; a tx in a group-commit
// batch neither harms nor is harmed by its neighbours; a tx spans spaces; a tx validated against a
// replaced space applies nothing; faults (unknown_space, too_large, bad_request) reject the whole tx;
// the commit hook hears one change per object written; and concurrent compare-and-swap transfers keep
// the total. The random case takes SPACEKV_SEED and prints its seed on failure.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { type Change, type Result, makeLimits } from '@spacekv/core';
import {
  INT64_MAX, type ResultView, type SuiteContext, type Wire, conformanceCase, describeResult, expectFault, expectFulfilled, expectRejected, expectResult,
  type Fixture, writtenVersion,
} from './fixture.js';

const ACCOUNTS = 'space accounts key id attributes int balance, string note';
const LEDGER = 'space ledger key int entry attributes string from, string to, int amount';

export type Check = { readonly space: string; readonly key: unknown; readonly [test: string]: unknown };

export function tx(checks: readonly Check[], ops: readonly Wire[]): Wire {
  return { op: 'tx', checks, ops };
}

export function account(key: string, test: object): Check {
  return { space: 'accounts', key, ...test };
}

export function put(key: string, balance: number, op = 'put'): Wire {
  return { op, space: 'accounts', key, attributes: { balance } };
}

function add(key: string, amount: number, condition?: object): Wire {
  return { op: 'mutate', space: 'accounts', key, mutations: [{ add: { balance: amount } }], ...(condition ? { if: condition } : {}) };
}

function get(key: string, space = 'accounts'): Wire {
  return { op: 'get', space, key };
}

async function deposit(fx: Fixture, key: string, balance: number): Promise<number> {
  return writtenVersion(await fx.run(put(key, balance)));
}

/** Assert the account is exactly at `version` with `balance`. */
async function expectAccount(fx: Fixture, key: string, version: number, balance: number): Promise<void> {
  expectResult(await fx.run(get(key)), { ok: true, kind: 'object', key, version, attributes: { balance, note: '' } });
}

async function expectAbsent(fx: Fixture, key: string | number, space = 'accounts'): Promise<void> {
  expectResult(await fx.run({ op: 'get', space, key }), { ok: false, code: 'not_found', version: 0 });
}

/** A successful write inside a tx, as `view` shows it. */
function wrote(key: string, version: number, created: boolean, extra: object = {}): ResultView {
  return { ok: true, kind: 'written', key, version, created, ...extra };
}

function found(key: unknown, version: number, attributes: object): ResultView {
  return { ok: true, kind: 'object', key, version, attributes };
}

function failed(at: 'check' | 'op', index: number, code: string, version: number): ResultView {
  return { at, index, code, version };
}

/** The seq of a successful tx that wrote something. */
function txSeq(result: Result): number {
  if (!result.ok || result.kind !== 'tx' || result.seq === null) return assert.fail(`expected a tx that wrote, got ${describeResult(result)}`);
  return result.seq;
}

export function txCases(ctx: SuiteContext): void {
  describe('tx: all or nothing', () => {
    conformanceCase(ctx, 'a transfer between two accounts applies both sides, or neither', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      await deposit(fx, 'a', 100);
      const vb = await deposit(fx, 'b', 50);
      const transfer = (amount: number): Wire => tx(
        [account('a', { if: { balance: { gte: amount } } }), account('b', { exists: true })],
        [add('a', -amount), add('b', amount)],
      );
      const seq = vb + 1;
      expectResult(await fx.run(transfer(30)), {
        ok: true, kind: 'tx', seq,
        results: [wrote('a', seq, false, { attributes: { balance: 70, note: '' } }), wrote('b', seq, false, { attributes: { balance: 80, note: '' } })],
      });
      // A check fails: nothing happens.
      expectResult(await fx.run(transfer(100)), { ok: false, code: 'tx_failed', failures: [failed('check', 0, 'cmp_fail', seq)] });
      // The second operation fails after the first wrote: the first is undone, and the failure
      // reports the version the object is really at, not the one the tx gave it and never committed.
      expectResult(
        await fx.run(tx([], [add('b', 80), add('b', -1000, { balance: { gte: 1000 } })])),
        { ok: false, code: 'tx_failed', failures: [failed('op', 1, 'cmp_fail', seq)] },
      );
      await expectAccount(fx, 'a', seq, 70);
      await expectAccount(fx, 'b', seq, 80);
    });

    conformanceCase(ctx, 'failing checks: tx_failed lists each with its index and current version; nothing changes; no seq is taken', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      const va = await deposit(fx, 'a', 10);
      const vc = await deposit(fx, 'c', 5);
      const checks = [
        account('a', { exists: true }), // holds
        account('b', { exists: true }), // b is absent
        account('a', { version: va + 7 }),
        account('c', { exists: false }),
        account('c', { if: { balance: { gte: 100 } } }),
        account('b', { if: {} }), // a condition needs the object
        account('b', { version: 0 }), // holds: version 0 means absent
        account('b', { exists: false }), // holds
        account('a', { version: va }), // holds
      ];
      expectResult(await fx.run(tx(checks, [put('d', 1), add('a', 1)])), {
        ok: false, code: 'tx_failed',
        failures: [
          failed('check', 1, 'not_found', 0), failed('check', 2, 'cmp_fail', va), failed('check', 3, 'exists', vc),
          failed('check', 4, 'cmp_fail', vc), failed('check', 5, 'not_found', 0),
        ],
      });
      await expectAbsent(fx, 'd');
      await expectAccount(fx, 'a', va, 10);
      // No seq was taken: the next write gets the one right after the last write.
      expectResult(await fx.run(put('e', 1)), wrote('e', vc + 1, true));
    });

    conformanceCase(ctx, 'a failing operation: nothing applies, the failure points at it, and later operations are not run', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      const va = await deposit(fx, 'a', 10);
      const vBig = writtenVersion(await fx.run({ op: 'put', space: 'accounts', key: 'big', attributes: { balance: INT64_MAX } }));
      expectResult(
        await fx.run(tx([], [put('x', 1), add('a', 5), put('a', 99, 'put_if_not_exist'), put('y', 2), { op: 'del', space: 'accounts', key: 'nobody' }])),
        { ok: false, code: 'tx_failed', failures: [failed('op', 2, 'exists', va)] },
      );
      expectResult(
        await fx.run(tx([account('a', { exists: true })], [put('x', 1), add('big', 1), add('a', 1)])),
        { ok: false, code: 'tx_failed', failures: [failed('op', 1, 'overflow', vBig)] },
      );
      // A get of an absent object is a failed operation like any other.
      expectResult(await fx.run(tx([], [put('x', 1), get('nobody')])), { ok: false, code: 'tx_failed', failures: [failed('op', 1, 'not_found', 0)] });
      await expectAbsent(fx, 'x');
      await expectAbsent(fx, 'y');
      await expectAccount(fx, 'a', va, 10);
      expectResult(await fx.run(put('z', 1)), wrote('z', vBig + 1, true));
    });

    conformanceCase(ctx, 'operations see the tx\'s earlier writes; checks see the state before the tx', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      const before = await deposit(fx, 'other', 1);
      const seq = before + 1;
      const ops: Wire[] = [
        put('a', 1, 'put_if_not_exist'),
        get('a'),
        add('a', 1),
        { op: 'get_partial', space: 'accounts', key: 'a', select: ['balance'] },
        { op: 'get_and_put', space: 'accounts', key: 'a', attributes: { note: 'n' } },
        { op: 'cond_put', space: 'accounts', key: 'a', if: { note: 'n', balance: 2 }, attributes: { balance: 3 } },
        { op: 'compare_and_swap', space: 'accounts', key: 'a', version: seq, attributes: { balance: 4 } },
        { op: 'get_and_del', space: 'accounts', key: 'a' },
        put('a', 7, 'put_if_not_exist'),
        { op: 'cond_del', space: 'accounts', key: 'other', if: { balance: 1 } },
        get('a'),
      ];
      const checks = [account('a', { exists: false }), account('a', { version: 0 }), account('other', { version: before })];
      expectResult(await fx.run(tx(checks, ops)), {
        ok: true, kind: 'tx', seq,
        results: [
          wrote('a', seq, true),
          found('a', seq, { balance: 1, note: '' }),
          wrote('a', seq, false, { attributes: { balance: 2, note: '' } }),
          found('a', seq, { balance: 2 }),
          wrote('a', seq, false, { previous: { version: seq, expiresAt: null, attributes: { balance: 2, note: '' } } }),
          wrote('a', seq, false),
          wrote('a', seq, false),
          { ok: true, kind: 'deleted', key: 'a', version: seq, previous: { version: seq, expiresAt: null, attributes: { balance: 4, note: 'n' } } },
          wrote('a', seq, true),
          { ok: true, kind: 'deleted', key: 'other', version: seq },
          found('a', seq, { balance: 7, note: '' }),
        ],
      });
      await expectAccount(fx, 'a', seq, 7);
      await expectAbsent(fx, 'other');
    });

    conformanceCase(ctx, 'every write of a tx gets the tx\'s seq as its version; the next write gets seq + 1; a tx that only reads takes no seq', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      const v0 = await deposit(fx, 'a', 1);
      const seq = txSeq(await fx.run(tx([], [put('b', 2), add('a', 1), put('c', 3), { op: 'del', space: 'accounts', key: 'c' }, put('d', 4)])));
      assert.equal(seq, v0 + 1);
      await expectAccount(fx, 'a', seq, 2);
      await expectAccount(fx, 'b', seq, 2);
      await expectAccount(fx, 'd', seq, 4);
      await expectAbsent(fx, 'c');
      expectResult(await fx.run(tx([account('a', { version: seq })], [get('a'), get('b')])), {
        ok: true, kind: 'tx', seq: null, results: [found('a', seq, { balance: 2, note: '' }), found('b', seq, { balance: 2, note: '' })],
      });
      expectResult(await fx.run(tx([], [])), { ok: true, kind: 'tx', seq: null, results: [] });
      expectResult(await fx.run(put('e', 5)), wrote('e', seq + 1, true));
    });

    conformanceCase(ctx, 'a tx spans spaces, and replaying it fails its check and changes nothing', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      await fx.addSpace(LEDGER);
      await deposit(fx, 'a', 100);
      const vb = await deposit(fx, 'b', 0);
      const entry = 2n ** 60n;
      const transfer = tx(
        [{ space: 'ledger', key: entry, exists: false }, account('a', { if: { balance: { gte: 25 } } })],
        [add('a', -25), add('b', 25), { op: 'put', space: 'ledger', key: entry, attributes: { from: 'a', to: 'b', amount: 25 } }],
      );
      const seq = txSeq(await fx.run(transfer));
      assert.equal(seq, vb + 1);
      expectResult(await fx.run(transfer), { ok: false, code: 'tx_failed', failures: [failed('check', 0, 'exists', seq)] });
      await expectAccount(fx, 'a', seq, 75);
      await expectAccount(fx, 'b', seq, 25);
      expectResult(await fx.run({ op: 'get', space: 'ledger', key: entry }), found(entry, seq, { from: 'a', to: 'b', amount: 25 }));
      // A failure in one space undoes the writes in the other.
      expectResult(
        await fx.run(tx([], [add('a', -1), { op: 'put', space: 'ledger', key: 1, attributes: {} }, { op: 'put_if_not_exist', space: 'ledger', key: entry, attributes: {} }])),
        { ok: false, code: 'tx_failed', failures: [failed('op', 2, 'exists', seq)] },
      );
      await expectAccount(fx, 'a', seq, 75);
      await expectAbsent(fx, 1, 'ledger');
    });
  });

  describe('tx: group commit', () => {
    conformanceCase(ctx, 'a tx shares a batch with failing and succeeding neighbours, isolated both ways', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      await fx.addSpace('space gone key k attributes int n');
      await deposit(fx, 'a', 100);
      const vBig = writtenVersion(await fx.run({ op: 'put', space: 'accounts', key: 'big', attributes: { balance: INT64_MAX } }));
      // Seqs as the batch will hand them out: each successful write (or tx) takes the next.
      const [vX, vTx1, vD, , vTx2, vE] = [1, 2, 3, 4, 5, 6].map((n) => vBig + n) as [number, number, number, number, number, number];
      const wires: Wire[] = [
        put('x', 1), // 0: succeeds
        tx([account('c', { exists: false })], [add('a', -10), put('c', 10, 'put_if_not_exist')]), // 1: succeeds
        put('c', 0, 'put_if_not_exist'), // 2: exists: it sees the tx before it
        tx([], [put('d', 1), add('big', 1)]), // 3: overflow, so d is not written
        put('d', 2, 'put_if_not_exist'), // 4: created: the failed tx left nothing behind
        { op: 'rm_space', space: 'gone' }, // 5
        { op: 'put', space: 'gone', key: 'g', attributes: { n: 1 } }, // 6: a fault: its space is gone by now
        tx([account('x', { version: vX }), account('a', { version: vTx1 })], [add('x', 1)]), // 7: sees 0 and 1 committed
        add('a', 0, { balance: { lt: 0 } }), // 8: cmp_fail
        tx([], [put('e', 1)]), // 9: succeeds after failing neighbours
      ];
      const ops = wires.map((wire) => fx.parse(wire));
      const batchesBefore = fx.batchCount;
      const outcomes = await Promise.allSettled(ops.map((op) => fx.session.execute(op)));

      assert.deepEqual(fx.store.batches.slice(batchesBefore).map((b) => b.length), [ops.length], 'all members shared one batch');
      expectResult(expectFulfilled(outcomes[0]), wrote('x', vX, true));
      expectResult(expectFulfilled(outcomes[1]), {
        ok: true, kind: 'tx', seq: vTx1, results: [wrote('a', vTx1, false, { attributes: { balance: 90, note: '' } }), wrote('c', vTx1, true)],
      });
      expectResult(expectFulfilled(outcomes[2]), { ok: false, code: 'exists', version: vTx1 });
      expectResult(expectFulfilled(outcomes[3]), { ok: false, code: 'tx_failed', failures: [failed('op', 1, 'overflow', vBig)] });
      expectResult(expectFulfilled(outcomes[4]), wrote('d', vD, true));
      expectResult(expectFulfilled(outcomes[5]), { ok: true, kind: 'space_removed', space: 'gone' });
      await expectRejected(outcomes[6], 'unknown_space');
      expectResult(expectFulfilled(outcomes[7]), { ok: true, kind: 'tx', seq: vTx2, results: [wrote('x', vTx2, false, { attributes: { balance: 2, note: '' } })] });
      expectResult(expectFulfilled(outcomes[8]), { ok: false, code: 'cmp_fail', version: vTx1 });
      expectResult(expectFulfilled(outcomes[9]), { ok: true, kind: 'tx', seq: vE, results: [wrote('e', vE, true)] });

      await expectAccount(fx, 'a', vTx1, 90);
      await expectAccount(fx, 'c', vTx1, 10);
      await expectAccount(fx, 'd', vD, 2);
      await expectAccount(fx, 'x', vTx2, 2);
      expectResult(await fx.run(get('big')), found('big', vBig, { balance: INT64_MAX, note: '' }));
    });

    conformanceCase(ctx, 'the commit hook hears one change per object a tx wrote, all at its seq, in the order of first writes', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      await deposit(fx, 'gone', 1);
      const heard: Change[] = [];
      fx.engine.onCommit((changes) => heard.push(...changes));
      const seq = txSeq(await fx.run(tx([], [put('a', 1), put('b', 2), add('a', 1), get('b'), { op: 'del', space: 'accounts', key: 'gone' }])));
      await fx.run(tx([], [put('c', 1), put('a', 1, 'put_if_not_exist')])); // fails: no change
      await fx.run(tx([], [get('a')])); // only reads: no change
      assert.deepEqual(heard.map((c) => [c.seq, c.space, c.key, c.op, c.attributesJson]), [
        [seq, 'accounts', 'a', 'mutate', '{"balance":2,"note":""}'],
        [seq, 'accounts', 'b', 'put', '{"balance":2,"note":""}'],
        [seq, 'accounts', 'gone', 'del', null],
      ]);
    });
  });

  describe('tx: faults and bounds', () => {
    conformanceCase(ctx, 'a tx validated against a space since removed and re-added is unknown_space and applies nothing', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      await fx.addSpace(LEDGER);
      const va = await deposit(fx, 'a', 10);
      const staleOp = fx.parse(tx([], [add('a', -1), { op: 'put', space: 'ledger', key: 1, attributes: { amount: 1 } }]));
      const staleCheck = fx.parse(tx([{ space: 'ledger', key: 1, exists: false }], [add('a', -1)]));
      const gone = fx.parse(tx([], [add('a', -1), { op: 'put', space: 'ledger', key: 1, attributes: { amount: 1 } }]));
      await fx.run({ op: 'rm_space', space: 'ledger' });
      await expectFault(fx.session.execute(gone), 'unknown_space'); // no space of that name at all
      await fx.addSpace(LEDGER);
      await expectFault(fx.session.execute(staleOp), 'unknown_space');
      await expectFault(fx.session.execute(staleCheck), 'unknown_space');
      await expectAccount(fx, 'a', va, 10);
      await expectAbsent(fx, 1, 'ledger');
    });

    conformanceCase(ctx, 'a fault inside a tx (too_large, unknown_space) rejects the whole tx and changes nothing', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      const va = await deposit(fx, 'a', 10);
      const big = { op: 'put', space: 'accounts', key: 'b', attributes: { note: 'x'.repeat(200) } };
      const err = await expectFault(fx.run(tx([], [add('a', 1), big])), 'too_large');
      assert.equal(err.details.limit, 'valueBytesMax');
      await expectFault(fx.run(tx([], [add('a', 1), { op: 'put', space: 'nowhere', key: 'k', attributes: {} }])), 'unknown_space');
      await expectFault(fx.run(tx([{ space: 'nowhere', key: 'k', exists: true }], [add('a', 1)])), 'unknown_space');
      await expectAccount(fx, 'a', va, 10);
      await expectAbsent(fx, 'b');
      expectResult(await fx.run(put('c', 1)), wrote('c', va + 1, true));
    }, { limits: makeLimits({ valueBytesMax: 100 }) });

    conformanceCase(ctx, 'past txOpsMax (checks and operations together) a tx is too_large', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      const checks = Array.from({ length: 4 }, () => account('a', { exists: false }));
      const ops = Array.from({ length: 6 }, (_, i) => put(`k${i}`, i));
      const err = await expectFault(fx.run(tx([...checks, account('a', { exists: false })], ops)), 'too_large');
      assert.equal(err.details.limit, 'txOpsMax');
      await expectFault(fx.run(tx([], [...ops, ...ops])), 'too_large');
      await expectAbsent(fx, 'k0');
      const seq = txSeq(await fx.run(tx(checks, ops)));
      await expectAccount(fx, 'k5', seq, 5);
    }, { limits: makeLimits({ txOpsMax: 10 }) });

    conformanceCase(ctx, 'a malformed tx is bad_request: admin or nested operations, ids inside, misshapen checks', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      const malformed: Wire[] = [
        tx([], [{ op: 'add_space', schema: 'space s key k' }]),
        tx([], [{ op: 'rm_space', space: 'accounts' }]),
        tx([], [{ op: 'list_spaces' }]),
        tx([], [tx([], [])]),
        tx([], [{ ...put('a', 1), id: 7 }]),
        tx([], [{ ...put('a', 1), extra: true }]),
        tx([], [{ op: 'nonsense' }]),
        tx([account('a', {})], []),
        tx([account('a', { exists: true, version: 1 })], []),
        tx([account('a', { exists: 'yes' })], []),
        tx([account('a', { version: -1 })], []),
        tx([account('a', { exists: true, typo: 1 })], []),
        tx([{ key: 'a', exists: true } as unknown as Check], []),
        { op: 'tx', checks: {}, ops: [] },
        { op: 'tx', ops: 'put' },
        { op: 'tx', ops: [], extra: 1 },
        { op: 'tx', ops: [7] },
      ];
      for (const wire of malformed) {
        try {
          await expectFault(fx.run(wire), 'bad_request');
        } catch (err) {
          throw new Error(`${JSON.stringify(wire)}: ${(err as Error).message}`, { cause: err });
        }
      }
      await expectFault(fx.run(tx([account('a', { if: { nope: 1 } })], [])), 'unknown_attribute');
      await expectFault(fx.run(tx([], [{ op: 'mutate', space: 'accounts', key: 'a', mutations: [{ add: { note: 1 } }] }])), 'invalid_mutation');
      await expectAbsent(fx, 'a');
    });

    conformanceCase(ctx, 'a tx of 1,000 operations applies them all, in order, at one seq', async (fx) => {
      await fx.addSpace(ACCOUNTS);
      await deposit(fx, 'counter', 0);
      const ops = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? put(`k${i}`, i) : add('counter', 1)));
      const result = await fx.run(tx([account('counter', { exists: true }), account('k0', { exists: false })], ops));
      const seq = txSeq(result);
      assert.ok(result.ok && result.kind === 'tx');
      assert.equal(result.results.length, 1000);
      assert.ok(result.results.every((r) => r.version === seq));
      expectResult(result.results[999] as Result, wrote('counter', seq, false, { attributes: { balance: 500, note: '' } }));
      await expectAccount(fx, 'counter', seq, 500);
      await expectAccount(fx, 'k998', seq, 998);
    });
  });

}
