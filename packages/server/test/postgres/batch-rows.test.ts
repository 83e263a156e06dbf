// Proves the PostgreSQL store writes each object row from the change that logged it (batch.ts
// INSERT_OBJECTS_SQL: a row names its change and takes its text from the change log row, so an
// object's text is sent once). One batch mixes what could pair a row with the wrong change: the same key in two
// spaces, a tx that writes a key a later member writes again, a key put then deleted, a key deleted
// then put again, a new key and a member that fails. Every object row must then be the state of the
// last change of its key, at that change's seq, and a failed member must leave its key as it was.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS, type Key, type WriteOp, parseSchemaDsl } from '@spacekv/core';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { BatchMember, MemberOutcome } from '../../src/store/store.js';
import { dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';

const missing = await postgresMissing();
const schema = uniqueSchema('batchrows');
after(async () => {
  if (!missing) await dropSchema(schema);
});

function outcomeOk(outcome: MemberOutcome | undefined): boolean {
  return outcome !== undefined && 'result' in outcome && outcome.result.ok;
}

test('one batch writes every object row as the last change of its key logged it', { skip: missing }, async () => {
  const store = new PostgresStore(storeUrl(schema), DEFAULT_LIMITS, { poolSize: 2 });
  await store.open();
  try {
    const seqs = new Map<string, number>();
    for (const name of ['a', 'b']) {
      const [added] = await store.commit([{ op: { op: 'add_space', schema: parseSchemaDsl(`space ${name} key k attributes string v, int n`, DEFAULT_LIMITS) } as WriteOp }]);
      assert.ok(added && 'result' in added, JSON.stringify(added));
      seqs.set(name, (added.changes[0] as { seq: number }).seq);
    }
    const member = (op: Record<string, unknown>): BatchMember => {
      const space = (op.space ?? 'a') as string;
      return { op: { space, ...op } as unknown as WriteOp, spaceCreatedSeq: seqs.get(space) as number };
    };
    const seeded = await store.commit([member({ op: 'put', key: 'kept', attributes: { v: 'old' } }), member({ op: 'put', key: 'reborn', attributes: { v: 'old' } })]);
    assert.ok(seeded.every(outcomeOk), JSON.stringify(seeded));
    const keptBefore = store.get('a', 'kept', Date.now());

    const outcomes = await store.commit([
      member({ op: 'put', key: 'both', attributes: { v: 'in a' } }),
      member({ op: 'put', space: 'b', key: 'both', attributes: { v: 'in b' } }),
      member({ op: 'tx', checks: [], ops: [
        { op: 'put', space: 'a', key: 'txed', attributes: { v: 'from tx' }, spaceCreatedSeq: seqs.get('a') },
        { op: 'put', space: 'a', key: 'tx-only', attributes: { v: 'tx only' }, spaceCreatedSeq: seqs.get('a') },
      ] }),
      member({ op: 'put', key: 'txed', attributes: { n: 2 } }),
      member({ op: 'put', key: 'gone', attributes: { v: 'briefly' } }),
      member({ op: 'del', key: 'gone' }),
      member({ op: 'del', key: 'reborn' }),
      member({ op: 'put', key: 'reborn', attributes: { v: 'again' } }),
      member({ op: 'put_if_not_exist', key: 'kept', attributes: { v: 'must not land' } }),
    ]);
    assert.deepEqual(outcomes.map(outcomeOk), [true, true, true, true, true, true, true, true, false], JSON.stringify(outcomes));

    const expected: [string, Key, Record<string, unknown> | null][] = [
      ['a', 'both', { v: 'in a', n: 0 }],
      ['b', 'both', { v: 'in b', n: 0 }],
      ['a', 'txed', { v: 'from tx', n: 2 }],
      ['a', 'tx-only', { v: 'tx only', n: 0 }],
      ['a', 'gone', null],
      ['a', 'reborn', { v: 'again', n: 0 }],
    ];
    const { changes } = await store.readChanges(0, 1000);
    for (const [space, key, attributes] of expected) {
      const stored = await store.get(space, key, Date.now());
      const last = changes.filter((c) => c.space === space && c.key === key).at(-1);
      assert.ok(last, `${space}/${key} was logged`);
      if (attributes === null) {
        assert.equal(stored, null, `${space}/${key} is deleted`);
        continue;
      }
      assert.ok(stored, `${space}/${key} is stored`);
      assert.deepEqual(JSON.parse(stored.attributesJson), attributes, `${space}/${key}'s attributes (unset ones at their defaults)`);
      assert.equal(stored.attributesJson, last.attributesJson, `${space}/${key}'s row is what its last change logged`);
      assert.equal(stored.version, last.seq, `${space}/${key}'s row is at its last change's seq`);
    }
    assert.deepEqual(await store.get('a', 'kept', Date.now()), await keptBefore, 'the failed member left its key as it was');
  } finally {
    await store.close();
  }
});
