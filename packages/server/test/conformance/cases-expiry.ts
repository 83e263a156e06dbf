// Proves expiry (docs/architecture.md §2) behaves the same on every store: an object written with expire_in
// reads as absent, to every operation, as soon as it passes (before any sweeper runs); the key can
// then be created afresh; `expire_in: null` clears an expiry, an absent expire_in keeps the
// object's own, and the space's `ttl` clause applies when a write names none.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { conformanceCase, expectResult, sleep, type Fixture, type SuiteContext, writtenVersion } from './fixture.js';

/**
 * Short enough to keep the suite fast, long enough that the writes a case makes before the expiry
 * (pipelined, so one or two commits) land before it on a slow disk.
 */
const SHORT_S = 0.15;
/** Comfortably past SHORT_S, so a slow machine does not turn the wait into a flake. */
const PAST_SHORT_MS = 300;

async function present(fx: Fixture, space: string, key: string): Promise<boolean> {
  const result = await fx.run({ op: 'get', space, key });
  if (result.ok) return true;
  expectResult(result, { ok: false, code: 'not_found', version: 0 });
  return false;
}

export function expiryCases(ctx: SuiteContext): void {
  describe('expiry', () => {
    conformanceCase(ctx, 'an object reads as absent once its expire_in passes, to reads and writes alike', async (fx) => {
      await fx.addSpace('space e key k attributes int n');
      const puts = ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => fx.run({ op: 'put', space: 'e', key, attributes: { n: 1 }, expire_in: SHORT_S }));
      const fresh = present(fx, 'e', 'a'); // pipelined behind the puts: answered right after them
      await Promise.all(puts);
      assert.equal(await fresh, true);
      await sleep(PAST_SHORT_MS);
      assert.equal(await present(fx, 'e', 'a'), false);
      const notFound = { ok: false, code: 'not_found', version: 0 };
      expectResult(await fx.run({ op: 'get_partial', space: 'e', key: 'a', select: ['n'] }), notFound);
      expectResult(await fx.run({ op: 'mutate', space: 'e', key: 'b', mutations: [{ add: { n: 1 } }] }), notFound);
      expectResult(await fx.run({ op: 'cond_put', space: 'e', key: 'c', if: {}, attributes: { n: 2 } }), notFound);
      expectResult(await fx.run({ op: 'del', space: 'e', key: 'd' }), notFound);
      expectResult(await fx.run({ op: 'get_and_del', space: 'e', key: 'e' }), notFound);
      expectResult(await fx.run({ op: 'compare_and_swap', space: 'e', key: 'f', version: 1, attributes: {} }), notFound);
      expectResult(
        await fx.run({ op: 'get_and_put', space: 'e', key: 'f', attributes: { n: 5 } }),
        { ok: true, kind: 'written', key: 'f', created: true, previous: null },
      );
    });

    conformanceCase(ctx, 'put_if_not_exist succeeds on an expired key and starts from defaults', async (fx) => {
      await fx.addSpace('space e key k attributes int n, string s');
      const put = fx.run({ op: 'put', space: 'e', key: 'a', attributes: { n: 1, s: 'old' }, expire_in: SHORT_S });
      const early = fx.run({ op: 'put_if_not_exist', space: 'e', key: 'a', attributes: { n: 2 } });
      const v1 = writtenVersion(await put);
      expectResult(await early, { ok: false, code: 'exists', version: v1 });
      await sleep(PAST_SHORT_MS);
      const v2 = expectResult(
        await fx.run({ op: 'put_if_not_exist', space: 'e', key: 'a', attributes: { n: 2 } }),
        { ok: true, kind: 'written', key: 'a', created: true },
      );
      assert.ok(v2 > v1);
      expectResult(await fx.run({ op: 'get', space: 'e', key: 'a' }), { ok: true, kind: 'object', key: 'a', version: v2, attributes: { n: 2, s: '' } });
      // The new object has no expiry of its own: it outlives the old one's.
      await sleep(PAST_SHORT_MS);
      assert.equal(await present(fx, 'e', 'a'), true);
    });

    conformanceCase(ctx, 'expire_in null clears an expiry; an absent expire_in keeps the object\'s own', async (fx) => {
      await fx.addSpace('space e key k attributes int n');
      // Pipelined, so the second writes follow the first at once, well before they expire.
      const writes = [
        ...['cleared', 'kept', 'mutated', 'mutcleared'].map((key) => fx.run({ op: 'put', space: 'e', key, attributes: { n: 1 }, expire_in: SHORT_S })),
        fx.run({ op: 'put', space: 'e', key: 'cleared', attributes: { n: 2 }, expire_in: null }),
        fx.run({ op: 'put', space: 'e', key: 'kept', attributes: { n: 2 } }),
        fx.run({ op: 'mutate', space: 'e', key: 'mutated', mutations: [{ add: { n: 1 } }] }),
        fx.run({ op: 'mutate', space: 'e', key: 'mutcleared', mutations: [{ add: { n: 1 } }], expire_in: null }),
      ];
      assert.deepEqual((await Promise.all(writes)).map((r) => r.ok && r.kind === 'written' && r.created), [true, true, true, true, false, false, false, false]);
      await sleep(PAST_SHORT_MS);
      assert.deepEqual(
        {
          cleared: await present(fx, 'e', 'cleared'), kept: await present(fx, 'e', 'kept'),
          mutated: await present(fx, 'e', 'mutated'), mutcleared: await present(fx, 'e', 'mutcleared'),
        },
        { cleared: true, kept: false, mutated: false, mutcleared: true },
      );
    });

    conformanceCase(ctx, 'expire_in on a write sets the expiry from the commit, visible in previous.expiresAt', async (fx) => {
      await fx.addSpace('space e key k attributes int n');
      const before = Date.now();
      await fx.run({ op: 'put', space: 'e', key: 'a', attributes: {}, expire_in: 3600 });
      const after = Date.now();
      const result = await fx.run({ op: 'get_and_put', space: 'e', key: 'a', attributes: {}, expire_in: null });
      assert.ok(result.ok && result.kind === 'written' && result.previous, 'get_and_put returns the previous object');
      const expiresAt = result.previous.expiresAt;
      assert.ok(expiresAt !== null && expiresAt >= before + 3_600_000 && expiresAt <= after + 3_600_000, `expiresAt ${expiresAt} within the commit window`);
      const cleared = await fx.run({ op: 'get_and_del', space: 'e', key: 'a' });
      assert.ok(cleared.ok && cleared.kind === 'deleted' && cleared.previous, 'get_and_del returns the deleted object');
      assert.equal(cleared.previous.expiresAt, null);
    });

    conformanceCase(ctx, 'the space ttl applies to writes that name no expire_in; expire_in overrides it', async (fx) => {
      await fx.addSpace('space t key k attributes int n ttl 1');
      const before = Date.now();
      const puts = [
        fx.run({ op: 'put', space: 't', key: 'ttl', attributes: { n: 1 } }),
        fx.run({ op: 'put', space: 't', key: 'forever', attributes: { n: 1 }, expire_in: null }),
        fx.run({ op: 'put', space: 't', key: 'longer', attributes: { n: 1 }, expire_in: 3600 }),
        fx.run({ op: 'put', space: 't', key: 'shorter', attributes: { n: 1 }, expire_in: SHORT_S }),
      ];
      await Promise.all(puts);
      const probe = await fx.run({ op: 'get_and_put', space: 't', key: 'ttl', attributes: { n: 2 } });
      assert.ok(probe.ok && probe.kind === 'written' && probe.previous, 'get_and_put returns the previous object');
      const expiresAt = probe.previous.expiresAt;
      assert.ok(expiresAt !== null && expiresAt >= before + 1000 && expiresAt <= Date.now() + 1000, `expiresAt ${expiresAt} is about 1 s after the write`);
      await sleep(PAST_SHORT_MS);
      assert.equal(await present(fx, 't', 'shorter'), false);
      assert.equal(await present(fx, 't', 'ttl'), true);
      await sleep(1000); // with PAST_SHORT_MS, past the 1 s ttl that the get_and_put renewed
      assert.deepEqual(
        {
          ttl: await present(fx, 't', 'ttl'), forever: await present(fx, 't', 'forever'), longer: await present(fx, 't', 'longer'),
        },
        { ttl: false, forever: true, longer: true },
      );
    });
  });
}
