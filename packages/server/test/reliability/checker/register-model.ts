/**
 * The sequential specification of one spacekv object used as a register with an int attribute:
 * `get`, `put`, `put_if_not_exist`, `compare_and_swap`, `atomicAdd` (mutate add) and `del`, as
 * docs/architecture.md §3 defines them. The state is the value (null: absent) and the version; a version is
 * `null` when an operation of unknown outcome may have changed it, and the next observation pins it.
 * Versions are seqs: every write must give a version greater than the one it replaced.
 */

import type { Model } from './linearizability.js';

export type RegisterInput =
  | { readonly f: 'get' }
  | { readonly f: 'put'; readonly value: number }
  | { readonly f: 'put_if_not_exist'; readonly value: number }
  | { readonly f: 'cas'; readonly version: number; readonly value: number }
  | { readonly f: 'add'; readonly delta: number }
  | { readonly f: 'del' };

/** A reply: success (with what it returned) or a failed condition with its code and the current version. */
export type RegisterOutput =
  | { readonly ok: true; readonly value?: number | null; readonly version?: number }
  | { readonly ok: false; readonly code: 'not_found' | 'cmp_fail' | 'exists'; readonly version?: number };

export interface RegisterState {
  readonly value: number | null;
  readonly version: number | null;
}

export const ABSENT: RegisterState = { value: null, version: 0 };

/**
 * The state after `input` answered `output` in `state`, or undefined if that answer is impossible.
 * `output` undefined means the outcome is unknown: the operation is taken as applied (an unknown
 * operation that did not apply is one the search never linearizes).
 */
export function stepRegister(state: RegisterState, input: RegisterInput, output: RegisterOutput | undefined): RegisterState | undefined {
  const present = state.value !== null;
  switch (input.f) {
    case 'get':
      if (!output) return state;
      if (!output.ok) return present || output.code !== 'not_found' ? undefined : state;
      if (!present || output.value !== state.value) return undefined;
      return observe(state, output.version);
    case 'put':
      return written(state, input.value, output);
    case 'put_if_not_exist':
      if (present) return output === undefined ? state : failedWith(state, output, 'exists');
      return written(state, input.value, output);
    case 'cas':
      if (!present) return output === undefined ? state : failedWith(state, output, 'not_found');
      if (state.version !== null && state.version !== input.version) return output === undefined ? state : failedWith(state, output, 'cmp_fail');
      if (state.version === null && output && !output.ok) return failedWith(state, output, 'cmp_fail'); // cannot tell: both answers fit
      return written(state, input.value, output);
    case 'add':
      if (!present) return output === undefined ? state : failedWith(state, output, 'not_found');
      return written(state, (state.value as number) + input.delta, output);
    case 'del':
      if (!present) return output === undefined ? state : failedWith(state, output, 'not_found');
      if (output && !output.ok) return undefined;
      return output ? afterWrite(state, null, output.version) : { value: null, version: null };
  }
}

/** A successful write of `value`; a reply that returns the new value must return exactly it. */
function written(state: RegisterState, value: number, output: RegisterOutput | undefined): RegisterState | undefined {
  if (!output) return { value, version: null };
  if (!output.ok) return undefined;
  if (output.value !== undefined && output.value !== value) return undefined;
  return afterWrite(state, value, output.version);
}

function afterWrite(state: RegisterState, value: number | null, version: number | undefined): RegisterState | undefined {
  if (version !== undefined && state.version !== null && version <= state.version) return undefined;
  return { value, version: version ?? null };
}

function failedWith(state: RegisterState, output: RegisterOutput, code: string): RegisterState | undefined {
  if (output.ok || output.code !== code) return undefined;
  return code === 'not_found' ? state : observe(state, output.version);
}

/** A reply that carries the current version: it must match a known one, and pins an unknown one. */
function observe(state: RegisterState, version: number | undefined): RegisterState | undefined {
  if (version === undefined) return state;
  if (state.version === null) return { value: state.value, version };
  return version === state.version ? state : undefined;
}

export function registerStateKey(state: RegisterState): string {
  return `${state.value ?? '-'}@${state.version ?? '?'}`;
}

export const REGISTER_MODEL: Model<RegisterState, RegisterInput, RegisterOutput> = {
  init: ABSENT,
  step: stepRegister,
  key: registerStateKey,
};
