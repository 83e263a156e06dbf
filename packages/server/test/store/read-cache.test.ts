// Proves the embedded store's read cache (src/store/sqlite/object-cache.ts) never answers a point
// read with anything but what the data file holds: random writes of every kind, tx, deletions,
// expiry and a space removed and created again, each followed by reads through the engine compared
// with a fresh read of the file, with a cache so small that it evicts all the time. And that the
// cache stays within readCacheBytesMax, forgetting the least recently used first.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Key, type StoredObject, makeLimits } from '@spacekv/core';
import { ObjectCache } from '../../src/store/sqlite/object-cache.js';
import { SqliteReader } from '../../src/store/sqlite/reader.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { MemberOutcome } from '../../src/store/store.js';
import { Fixture, type Wire } from '../conformance/fixture.js';

const SPACE = 'space c key k attributes int n, string s';
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];

function object(version: number, text: string): StoredObject {
  return { version, expiresAt: null, attributesJson: text };
}

function written(space: string, key: Key, seq: number, attributesJson: string | null, op: 'put' | 'del' | 'rm_space' = 'put'): MemberOutcome {
  const change = { seq, space, key, op, attributesJson, committedAtMs: 0, ...(attributesJson === null ? {} : { expiresAtMs: null }) };
  return { result: { ok: true, kind: 'space_removed', space }, changes: [change] };
}

describe('the read cache', () => {
  test('holds at most readCacheBytesMax bytes, least recently used first', () => {
    const cache = new ObjectCache(2_000);
    const text = 'x'.repeat(300); // with the per-entry overhead, about four fit
    cache.fill('s', 'keep', object(1, text));
    for (let i = 0; i < 20; i++) {
      assert.ok(cache.get('s', 'keep'), 'an object read between fills stays');
      cache.fill('s', `k${i}`, object(1, text));
      assert.ok(cache.size <= 2_000, `holds ${cache.size} bytes, past its bound`);
    }
    assert.equal(cache.get('s', 'k0'), undefined, 'the least recently used went first');
    assert.ok(cache.get('s', 'k19'), 'the newest stays');
    cache.fill('s', 'huge', object(1, 'x'.repeat(5_000)));
    assert.equal(cache.get('s', 'huge'), undefined, 'an object larger than the whole bound is not kept');
  });

  test('evicts in least-recently-used order through thousands of evictions, reads that move entries, and a clear', () => {
    // A reference LRU beside the cache, with the cache's own rule for when a read moves an entry
    // (once it has drifted into the older half). The cache keeps one iterator across evictions.
    const text = 'x'.repeat(100);
    const entryBytes = 160 + 's\u0000k00000'.length + text.length; // ENTRY_OVERHEAD_BYTES + id + text
    const cache = new ObjectCache(entryBytes * 50);
    let order: string[] = [];
    const stamps = new Map<string, number>();
    let clock = 0;
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let step = 0; step < 5_000; step++) {
      if (step === 2_500) {
        cache.clear();
        order = [];
      }
      if (order.length > 0 && random(3) === 0) {
        const key = order[random(order.length)] as string;
        assert.ok(cache.get('s', key), `${key} is cached`);
        if (clock - (stamps.get(key) as number) > order.length / 2) {
          order = [...order.filter((k) => k !== key), key];
          stamps.set(key, ++clock);
        }
        continue;
      }
      const key = `k${String(step).padStart(5, '0')}`;
      cache.fill('s', key, object(1, text));
      order.push(key);
      stamps.set(key, ++clock);
      while (order.length > 50) order.shift();
      assert.ok(cache.size <= entryBytes * 50);
      if (step % 97 === 0) {
        for (const k of order) assert.notEqual(cache.get('s', k), undefined, `step ${step}: ${k} was evicted before older entries`);
        // The look above used the cache's read path too: mirror the moves it made.
        for (const k of [...order]) {
          if (clock - (stamps.get(k) as number) > order.length / 2) {
            order = [...order.filter((o) => o !== k), k];
            stamps.set(k, ++clock);
          }
        }
      }
    }
    assert.equal(cache.size, entryBytes * 50);
  });

  test('a read never replaces what a committed change put there, and a deletion is remembered', () => {
    const cache = new ObjectCache(1_000_000);
    cache.applyOutcomes([written('s', 'k', 7, '{"n":7}')]);
    cache.fill('s', 'k', object(3, '{"n":3}')); // a read of an older snapshot
    assert.deepEqual(cache.get('s', 'k'), { version: 7, expiresAt: null, attributesJson: '{"n":7}' });
    cache.applyOutcomes([written('s', 'k', 8, null, 'del')]);
    cache.fill('s', 'k', object(7, '{"n":7}'));
    assert.equal(cache.get('s', 'k'), null, 'the deletion stands');
  });

  test('removing a space forgets its objects, not those of other spaces; a failed member changes nothing', () => {
    const cache = new ObjectCache(1_000_000);
    cache.fill('s', 1, object(1, '{}'));
    cache.fill('t', 1, object(1, '{}'));
    cache.applyOutcomes([{ fault: { code: 'cmp_fail', message: 'no' } }, written('s', '', 9, null, 'rm_space')]);
    assert.equal(cache.get('s', 1), undefined);
    assert.ok(cache.get('t', 1));
  });
});

describe('reads through the cache against the data file', () => {
  const fixtures: Fixture[] = [];
  after(async () => {
    for (const fx of fixtures) await fx.dispose();
  });

  for (const bytes of [1_024, 32 * 1024 * 1024]) {
    test(`random writes, tx, deletions, expiry and space re-creation read back as the file holds them (readCacheBytesMax ${bytes})`, { timeout: 60_000 }, async () => {
      const limits = makeLimits({ readCacheBytesMax: bytes });
      const fx = await Fixture.open((dir, l) => new SqliteStore(dir, l), limits);
      fixtures.push(fx);
      await fx.addSpace(SPACE);
      const file = new SqliteReader(`${fx.dir}/spacekv.db`);
      let seed = 42;
      const random = (n: number): number => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      const key = (): string => KEYS[random(KEYS.length)] as string;
      const write = (): Wire => {
        const k = key();
        switch (random(7)) {
          case 0: return { op: 'put', space: 'c', key: k, attributes: { n: random(100), s: 'v'.repeat(random(300)) } };
          case 1: return { op: 'mutate', space: 'c', key: k, mutations: [{ add: { n: 1 } }] };
          case 2: return { op: 'del', space: 'c', key: k };
          case 3: return { op: 'get_and_del', space: 'c', key: k };
          case 4: return { op: 'put', space: 'c', key: k, attributes: { n: 1 }, expire_in: 1 };
          case 5: return { op: 'tx', checks: [], ops: [{ op: 'put', space: 'c', key: k, attributes: { n: 2 } }, { op: 'del', space: 'c', key: key() }] };
          default: return { op: 'put_if_not_exist', space: 'c', key: k, attributes: { n: 3 } };
        }
      };
      try {
        for (let round = 0; round < 60; round++) {
          // Several writes in flight at once, so batches hold many members, then reads of every key.
          await Promise.allSettled(Array.from({ length: 1 + random(8) }, () => fx.run(write())));
          if (round % 20 === 19) {
            await fx.run({ op: 'rm_space', space: 'c' });
            await fx.addSpace(SPACE);
            file.invalidate('c');
          }
          file.endSnapshot(); // a fresh look at the file, as of now
          for (const k of KEYS) {
            const before = Date.now();
            const result = await fx.run({ op: 'get', space: 'c', key: k });
            const now = Date.now();
            const stored = file.get('c', k);
            // An object that expired while the read ran may read either way.
            if (stored?.expiresAt != null && stored.expiresAt > before && stored.expiresAt <= now) continue;
            const live = stored && (stored.expiresAt === null || stored.expiresAt > now) ? stored : null;
            if (live === null) {
              assert.ok(!result.ok && result.code === 'not_found', `round ${round}, key ${k}: the file holds nothing live, the read found ${JSON.stringify(result)}`);
            } else {
              assert.ok(result.ok && result.kind === 'object', `round ${round}, key ${k}: the file holds version ${live.version}, the read found ${JSON.stringify(result)}`);
              assert.equal(result.version, live.version, `round ${round}, key ${k}`);
              assert.equal(result.attributesJson, live.attributesJson, `round ${round}, key ${k}`);
            }
          }
        }
      } finally {
        file.close();
      }
    });
  }
});
