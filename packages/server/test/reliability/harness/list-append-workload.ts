/**
 * The list-append workload for the Elle checker: each transaction is one `tx` of 1 to 4 micro-ops
 * on a few keys, appending a value unique per key (`mutate` append) or reading the list (`get`).
 * Lists are created empty first, since a `get` of an absent object fails its tx.
 */
import { HistoryRecorder } from '../checker/history.js';
import type { MicroOp, Txn } from '../checker/elle.js';
import { sleep } from '../../helpers/timeout.js';
import type { Rng } from './seed.js';
import type { TxClient } from './tx-client.js';

export const LIST_SCHEMA = (space: string): string => `space ${space} key k attributes list(int) l`;

export interface ListAppendOptions {
  readonly clients: readonly TxClient[];
  readonly space: string;
  readonly keys: readonly string[];
  readonly rng: Rng;
  readonly txnsPerClient: number;
}

export async function runListAppend(options: ListAppendOptions): Promise<readonly Txn[]> {
  const recorder = new HistoryRecorder<readonly MicroOp[], readonly MicroOp[]>();
  const nextValue = new Map<string, number>();
  const { space, rng } = options;
  await Promise.all(options.clients.map(async (client, process) => {
    for (let i = 0; i < options.txnsPerClient; i++) {
      const micro: MicroOp[] = Array.from({ length: 1 + rng.int(4) }, (): MicroOp => {
        const key = rng.pick(options.keys);
        if (rng.chance(0.5)) return ['r', key, null];
        const value = (nextValue.get(key) ?? 0) + 1;
        nextValue.set(key, value);
        return ['append', key, value];
      });
      const op = recorder.invoke(process, 'tx', micro);
      const done = await client.tx({
        ops: micro.map(([f, key, value]) => (f === 'r'
          ? { op: 'get', space, key }
          : { op: 'mutate', space, key, mutations: [{ append: { l: [value] } }] })),
      });
      if (done.outcome === 'ok') {
        recorder.ok(op, micro.map((m, j): MicroOp => (m[0] === 'r' ? ['r', m[1], listOf(done.results[j])] : m)));
        continue;
      }
      if (done.outcome === 'fail') recorder.fail(op);
      else recorder.info(op);
      await sleep(20 + rng.int(80));
    }
  }));
  return recorder.history();
}

function listOf(result: Readonly<Record<string, unknown>> | undefined): readonly number[] {
  const attributes = result?.attributes as { l?: unknown } | undefined;
  return Array.isArray(attributes?.l) ? attributes.l.map(Number) : [];
}
