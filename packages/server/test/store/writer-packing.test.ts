// A batch crosses to the writer thread and back packed (src/store/sqlite/member-packing.ts,
// outcome-packing.ts): its members must arrive as sent and its outcomes return exactly as the writer
// made them, plain puts and writes as columns, everything else whole, in member order. Checked
// with a real batch of every kind of member, run by the writer's executor, across a structured
// clone as postMessage makes it.
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
import { packMembers, unpackMembers } from '../../src/store/sqlite/member-packing.js';
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

function clone<T>(value: T): T {
  return deserialize(serialize(value)) as T;
}

/** A member as the writer reads it: a property set to undefined is as good as absent. */
function definedOnly(member: BatchMember): BatchMember {
  const op = Object.fromEntries(Object.entries(member.op).filter(([, value]) => value !== undefined));
  return { ...member, op: op as BatchMember['op'] };
}

describe('packed batches', () => {
  test('members and outcomes of every kind cross unchanged, plain puts and writes as columns', () => {
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
        member({ op: 'put', key: 'd', attributes: { n: 1 }, expire_in: null }),
        member({ op: 'cond_put', key: 'd', attributes: { n: 2 }, if: { n: 1 } }),
        { op: { op: 'put', space: 'p', key: 'e', attributes: { s: 'v' } } },
      ];
      const sentMembers = clone(packMembers(batch));
      assert.equal([...sentMembers.ops].filter((code) => code !== 0).length, 8, 'the puts, put_if_not_exist and get_and_put travel as columns');
      assert.deepEqual(sentMembers.spaceNames, ['p', 'gone']);
      const arrived = unpackMembers(sentMembers);
      assert.deepEqual(arrived.map(definedOnly), batch.map(definedOnly));

      const outcomes = store.run(arrived);
      const sentOutcomes = clone(packOutcomes(arrived, outcomes));
      assert.deepEqual(unpackOutcomes(batch, sentOutcomes), outcomes);
      const plain = [...sentOutcomes.seqs].filter((seq) => seq !== 0).length;
      assert.equal(plain, 7, 'the puts and the cond_put that wrote travel as columns');
      assert.equal(sentOutcomes.whole.length, batch.length - plain);
    } finally {
      store.close();
    }
  });

  test('put attributes cross as shapes and values: names in their order, values of every type as they were', () => {
    const schema = parseSchemaDsl('space q key k attributes int n, string s, document d, list(int) l', DEFAULT_LIMITS);
    const space = new Space(schema, 1);
    const member = (op: Record<string, unknown>): BatchMember => ({ op: parseOperation({ space: 'q', ...op }, () => space, DEFAULT_LIMITS) as WriteOp, spaceCreatedSeq: 1 });
    const wide = 2n ** 63n - 1n;
    const batch: BatchMember[] = [
      member({ op: 'put', key: 'a', attributes: { n: 1, s: 'x' } }),
      member({ op: 'put', key: 'b', attributes: { n: 2, s: 'y' } }),
      member({ op: 'put', key: 'c', attributes: { s: 'z', n: 3 } }), // the same names in another order: a shape of its own
      member({ op: 'put', key: 'd', attributes: { d: { deep: [1, { x: null }] }, l: [4, 5], 'd.deep': 7 } }),
      member({ op: 'put', key: 'e', attributes: { n: 4, s: 'w' } }), // back to the first shape, after another
      { op: { op: 'put', space: 'q', key: 'f', attributes: { n: wide } }, spaceCreatedSeq: 1 },
      { op: { op: 'put', space: 'q', key: 'g', attributes: JSON.parse('{"__proto__": 1, "n": 5}') }, spaceCreatedSeq: 1 },
      { op: { op: 'put', space: 'q', key: 'h', attributes: { 'a\u0000b': 1 } }, spaceCreatedSeq: 1 },
      { op: { op: 'put', space: 'q', key: 'i', attributes: { a: 1, b: 2 } }, spaceCreatedSeq: 1 }, // joined, the same text as the names above
    ];
    const sent = clone(packMembers(batch));
    assert.equal([...sent.ops].filter((code) => code !== 0).length, batch.length, 'every member is a plain put');
    assert.deepEqual(sent.attributes.map((a, i) => (a === undefined ? null : i)).filter((i) => i !== null), [6], 'only the attributes named __proto__ travel as an object');
    assert.equal(sent.shapes.length, 6, 'one shape per distinct list of names, the repeated ones stored once');
    const arrived = unpackMembers(sent);
    for (const [i, m] of arrived.entries()) {
      const given = (batch[i] as BatchMember).op as { attributes: Record<string, unknown> };
      const got = m.op as { attributes: Record<string, unknown> };
      assert.deepEqual(got.attributes, given.attributes, `member ${i}`);
      assert.deepEqual(Object.keys(got.attributes), Object.keys(given.attributes), `member ${i}: the names keep their order`);
      assert.equal(Object.getPrototypeOf(got.attributes), Object.prototype, `member ${i}: a plain object`);
    }
    assert.equal(typeof (arrived[5]?.op as { attributes: Record<string, unknown> }).attributes.n, 'bigint');
    assert.ok(Object.hasOwn((arrived[6]?.op as { attributes: Record<string, unknown> }).attributes, '__proto__'), '__proto__ is an attribute, not the prototype');
  });
});
