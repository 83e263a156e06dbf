// Proves the engine's commit hook: listeners learn of every change once, after it is durable, in seq
// order, with what changed (space, key, op, the new attributes or null for a deletion), and a
// listener that throws neither fails the writers nor stops other listeners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Change, DEFAULT_LIMITS, parseSchemaDsl } from '@spacekv/core';
import { Engine, SqliteStore } from '../src/index.js';
import { makeTempDir, removeDir } from './helpers/temp.js';

test('committed changes reach listeners once, in seq order, after the writes are durable', async () => {
  const dir = makeTempDir('commit-hook');
  const engine = new Engine({ store: new SqliteStore(dir, DEFAULT_LIMITS), limits: DEFAULT_LIMITS, logger: { error: () => {} } });
  await engine.start();
  try {
    const seen: Change[] = [];
    const failures: string[] = [];
    engine.onCommit(() => {
      throw new Error('a broken listener');
    });
    const unsubscribe = engine.onCommit((changes) => seen.push(...changes));
    const session = engine.session();
    await session.execute({ op: 'add_space', schema: parseSchemaDsl('space s key k attributes int n', DEFAULT_LIMITS) });
    const writes = await Promise.all([
      session.execute({ op: 'put', space: 's', key: 'a', attributes: { n: 1 } }),
      session.execute({ op: 'put_if_not_exist', space: 's', key: 'a', attributes: { n: 9 } }), // fails: no change
      session.execute({ op: 'mutate', space: 's', key: 'a', mutations: [{ op: 'add', attribute: 'n', operand: 2 }] }),
      session.execute({ op: 'del', space: 's', key: 'a' }),
    ]);
    for (const w of writes) if (!w.ok && w.code !== 'exists') failures.push(w.code);
    assert.deepEqual(failures, []);
    assert.deepEqual(seen.map((c) => [c.op, c.key, c.attributesJson]), [
      ['add_space', '', null],
      ['put', 'a', '{"n":1}'],
      ['mutate', 'a', '{"n":3}'],
      ['del', 'a', null],
    ]);
    const seqs = seen.map((c) => c.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in seq order');
    assert.equal(new Set(seqs).size, seqs.length, 'each change once');
    unsubscribe();
    await session.execute({ op: 'put', space: 's', key: 'b', attributes: { n: 1 } });
    assert.equal(seen.length, 4, 'an unsubscribed listener hears nothing more');
  } finally {
    await engine.close();
    removeDir(dir);
  }
});
