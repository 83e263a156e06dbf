// The writer thread's packed outcomes (src/store/sqlite/outcome-packing.ts) must come back as exactly
// the outcomes the batch produced: plain writes rebuilt from their members and columns, everything
// else carried whole, in member order. Checked against a real batch of every kind of member run by
// the writer's executor, and across a structured clone, as postMessage sends it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_LIMITS, Space, type WriteOp, parseOperation, parseSchemaDsl } from '@spacekv/core';
import { BatchExecutor } from '../../src/store/sqlite/batch-executor.js';
import { ChangeLogWriter } from '../../src/store/sqlite/change-log-writer.js';
import { migrate } from '../../src/store/sqlite/layout.js';
import { packOutcomes, unpackOutcomes } from '../../src/store/sqlite/outcome-packing.js';
import { configureWriter } from '../../src/store/sqlite/pragmas.js';
import type { BatchMember } from '../../src/store/store.js';

function executor(): { run: BatchExecutor['run']; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'spacekv-packing-'));
  const db = new Database(join(dir, 'data.db'));
  configureWriter(db);
  migrate(db);
  const batches = new BatchExecutor(db, DEFAULT_LIMITS, new ChangeLogWriter(db));
  return { run: (members) => batches.run(members), close: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

describe('packed batch outcomes', () => {
  test('unpack the outcomes of every kind of member exactly, and carry plain writes as columns', () => {
    const store = executor();
    try {
      const [created] = store.run([{ op: { op: 'add_space', schema: parseSchemaDsl('space p key k attributes int n, string s', DEFAULT_LIMITS) } }]);
      assert.ok(created && 'result' in created && created.result.ok && created.result.kind === 'space');
      const space = new Space(created.result.schema, created.result.createdSeq);
      const spaceCreatedSeq = space.createdSeq;
      // As a front makes them: from the wire form, against the space.
      const member = (op: Record<string, unknown>): BatchMember => ({ op: parseOperation({ space: 'p', ...op }, () => space, DEFAULT_LIMITS) as WriteOp, spaceCreatedSeq });
      const batch: BatchMember[] = [
        member({ op: 'put', key: 'a', attributes: { n: 1, s: 'x' } }),
        member({ op: 'put', key: 'b', attributes: { n: 2 }, expire_in: 60 }),
        member({ op: 'put', key: 'a', attributes: { s: 'y' } }),
        member({ op: 'put_if_not_exist', key: 'a', attributes: { n: 3 } }),
        member({ op: 'mutate', key: 'a', mutations: [{ add: { n: 5 } }] }),
        member({ op: 'get_and_put', key: 'b', attributes: { s: 'z' } }),
        member({ op: 'del', key: 'b' }),
        member({ op: 'del', key: 'missing' }),
        { op: { op: 'tx', checks: [], ops: [{ op: 'get', space: 'p', key: 'a', spaceCreatedSeq }] } },
        member({ op: 'put', key: 'c', attributes: { s: 'w' } }),
        { op: { op: 'put', space: 'gone', key: 'a', attributes: {} }, spaceCreatedSeq: 999 },
      ];
      const outcomes = store.run(batch);
      const packed = deserialize(serialize(packOutcomes(batch, outcomes)));
      assert.deepEqual(unpackOutcomes(batch, packed), outcomes);
      const plain = [...packed.seqs].filter((seq) => seq !== 0).length;
      assert.equal(plain, 4, 'the three puts that wrote and the last one travel as columns');
      assert.equal(packed.whole.length, batch.length - plain);
    } finally {
      store.close();
    }
  });
});
