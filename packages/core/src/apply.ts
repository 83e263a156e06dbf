/**
 * The semantics of every single-key operation, as a pure function of the operation and the object
 * as it is now. Every store calls `planWrite` inside its own transaction, after reading the current
 * object, so SQLite and PostgreSQL cannot disagree on what `put_if_not_exist` or `mutate` means;
 * `readResult` answers `get` and `get_partial` the same way for the engine's reads and a tx's.
 */
import { parseJson, stringifyJson } from './json.js';
import { StepBudget } from './cost.js';
import { applyMutations } from './mutations.js';
import type { Limits } from './limits.js';
import type { Condition, ExpireIn, FailedResult, GetOp, GetPartialOp, ObjectResult, ObjectWriteOp, StoredObject } from './operations.js';
import { evaluateCondition } from './predicates.js';
import type { Space } from './schema.js';
import type { Attributes, Key, Value } from './types.js';
import { defaultValue } from './types.js';
import type { OpResultCode } from './errors.js';

/** The object a write finds, decoded. Absent (or expired) objects are passed as null. */
export interface CurrentObject {
  readonly version: number;
  readonly expiresAt: number | null;
  readonly attributes: Attributes;
}

export type WritePlan =
  | { readonly kind: 'upsert'; readonly attributes: Attributes; readonly expiresAt: number | null; readonly created: boolean }
  | { readonly kind: 'delete' }
  | { readonly kind: 'fail'; readonly code: OpResultCode; readonly message: string; readonly version: number };

function failed(code: OpResultCode, message: string, current: CurrentObject | null): WritePlan {
  return { kind: 'fail', code, message, version: current?.version ?? 0 };
}

/** A complete attribute record: `given` over `base`, every declared attribute present, in schema order. */
export function completeAttributes(space: Space, given: Attributes, base: Attributes | null): Attributes {
  const out: Record<string, Value> = {};
  for (const { name, type } of space.attributes) {
    const value = Object.hasOwn(given, name) ? given[name] : base?.[name];
    out[name] = value === undefined ? defaultValue(type) : value;
  }
  return out;
}

function namesEvery(space: Space, given: Attributes): boolean {
  return space.attributes.every(({ name }) => Object.hasOwn(given, name));
}

function expiryOf(expireIn: ExpireIn, space: Space, current: CurrentObject | null, nowMs: number): number | null {
  if (expireIn === null) return null;
  const seconds = expireIn ?? space.schema.ttlSeconds;
  if (seconds === undefined) return current?.expiresAt ?? null;
  return nowMs + Math.round(seconds * 1000);
}

function holds(condition: Condition, space: Space, key: Key, current: CurrentObject, budget: StepBudget): boolean {
  return evaluateCondition(condition, key, space.schema.key.name, current.attributes, budget);
}

function upsert(space: Space, given: Attributes, current: CurrentObject | null, expireIn: ExpireIn, nowMs: number): WritePlan {
  return {
    kind: 'upsert',
    // A put that names every attribute does not need the old ones (nor to decode them).
    attributes: completeAttributes(space, given, current && !namesEvery(space, given) ? current.attributes : null),
    expiresAt: expiryOf(expireIn, space, current, nowMs),
    created: current === null,
  };
}

/**
 * Decide what `op` does to `current`. `nowMs` is the commit's clock, used for expiry; `budget` is
 * what its condition may cost (a tx passes its own, shared by all its operations).
 */
export function planWrite(
  op: ObjectWriteOp, space: Space, current: CurrentObject | null, nowMs: number, limits: Limits, budget = StepBudget.forCondition(limits),
): WritePlan {
  switch (op.op) {
    case 'put':
    case 'get_and_put':
      return upsert(space, op.attributes, current, op.expireIn, nowMs);
    case 'put_if_not_exist':
      if (current) return failed('exists', `key ${String(op.key)} already exists in space '${op.space}'`, current);
      return upsert(space, op.attributes, null, op.expireIn, nowMs);
    case 'cond_put':
      if (!current) return failed('not_found', notFound(op), null);
      if (!holds(op.condition, space, op.key, current, budget)) return failed('cmp_fail', 'the condition does not hold', current);
      return upsert(space, op.attributes, current, op.expireIn, nowMs);
    case 'compare_and_swap':
      if (!current) return failed('not_found', notFound(op), null);
      if (current.version !== op.version) {
        return failed('cmp_fail', `expected version ${op.version}, the object is at version ${current.version}`, current);
      }
      return upsert(space, op.attributes, current, op.expireIn, nowMs);
    case 'del':
      if (!current) return failed('not_found', notFound(op), null);
      if (op.version !== undefined && current.version !== op.version) {
        return failed('cmp_fail', `expected version ${op.version}, the object is at version ${current.version}`, current);
      }
      return { kind: 'delete' };
    case 'cond_del':
      if (!current) return failed('not_found', notFound(op), null);
      if (!holds(op.condition, space, op.key, current, budget)) return failed('cmp_fail', 'the condition does not hold', current);
      return { kind: 'delete' };
    case 'get_and_del':
      if (!current) return failed('not_found', notFound(op), null);
      return { kind: 'delete' };
    case 'mutate': {
      if (!current) return failed('not_found', notFound(op), null);
      if (op.condition && !holds(op.condition, space, op.key, current, budget)) return failed('cmp_fail', 'the condition does not hold', current);
      const mutated = applyMutations(op.mutations, space, current.attributes, limits);
      if (!mutated.ok) return failed(mutated.code, mutated.message, current);
      return { kind: 'upsert', attributes: mutated.attributes, expiresAt: expiryOf(op.expireIn, space, current, nowMs), created: false };
    }
  }
}

function notFound(op: ObjectWriteOp | GetOp | GetPartialOp): string {
  return `no object with key ${String(op.key)} in space '${op.space}'`;
}

/** The answer of a `get` or `get_partial` that found `stored` (null: absent or expired). */
export function readResult(op: GetOp | GetPartialOp, stored: StoredObject | null): ObjectResult | FailedResult {
  if (!stored) return { ok: false, code: 'not_found', message: notFound(op), version: 0 };
  const attributesJson = op.op === 'get' ? stored.attributesJson : pick(stored.attributesJson, op.select);
  return { ok: true, kind: 'object', key: op.key, version: stored.version, attributesJson };
}

function pick(attributesJson: string, select: readonly string[]): string {
  const all = parseJson(attributesJson) as Record<string, unknown>;
  const chosen: Record<string, unknown> = {};
  for (const name of select) chosen[name] = all[name];
  return stringifyJson(chosen);
}
