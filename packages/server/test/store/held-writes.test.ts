// The writer holds a batch's object writes in memory and writes them together at the end of the
// batch (src/store/sqlite/catalog.ts ObjectTable). Whatever a batch holds, it must answer and
// store exactly what the same members give one batch each: checked on random batches that write,
// overwrite, delete and read a few keys of an indexed and an int-keyed space, mixed with txs (which
// write straight through, in savepoints) and members that fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_LIMITS, Space, type WriteOp, parseOperation, parseSchemaDsl } from '@spacekv/core';
import { BatchExecutor } from '../../src/store/sqlite/batch-executor.js';
import { ChangeLogWriter } from '../../src/store/sqlite/change-log-writer.js';
import { migrate } from '../../src/store/sqlite/layout.js';
import { configureWriter } from '../../src/store/sqlite/pragmas.js';
import type { BatchMember, MemberOutcome } from '../../src/store/store.js';

interface Store {
  readonly run: BatchExecutor['run'];
  /** Every row of the tables a write touches, in key order. */
  readonly rows: () => unknown;
  readonly close: () => void;
}

function store(): Store {
  const dir = mkdtempSync(join(tmpdir(), 'spacekv-held-'));
  const db = new Database(join(dir, 'data.db'));
  configureWriter(db);
  migrate(db);
  const batches = new BatchExecutor(db, DEFAULT_LIMITS, new ChangeLogWriter(db));
  const objects = db.prepare('SELECT space_id, key, version, expires_at, attrs FROM objects ORDER BY space_id, key').raw(true);
  const entries = db.prepare('SELECT space_id, attr, value, key, expires_at FROM index_entries ORDER BY space_id, attr, value, key').raw(true);
  const changes = db.prepare('SELECT seq, idx, space, key, op, attrs, expires_at FROM changes ORDER BY seq, idx').raw(true);
  return {
    run: (members) => batches.run(members),
    rows: () => ({ objects: objects.all(), entries: entries.all(), changes: changes.all() }),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small deterministic generator (xorshift), so a failure names the seed that found it. */
function random(seed: number): (n: number) => number {
  let x = seed || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const SCHEMAS = ['space p key k attributes int n, string s index n', 'space q key int k attributes int n'];

function members(pick: (n: number) => number, spaces: Record<string, Space>, count: number): BatchMember[] {
  const keys: Record<string, readonly (string | number)[]> = { p: ['a', 'b', 'c'], q: [1, 2, 3] };
  const list: BatchMember[] = [];
  const member = (space: string, op: Record<string, unknown>): BatchMember => {
    const parsed = parseOperation({ space, ...op }, (name) => spaces[name], DEFAULT_LIMITS) as WriteOp;
    return { op: parsed, spaceCreatedSeq: (spaces[space] as Space).createdSeq };
  };
  for (let i = 0; i < count; i++) {
    const space = pick(2) === 0 ? 'p' : 'q';
    const key = (keys[space] as (string | number)[])[pick(3)];
    const attributes = { n: pick(4), ...(space === 'p' ? { s: `v${pick(3)}` } : {}) };
    switch (pick(9)) {
      case 0:
      case 1:
        list.push(member(space, { op: 'put', key, attributes }));
        break;
      case 2:
        list.push(member(space, { op: 'put', key, attributes, expire_in: 60 }));
        break;
      case 3:
        list.push(member(space, { op: 'put_if_not_exist', key, attributes }));
        break;
      case 4:
        list.push(member(space, { op: 'get_and_put', key, attributes }));
        break;
      case 5:
        list.push(member(space, { op: 'del', key }));
        break;
      case 6:
        list.push(member(space, { op: 'mutate', key, mutations: [{ add: { n: 1 } }] }));
        break;
      case 7:
        // A tx that reads what the held writes before it made, writes, and sometimes fails (rolled back).
        list.push({
          op: parseOperation({
            op: 'tx',
            checks: pick(3) === 0 ? [{ space, key, exists: true }] : [],
            ops: [{ space, op: 'get', key }, { space, op: 'put', key, attributes }, { space, op: 'put_if_not_exist', key: (keys[space] as (string | number)[])[pick(3)], attributes }],
          }, (name) => spaces[name], DEFAULT_LIMITS) as WriteOp,
        });
        break;
      default:
        list.push(member(space, { op: 'cond_put', key, attributes, if: { n: pick(4) } }));
    }
  }
  return list;
}

test('a batch of held writes answers and stores what its members do one batch each', (t) => {
  t.mock.method(Date, 'now', () => 1_800_000_000_000); // both stores commit and expire at the same time
  for (let seed = 1; seed <= 40; seed++) {
    const pick = random(seed * 7919);
    const held = store();
    const alone = store();
    try {
      const spaces: Record<string, Space> = {};
      for (const dsl of SCHEMAS) {
        const schema = parseSchemaDsl(dsl, DEFAULT_LIMITS);
        const [a] = held.run([{ op: { op: 'add_space', schema } }]);
        alone.run([{ op: { op: 'add_space', schema } }]);
        assert.ok(a && 'result' in a && a.result.ok && a.result.kind === 'space');
        spaces[schema.name] = new Space(a.result.schema, a.result.createdSeq);
      }
      for (let round = 0; round < 4; round++) {
        const batch = members(pick, spaces, 1 + pick(24));
        const together = held.run(batch);
        const oneByOne = batch.map((member) => alone.run([member])[0] as MemberOutcome);
        assert.deepEqual(together, oneByOne, `seed ${seed}, round ${round}`);
      }
      assert.deepEqual(held.rows(), alone.rows(), `seed ${seed}: the tables`);
    } finally {
      held.close();
      alone.close();
    }
  }
});
