// Proves, on random pipelined workloads, that a store answers every operation exactly as a small
// reference model of docs/architecture.md §3 says it must: bursts of writes and reads sent on one session
// without waiting (so they share group-commit batches and rely on per-key order), with a
// restart half way. Versions are only known to increase, so the model learns each from its reply
// and checks every later reply against it. The seed comes from SPACEKV_SEED when set and is printed
// on failure.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Result } from '@spacekv/core';
import { conformanceCase, expectResult, type Fixture, random, seedFromEnv, type SuiteContext, type Wire } from './fixture.js';

const BURSTS = 24;
const BURST_MAX = 24;
const KEYS = ['a', 'b', 'c', 'd'] as const;
const STRINGS = ['', 'x', 'y'] as const;

type Key = (typeof KEYS)[number];
interface Given { readonly n?: number; readonly s?: string }

type ModelOp =
  | { readonly op: 'get' | 'get_and_del'; readonly key: Key }
  | { readonly op: 'put' | 'put_if_not_exist' | 'get_and_put'; readonly key: Key; readonly attributes: Given }
  | { readonly op: 'del'; readonly key: Key; readonly version?: number }
  | { readonly op: 'compare_and_swap'; readonly key: Key; readonly version: number; readonly attributes: Given }
  | { readonly op: 'cond_put'; readonly key: Key; readonly ifS: string; readonly attributes: Given }
  | { readonly op: 'mutate'; readonly key: Key; readonly delta: number; readonly ifNLt?: number };

interface ModelObject { readonly version: number; readonly n: number; readonly s: string }

class Model {
  readonly objects = new Map<Key, ModelObject>();
  /**
   * Per key, the highest version a reply has carried: every later success on that key must carry a
   * higher one. Writes of different keys take effect in any order (per-key order), so versions are
   * only ordered per key.
   */
  readonly last = new Map<Key, number>();
}

function generate(rand: () => number, model: Model): ModelOp {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const key = pick(KEYS);
  const given = (): Given => {
    const out: { n?: number; s?: string } = {};
    if (rand() < 0.7) out.n = Math.floor(rand() * 100);
    if (rand() < 0.5) out.s = pick(STRINGS);
    return out;
  };
  // A version as of the burst's start: earlier ops of the same burst may make it stale, which the
  // model then predicts as cmp_fail.
  const known = model.objects.get(key)?.version ?? 0;
  const version = (): number => pick([known, known, known + 1, Math.max(known - 1, 1)]);
  switch (pick(['get', 'get', 'put', 'put', 'put_if_not_exist', 'get_and_put', 'del', 'del_v', 'get_and_del', 'cas', 'cond_put', 'mutate', 'mutate', 'mutate_if'] as const)) {
    case 'get': return { op: 'get', key };
    case 'put': return { op: 'put', key, attributes: given() };
    case 'put_if_not_exist': return { op: 'put_if_not_exist', key, attributes: given() };
    case 'get_and_put': return { op: 'get_and_put', key, attributes: given() };
    case 'del': return { op: 'del', key };
    case 'del_v': return { op: 'del', key, version: version() };
    case 'get_and_del': return { op: 'get_and_del', key };
    case 'cas': return { op: 'compare_and_swap', key, version: version(), attributes: given() };
    case 'cond_put': return { op: 'cond_put', key, ifS: pick(STRINGS), attributes: given() };
    case 'mutate': return { op: 'mutate', key, delta: Math.floor(rand() * 21) - 10 };
    case 'mutate_if': return { op: 'mutate', key, delta: 1, ifNLt: Math.floor(rand() * 100) };
  }
}

function toWire(op: ModelOp): Wire {
  const base = { op: op.op, space: 'r', key: op.key };
  switch (op.op) {
    case 'get':
    case 'get_and_del':
      return base;
    case 'put':
    case 'put_if_not_exist':
    case 'get_and_put':
      return { ...base, attributes: op.attributes };
    case 'del':
      return op.version === undefined ? base : { ...base, version: op.version };
    case 'compare_and_swap':
      return { ...base, version: op.version, attributes: op.attributes };
    case 'cond_put':
      return { ...base, if: { s: op.ifS }, attributes: op.attributes };
    case 'mutate':
      return { ...base, mutations: [{ add: { n: op.delta } }], ...(op.ifNLt === undefined ? {} : { if: { n: { lt: op.ifNLt } } }) };
  }
}

function attrs(o: ModelObject): { n: number; s: string } {
  return { n: o.n, s: o.s };
}

/** Check one reply against the model, then apply it to the model. */
function checkAndApply(model: Model, op: ModelOp, result: Result): void {
  const current = model.objects.get(op.key);
  const notFound = { ok: false, code: 'not_found', version: 0 };
  const failed = (code: string): void => {
    expectResult(result, { ok: false, code, version: current?.version ?? 0 });
  };
  const wrote = (next: { n: number; s: string }, extra: object = {}): void => {
    const version = expectResult(result, { ok: true, kind: 'written', key: op.key, created: current === undefined, ...extra });
    const last = model.last.get(op.key) ?? 0;
    assert.ok(version > last, `version ${version} must follow ${last}`);
    model.last.set(op.key, version);
    model.objects.set(op.key, { version, ...next });
  };
  const deleted = (extra: object = {}): void => {
    const version = expectResult(result, { ok: true, kind: 'deleted', key: op.key, ...extra });
    const last = model.last.get(op.key) ?? 0;
    assert.ok(version > last, `version ${version} must follow ${last}`);
    model.last.set(op.key, version);
    model.objects.delete(op.key);
  };
  const merged = (given: Given): { n: number; s: string } => ({ n: given.n ?? current?.n ?? 0, s: given.s ?? current?.s ?? '' });
  const previous = current === undefined ? null : { version: current.version, expiresAt: null, attributes: attrs(current) };

  switch (op.op) {
    case 'get':
      if (!current) return void expectResult(result, notFound);
      return void expectResult(result, { ok: true, kind: 'object', key: op.key, version: current.version, attributes: attrs(current) });
    case 'put':
      return wrote(merged(op.attributes));
    case 'get_and_put':
      return wrote(merged(op.attributes), { previous });
    case 'put_if_not_exist':
      return current ? failed('exists') : wrote(merged(op.attributes));
    case 'del':
      if (!current) return void expectResult(result, notFound);
      return op.version !== undefined && op.version !== current.version ? failed('cmp_fail') : deleted();
    case 'get_and_del':
      return current ? deleted({ previous }) : void expectResult(result, notFound);
    case 'compare_and_swap':
      if (!current) return void expectResult(result, notFound);
      return op.version === current.version ? wrote(merged(op.attributes)) : failed('cmp_fail');
    case 'cond_put':
      if (!current) return void expectResult(result, notFound);
      return current.s === op.ifS ? wrote(merged(op.attributes)) : failed('cmp_fail');
    case 'mutate': {
      if (!current) return void expectResult(result, notFound);
      if (op.ifNLt !== undefined && !(current.n < op.ifNLt)) return failed('cmp_fail');
      const next = { n: current.n + op.delta, s: current.s };
      return wrote(next, { attributes: next });
    }
  }
}

async function runBursts(fx: Fixture, model: Model, rand: () => number, bursts: number): Promise<void> {
  for (let b = 0; b < bursts; b++) {
    const ops = Array.from({ length: 1 + Math.floor(rand() * BURST_MAX) }, () => generate(rand, model));
    const replies = await Promise.all(ops.map((op) => fx.run(toWire(op))));
    ops.forEach((op, i) => {
      try {
        checkAndApply(model, op, replies[i] as Result);
      } catch (err) {
        throw new Error(`burst ${b}, op ${i} ${JSON.stringify(op)}: ${(err as Error).message}`, { cause: err });
      }
    });
  }
}

export function modelCases(ctx: SuiteContext): void {
  describe('reference model', () => {
    conformanceCase(ctx, 'random pipelined bursts answer exactly as the model, across a restart', async (fx) => {
      const seed = seedFromEnv();
      try {
        await fx.addSpace('space r key k attributes int n, string s');
        const model = new Model();
        const rand = random(seed);
        await runBursts(fx, model, rand, BURSTS / 2);
        await fx.reopen();
        await runBursts(fx, model, rand, BURSTS / 2);
        for (const key of KEYS) {
          const current = model.objects.get(key);
          const result = await fx.run({ op: 'get', space: 'r', key });
          if (!current) expectResult(result, { ok: false, code: 'not_found', version: 0 });
          else expectResult(result, { ok: true, kind: 'object', key, version: current.version, attributes: attrs(current) });
        }
      } catch (err) {
        throw new Error(`reference model failed; rerun with SPACEKV_SEED=${seed}: ${(err as Error).message}`, { cause: err });
      }
    });
  });
}
