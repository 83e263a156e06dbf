/**
 * Shared pieces of the REST and WebSocket fuzzers: arbitraries of malformed and plausible values
 * (fast-check), the canary object that must come through untouched, and the server's memory as the
 * kernel reports it.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ERRORS, isErrorCode } from '@spacekv/core';

/** The space and object no fuzzed request may name or change (the fuzzers never generate 'canary'). */
export const CANARY_SPACE = 'canary';
export const CANARY_KEY = 'c1';
export const CANARY = { s: 'stay', n: 7, l: [1, 2, 3] } as const;
export const CANARY_SCHEMA = 'space canary key k attributes string s, int n, list(int) l';
/** The space the fuzzers aim at, so that many requests get past the space lookup. */
export const FUZZ_SCHEMA = 'space fz key k attributes string s, int n, float f, bool b, document d, list(int) l, set(string) t, map(string, int) m';

/** 5xx answers that are the catalogue's honest "not now" (anything else, e.g. `internal`, is a bug). */
const ALLOWED_5XX = new Set(['overloaded', 'unavailable', 'shutting_down', 'storage_full', 'outcome_unknown']);

/** What is wrong with an error body, or undefined: a catalogue code whose status is `status`. */
export function errorBodyProblem(status: number, error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !isErrorCode(code)) return `status ${status} without a catalogue error: ${JSON.stringify(error)?.slice(0, 200)}`;
  if (status !== 0 && ERRORS[code].status !== status) return `code ${code} with status ${status}, the catalogue says ${ERRORS[code].status}`;
  if (ERRORS[code].status >= 500 && !ALLOWED_5XX.has(code)) return `a server fault: ${JSON.stringify(error).slice(0, 300)}`;
  return undefined;
}

const notCanary = (s: string): boolean => s !== CANARY_SPACE;

export const spaceNameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('fz') },
  { weight: 1, arbitrary: fc.constantFrom('nope', '', 'a'.repeat(65), 'spaces', '..', 'fz ', 'FZ', 'f%7Az') },
  { weight: 2, arbitrary: fc.string({ maxLength: 70 }).filter(notCanary) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).filter(notCanary) },
);

export const keyArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('k1', 'k2', 'k3') },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(1025), '', ' ', '\u0000', '\uD800', '%', 12, -1, 1.5, true, null, [], {}) },
);

const attributeNameArb = fc.oneof(fc.constantFrom('s', 'n', 'f', 'b', 'd', 'l', 't', 'm', 'k', 'zz', ''), fc.string({ maxLength: 8 }));

/** Values of every shape, including ones no attribute takes. */
export const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 63, -(2 ** 63), 1e308, -0, 9007199254740993, Number.MAX_SAFE_INTEGER + 2) },
  { weight: 1, arbitrary: fc.array(fc.integer(), { maxLength: 20 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 5 }) },
);

export const attributesArb = fc.oneof(
  fc.dictionary(attributeNameArb, valueArb, { maxKeys: 6 }),
  // Well-typed for the fuzz space, so that writes get past validation and change data.
  fc.record({
    s: fc.string({ maxLength: 30 }), n: fc.integer(), f: fc.double(), b: fc.boolean(), d: fc.jsonValue({ maxDepth: 3 }),
    l: fc.array(fc.integer(), { maxLength: 5 }), t: fc.array(fc.string({ maxLength: 5 }), { maxLength: 5 }), m: fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  }, { requiredKeys: [] }),
);

const MUTATION_NAMES = ['set', 'unset', 'add', 'sub', 'mul', 'div', 'mod', 'and', 'or', 'xor', 'min', 'max', 'append', 'prepend',
  'lpush', 'rpush', 'set_add', 'set_remove', 'set_union', 'set_intersect', 'map_set', 'map_remove', 'map_add', 'bogus'];
export const mutationsArb = fc.array(fc.dictionary(fc.constantFrom(...MUTATION_NAMES), attributesArb, { minKeys: 1, maxKeys: 2 }), { maxLength: 5 });
export const conditionArb = fc.dictionary(attributeNameArb, fc.oneof(valueArb, fc.dictionary(fc.constantFrom('eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'prefix', 'regex', 'contains', 'length_eq', 'nope'), valueArb, { maxKeys: 2 })), { maxKeys: 3 });

export const OP_NAMES = ['get', 'get_partial', 'put', 'put_if_not_exist', 'get_and_put', 'cond_put', 'compare_and_swap', 'del', 'cond_del',
  'get_and_del', 'mutate', 'tx', 'add_space', 'describe_space', 'list_spaces', 'search', 'nope'] as const;

/** A wire operation, plausible enough to reach validation deep inside, and often wrong somewhere. */
export const operationArb: fc.Arbitrary<Record<string, unknown>> = fc.record({
  op: fc.constantFrom(...OP_NAMES.filter((o) => o !== 'add_space')),
  space: spaceNameArb,
  key: keyArb,
  attributes: attributesArb,
  version: fc.oneof(fc.nat(1000), fc.constantFrom(-1, 1.5, '3', 2 ** 64)),
  mutations: mutationsArb,
  if: conditionArb,
  select: fc.array(attributeNameArb, { maxLength: 3 }),
  expire_in: fc.oneof(fc.nat(100), fc.constantFrom(-5, 1e12, null, 'soon')),
  unknown_field: fc.jsonValue({ maxDepth: 1 }),
}, { requiredKeys: ['op'] });

/** Deeply nested JSON text, past any sane depth bound sometimes. */
export const deepJsonArb = fc.integer({ min: 2, max: 200_000 }).chain((depth) =>
  fc.constantFrom(`${'['.repeat(depth)}${']'.repeat(depth)}`, `{"d":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`, `${'['.repeat(depth)}`));

/** Resident memory of a process, in bytes (Linux /proc). */
export function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * fast-check's settings for a fuzz run: the seed and the count; a failure reports the seed, the
 * replay path and the counterexample cut to a readable length (some are megabytes long).
 */
export function fuzzParameters<T>(seed: number, numRuns: number): fc.Parameters<T> {
  return {
    seed, numRuns, endOnFailure: true,
    reporter(details) {
      if (!details.failed) return;
      const example = JSON.stringify(details.counterexample, (_k, v: unknown) => (Buffer.isBuffer(v) ? `<${v.length} bytes>` : v)) ?? '';
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(`fuzzing failed after ${details.numRuns} runs (seed ${seed}, path "${details.counterexamplePath}"): ${error.slice(0, 1000)}\n` +
        `counterexample: ${example.length > 600 ? `${example.slice(0, 600)}... (${example.length} characters)` : example}`);
    },
  };
}
