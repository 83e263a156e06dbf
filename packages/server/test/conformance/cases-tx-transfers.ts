// Proves a tx is serializable under contention (docs/architecture.md §4.1, docs/transactions.md): 16 sessions
// each make 200 random transfers between 10 accounts in the compare-and-swap style (read both
// accounts, then a tx that checks both versions and puts both new balances, retried on tx_failed).
// The total never changes, no balance goes negative, every successful tx has its own seq, and a
// read-only tx of every account, run between transfers, always sees the full total: its reads are
// one consistent state. The seed comes from SPACEKV_SEED when set and is printed on failure.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Result } from '@spacekv/core';
import type { Session } from '../../src/engine/session.js';
import { account, put, tx } from './cases-tx.js';
import { type Fixture, type SuiteContext, attributeOf, conformanceCase, describeResult, random, seedFromEnv, versionOf } from './fixture.js';

const SESSIONS = 16;
const TRANSFERS_PER_SESSION = 200;
const KEYS = Array.from({ length: 10 }, (_, i) => `acct${i}`);
const OPENING_BALANCE = 1000;
const TOTAL = KEYS.length * OPENING_BALANCE;
/** A read-only tx of every account after this many transfers of a session. */
const AUDIT_EVERY = 25;
/** Far more conflicts in a row than 16 sessions can cause, yet a bound: a livelock fails, not hangs. */
const ATTEMPTS_MAX = 500;
/**
 * The case's hang guard. It runs some 14,000 transactions (3,200 transfers and their retries): on
 * PostgreSQL on a busy 2-core machine that took 10-12 s, too near the usual 15 s guard; ATTEMPTS_MAX
 * is what catches a livelock.
 */
const CASE_TIMEOUT_MS = 60_000;

interface Tally {
  retries: number;
  readonly seqs: number[];
}

interface Account {
  readonly balance: number;
  readonly version: number;
}

async function readAccount(fx: Fixture, session: Session, key: string): Promise<Account> {
  const result = await fx.run({ op: 'get', space: 'accounts', key }, session);
  return { balance: attributeOf(result, 'balance') as number, version: versionOf(result) };
}

/** Move up to `wanted` from one account to another; retry while another transfer got there first. */
async function transfer(fx: Fixture, session: Session, from: string, to: string, wanted: number, tally: Tally): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const [a, b] = await Promise.all([readAccount(fx, session, from), readAccount(fx, session, to)]);
    const amount = Math.min(wanted, a.balance);
    const result = await fx.run(tx(
      [account(from, { version: a.version }), account(to, { version: b.version })],
      [put(from, a.balance - amount), put(to, b.balance + amount)],
    ), session);
    if (result.ok && result.kind === 'tx' && result.seq !== null) {
      tally.seqs.push(result.seq);
      return;
    }
    assert.ok(!result.ok && result.code === 'tx_failed', `a transfer answered ${describeResult(result)}`);
    assert.ok(result.failures.every((f) => f.at === 'check' && f.code === 'cmp_fail'), `only version checks may fail: ${describeResult(result)}`);
    tally.retries++;
  }
  assert.fail(`a transfer from ${from} to ${to} lost ${ATTEMPTS_MAX} races in a row`);
}

/** Read every account in one tx: one consistent state, so the balances add up to the total. */
async function audit(fx: Fixture, session: Session): Promise<void> {
  const result: Result = await fx.run(tx([], KEYS.map((key) => ({ op: 'get', space: 'accounts', key }))), session);
  assert.ok(result.ok && result.kind === 'tx', `the audit answered ${describeResult(result)}`);
  assert.equal(result.seq, null, 'a tx that only reads takes no seq');
  const balances = result.results.map((r) => attributeOf(r, 'balance') as number);
  assert.equal(balances.reduce((sum, n) => sum + n, 0), TOTAL, `an audit saw ${balances.join(', ')}`);
  assert.ok(balances.every((n) => n >= 0), `an audit saw a negative balance: ${balances.join(', ')}`);
}

async function runSession(fx: Fixture, session: Session, rand: () => number, tally: Tally): Promise<void> {
  const pick = (): string => KEYS[Math.floor(rand() * KEYS.length)] as string;
  for (let i = 0; i < TRANSFERS_PER_SESSION; i++) {
    const from = pick();
    let to = pick();
    while (to === from) to = pick();
    await transfer(fx, session, from, to, 1 + Math.floor(rand() * 200), tally);
    if (i % AUDIT_EVERY === 0) await audit(fx, session);
  }
}

export function transferCases(ctx: SuiteContext): void {
  describe('tx: concurrency', () => {
    conformanceCase(ctx, '16 sessions × 200 compare-and-swap transfers between 10 accounts keep the total and no balance negative', async (fx, t) => {
      const seed = seedFromEnv();
      try {
        await fx.addSpace('space accounts key id attributes int balance, string note');
        await fx.run(tx([], KEYS.map((key) => put(key, OPENING_BALANCE))));
        const tally: Tally = { retries: 0, seqs: [] };
        await Promise.all(Array.from({ length: SESSIONS }, (_, s) => runSession(fx, fx.engine.session(), random(seed + s), tally)));

        assert.equal(tally.seqs.length, SESSIONS * TRANSFERS_PER_SESSION);
        assert.equal(new Set(tally.seqs).size, tally.seqs.length, 'every successful tx has a seq of its own');
        const finals = await Promise.all(KEYS.map((key) => readAccount(fx, fx.session, key)));
        assert.equal(finals.reduce((sum, a) => sum + a.balance, 0), TOTAL);
        assert.ok(finals.every((a) => a.balance >= 0), `final balances: ${finals.map((a) => a.balance).join(', ')}`);
        await audit(fx, fx.session);
        t.diagnostic(`${tally.seqs.length} transfers committed, ${tally.retries} retried on tx_failed (seed ${seed})`);
      } catch (err) {
        throw new Error(`concurrent transfers failed; rerun with SPACEKV_SEED=${seed}: ${(err as Error).message}`, { cause: err });
      }
    }, { timeoutMs: CASE_TIMEOUT_MS });
  });
}
