// Proves the list-append checker (checker/elle.ts) finds each anomaly class in a hand-written
// history that has it, names the class Adya gives it (G0, G1a, G1b, G1c, G-single, G2) or the read
// fault it is (incompatible order, duplicates, garbage, stale read), and accepts serial and
// concurrent histories that have none, including ones with failed and unknown transactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Outcome } from './history.js';
import { type AnomalyType, type MicroOp, type Txn, checkListAppend } from './elle.js';

let index = 0;
/** A transaction that ran from `from` to `to`; `ops` are as completed (reads with what they saw). */
function txn(ops: readonly MicroOp[], from: number, to: number, outcome: Outcome = 'ok'): Txn {
  const input = ops.map((m): MicroOp => (m[0] === 'r' ? ['r', m[1], null] : m));
  const base: Txn = { index: index++, process: 0, key: 'tx', input, invokedAt: BigInt(from), outcome };
  return outcome === 'ok' ? { ...base, output: ops, completedAt: BigInt(to) } : outcome === 'fail' ? { ...base, completedAt: BigInt(to) } : base;
}
const types = (history: readonly Txn[]): AnomalyType[] => [...new Set(checkListAppend(history).anomalies.map((a) => a.type))].sort();

test('serial appends and reads have no anomaly', () => {
  const verdict = checkListAppend([
    txn([['append', 'x', 1], ['append', 'y', 1]], 0, 1),
    txn([['r', 'x', [1]], ['append', 'x', 2]], 2, 3),
    txn([['r', 'x', [1, 2]], ['r', 'y', [1]], ['append', 'y', 2], ['r', 'y', [1, 2]]], 4, 5),
  ]);
  assert.deepEqual(verdict.anomalies, []);
  assert.equal(verdict.valid, true);
  assert.ok(verdict.edges >= 3, 'ww, wr and rw edges were inferred');
});

test('concurrent transactions, a failed one never seen and an unknown one seen, are fine', () => {
  assert.deepEqual(types([
    txn([['append', 'x', 1]], 0, 10),
    txn([['append', 'x', 2]], 1, 9),
    txn([['append', 'x', 3]], 2, 3, 'fail'),
    txn([['append', 'x', 4]], 2, 0, 'info'),
    txn([['r', 'x', [2, 1, 4]]], 11, 12),
  ]), []);
});

test('G0: two transactions ordered differently on two keys (write cycle)', () => {
  assert.deepEqual(types([
    txn([['append', 'x', 1], ['append', 'y', 1]], 0, 10),
    txn([['append', 'x', 2], ['append', 'y', 2]], 0, 10),
    txn([['r', 'x', [1, 2]], ['r', 'y', [2, 1]]], 11, 12),
  ]), ['G0']);
});

test('G1a: a value of a failed transaction is read (aborted read)', () => {
  assert.deepEqual(types([txn([['append', 'x', 1]], 0, 1, 'fail'), txn([['r', 'x', [1]]], 2, 3)]), ['G1a']);
});

test('G1b: a value another transaction later overwrote within itself is read (intermediate read)', () => {
  assert.deepEqual(types([
    txn([['append', 'x', 1], ['append', 'x', 2]], 0, 10),
    txn([['r', 'x', [1]]], 1, 9),
  ]), ['G1b']);
});

test('G1c: each of two transactions reads the other\'s write (circular information flow)', () => {
  assert.deepEqual(types([
    txn([['append', 'x', 1], ['r', 'y', [1]]], 0, 10),
    txn([['append', 'y', 1], ['r', 'x', [1]]], 0, 10),
  ]), ['G1c']);
});

test('G-single: a read sees one write of a transaction and misses another (read skew)', () => {
  assert.deepEqual(types([
    txn([['append', 'x', 1], ['append', 'y', 1]], 0, 10),
    txn([['r', 'x', []], ['r', 'y', [1]]], 0, 10),
    txn([['r', 'x', [1]]], 11, 12),
  ]), ['G-single']);
});

test('G-single: a lost update (both read the empty list and append; the second did not see the first)', () => {
  assert.deepEqual(types([
    txn([['r', 'x', []], ['append', 'x', 1]], 0, 10),
    txn([['r', 'x', []], ['append', 'x', 2]], 0, 10),
    txn([['r', 'x', [1, 2]]], 11, 12),
  ]), ['G-single']);
});

test('G2: each reads the other\'s key before the other writes it (write skew)', () => {
  assert.deepEqual(types([
    txn([['r', 'x', []], ['append', 'y', 1]], 0, 10),
    txn([['r', 'y', []], ['append', 'x', 1]], 0, 10),
    txn([['r', 'x', [1]], ['r', 'y', [1]]], 11, 12),
  ]), ['G2']);
});

test('reads that disagree on the order, repeat a value, or show a value nobody appended', () => {
  assert.deepEqual(types([
    txn([['append', 'x', 1]], 0, 10), txn([['append', 'x', 2]], 0, 10),
    txn([['r', 'x', [1, 2]]], 11, 12), txn([['r', 'x', [2, 1]]], 11, 12),
  ]), ['incompatible-order']);
  assert.deepEqual(types([txn([['append', 'x', 1]], 0, 1), txn([['r', 'x', [1, 1]]], 2, 3)]), ['duplicate-elements']);
  assert.deepEqual(types([txn([['r', 'x', [7]]], 0, 1)]), ['garbage-read']);
});

test('stale read: a read that begins after an acknowledged append must include it', () => {
  assert.deepEqual(types([txn([['append', 'x', 1]], 0, 1), txn([['append', 'x', 2]], 2, 3), txn([['r', 'x', [1]]], 4, 5)]), ['stale-read']);
});
