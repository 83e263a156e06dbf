// Proves the change log (docs/architecture.md §4.6, store.ts ChangeLog) behaves the same on every store: every
// committed change is logged once, in seq order, with what changed, and failed writes are not; a
// tx's changes share its seq and a page never splits them; the log, its floor and named cursors
// survive a restart; retention removes only what its rule allows, never past the slowest cursor,
// and a read from a removed seq fails `compacted`; the TTL sweeper's `expire` deletes an expired
// object only at the version it read, and logs the deletion.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Change } from '@spacekv/core';
import { conformanceCase, expectFault, expectResult, type Fixture, sleep, type SuiteContext, writtenVersion } from './fixture.js';

/** Every change after `afterSeq`, page by page, checking each page holds whole seqs. */
async function readAll(fx: Fixture, afterSeq: number, limit: number): Promise<Change[]> {
  const all: Change[] = [];
  let after = afterSeq;
  for (;;) {
    const { changes, headSeq } = await fx.store.readChanges(after, limit);
    if (changes.length === 0) return all;
    const last = changes[changes.length - 1] as Change;
    const next = await fx.store.readChanges(last.seq, limit);
    assert.ok(!next.changes.some((c) => c.seq === last.seq), `a page split seq ${last.seq}`);
    all.push(...changes);
    after = last.seq;
    if (after === headSeq) return all;
  }
}

function summary(changes: readonly Change[]): unknown[] {
  return changes.map((c) => [c.op, c.space, c.key, c.attributesJson === null ? null : JSON.parse(c.attributesJson)]);
}

export function changeLogCases(ctx: SuiteContext): void {
  describe('change log', () => {
    conformanceCase(ctx, 'every committed change is logged once, in seq order, and failed writes are not', async (fx) => {
      const before = Date.now();
      const created = await fx.addSpace('space s key k attributes int n');
      const results = await Promise.all([
        fx.run({ op: 'put', space: 's', key: 'a', attributes: { n: 1 } }),
        fx.run({ op: 'put_if_not_exist', space: 's', key: 'a', attributes: { n: 9 } }), // exists: no change
        fx.run({ op: 'mutate', space: 's', key: 'a', mutations: [{ add: { n: 2 } }] }),
        fx.run({ op: 'tx', checks: [], ops: [{ op: 'put', space: 's', key: 'b', attributes: { n: 5 } }, { op: 'del', space: 's', key: 'a' }] }),
        fx.run({ op: 'del', space: 's', key: 'zz' }), // not_found: no change
      ]);
      const changes = await readAll(fx, 0, 100);
      assert.deepEqual(summary(changes), [
        ['add_space', 's', '', null],
        ['put', 's', 'a', { n: 1 }],
        ['mutate', 's', 'a', { n: 3 }],
        ['put', 's', 'b', { n: 5 }],
        ['del', 's', 'a', null],
      ]);
      assert.equal(changes[0]?.seq, created);
      assert.equal(changes[1]?.seq, writtenVersion(results[0] as never));
      assert.equal(changes[3]?.seq, changes[4]?.seq, 'a tx logs its changes at its one seq');
      for (const c of changes) assert.ok(c.committedAtMs >= before - 1000 && c.committedAtMs <= Date.now() + 1000, 'a change carries its commit time');
      const { headSeq } = await fx.store.readChanges(0, 1);
      assert.equal(headSeq, changes[4]?.seq);
    });

    conformanceCase(ctx, 'a page holds whole seqs: a tx larger than the page comes whole, and the next page starts after it', async (fx) => {
      await fx.addSpace('space s key k attributes int n');
      const ops = Array.from({ length: 5 }, (_, i) => ({ op: 'put', space: 's', key: `k${i}`, attributes: { n: i } }));
      await fx.run({ op: 'tx', checks: [], ops });
      await fx.run({ op: 'put', space: 's', key: 'after', attributes: { n: 9 } });
      const first = await fx.store.readChanges(1, 2); // after add_space
      assert.equal(first.changes.length, 5);
      assert.equal(new Set(first.changes.map((c) => c.seq)).size, 1);
      const second = await fx.store.readChanges(first.changes[0]?.seq as number, 2);
      assert.deepEqual(summary(second.changes), [['put', 's', 'after', { n: 9 }]]);
      const all = await readAll(fx, 0, 3);
      assert.equal(all.length, 7);
    });

    conformanceCase(ctx, 'the log, its floor and cursors survive a restart', async (fx) => {
      await fx.addSpace('space s key k attributes int n');
      for (let i = 0; i < 4; i++) await fx.run({ op: 'put', space: 's', key: 'a', attributes: { n: i } });
      assert.equal(await fx.store.readCursor('relay'), 0, 'a cursor never saved reads 0');
      await fx.store.saveCursor('relay', 3);
      await fx.store.pruneChanges({ keepSeqs: 3, throughSeqMax: 3 }, 100);
      await fx.reopen();
      assert.equal(await fx.store.readCursor('relay'), 3);
      await expectFault(fx.store.readChanges(0, 10), 'compacted');
      assert.deepEqual((await readAll(fx, 2, 10)).map((c) => c.seq), [3, 4, 5]);
    });

    conformanceCase(ctx, 'retention removes what its rules allow, never past throughSeqMax; reads from a removed seq fail compacted', async (fx) => {
      await fx.addSpace('space s key k attributes int n');
      for (let i = 0; i < 9; i++) await fx.run({ op: 'put', space: 's', key: `k${i % 3}`, attributes: { n: i } });
      // 10 seqs. Keep the newest 4, but the slowest cursor is at 3: only seqs 1..3 may go.
      assert.deepEqual(await fx.store.pruneChanges({ keepSeqs: 4, throughSeqMax: 3 }, 100), { removed: 3, floorSeq: 3 });
      await expectFault(fx.store.readChanges(2, 10), 'compacted');
      assert.equal((await readAll(fx, 3, 100)).length, 7);
      // In bounded steps: at most the seqs of 2 rows per call.
      assert.deepEqual(await fx.store.pruneChanges({ keepSeqs: 4, throughSeqMax: 10 }, 2), { removed: 2, floorSeq: 5 });
      assert.deepEqual(await fx.store.pruneChanges({ keepSeqs: 4, throughSeqMax: 10 }, 2), { removed: 1, floorSeq: 6 });
      assert.deepEqual(await fx.store.pruneChanges({ keepSeqs: 4, throughSeqMax: 10 }, 2), { removed: 0, floorSeq: 6 });
      // By age: nothing is older than a minute ago; everything is older than a moment from now.
      assert.equal((await fx.store.pruneChanges({ committedBeforeMs: Date.now() - 60_000, throughSeqMax: 10 }, 100)).removed, 0);
      await sleep(5);
      assert.deepEqual(await fx.store.pruneChanges({ committedBeforeMs: Date.now(), throughSeqMax: 10 }, 100), { removed: 4, floorSeq: 10 });
      assert.deepEqual((await fx.store.readChanges(10, 10)).changes, []);
      // New writes are logged after the floor as usual.
      await fx.run({ op: 'put', space: 's', key: 'new', attributes: { n: 1 } });
      assert.deepEqual((await fx.store.readChanges(10, 10)).changes.map((c) => c.seq), [11]);
    });

    conformanceCase(ctx, 'expire deletes an expired object at the version the sweeper read, logs it, and spares a rewrite', async (fx) => {
      await fx.addSpace('space s key k attributes int n');
      // Asked as of a moment before the puts, so a slow machine cannot make them expire first.
      const beforePuts = Date.now();
      await fx.run({ op: 'put', space: 's', key: 'a', attributes: { n: 1 }, expire_in: 0.05 });
      const vb = writtenVersion(await fx.run({ op: 'put', space: 's', key: 'b', attributes: { n: 2 }, expire_in: 0.05 }));
      await fx.run({ op: 'put', space: 's', key: 'forever', attributes: { n: 3 } });
      assert.deepEqual(await fx.store.expiredObjects(beforePuts, 10), [], 'nothing has expired yet');
      await sleep(120);
      const expired = await fx.store.expiredObjects(Date.now(), 10);
      assert.deepEqual(expired.map((e) => e.key).sort(), ['a', 'b']);
      assert.deepEqual(await fx.store.expiredObjects(Date.now(), 1).then((e) => e.length), 1, 'bounded by limit');
      // 'b' is rewritten after the sweeper read it: its expire must not delete the new object.
      const vb2 = writtenVersion(await fx.run({ op: 'put', space: 's', key: 'b', attributes: { n: 7 } }));
      const [ea, eb] = await Promise.all(expired.map((e) => fx.session.execute({ op: 'expire', space: e.space, key: e.key, version: e.version })));
      const byKey = new Map(expired.map((e, i) => [e.key, i === 0 ? ea : eb]));
      expectResult(byKey.get('a') as never, { ok: true, kind: 'deleted', key: 'a' });
      expectResult(byKey.get('b') as never, { ok: false, code: 'cmp_fail', version: vb2 });
      assert.ok(vb2 > vb);
      expectResult(await fx.run({ op: 'get', space: 's', key: 'b' }), { ok: true, kind: 'object', key: 'b', version: vb2, attributes: { n: 7 } });
      assert.deepEqual(await fx.store.expiredObjects(Date.now(), 10), []);
      const log = await readAll(fx, 0, 100);
      assert.deepEqual(summary(log.slice(-1)), [['expire', 's', 'a', null]]);
    });

    conformanceCase(ctx, 'a lease is granted when nobody holds it', async (fx) => {
      const lease = await fx.store.acquireLease('relay');
      assert.ok(lease, 'granted');
      assert.equal(lease.signal.aborted, false);
      await lease.release();
    });
  });
}
