/**
 * Change events as watchers (SSE, WebSocket, the client) and AMQP consumers receive them, and the
 * watch request that selects them (docs/architecture.md §3 events, §4.6). Server and client take both from
 * here so they cannot drift.
 *
 * An event is one logged change: `{"seq", "space", "key", "op", "attributes", "committed_at"}`.
 * The object's new version is `seq`; `attributes` is the object's new state, or null for a deletion
 * (`del`, `cond_del`, `get_and_del`, `expire` by the TTL sweeper, `rm_space`; `add_index` and
 * `rm_index`, with key '' like every admin change, have none either; the embedded store logs
 * `add_index`). A tx's changes share
 * its seq. Delivery is at least once: consumers deduplicate by (seq, space, key).
 */
import { isSystemSpace } from './access.js';
import { fail } from './errors.js';
import { type Fields, type SpaceLookup, isFields, parseSpaceName, requireSpace } from './fields.js';
import { parseJson, stringifyJson } from './json.js';
import type { Limits } from './limits.js';
import type { Change, Condition, OpName } from './operations.js';
import type { StepBudget } from './cost.js';
import { evaluateCondition, parseCondition } from './predicates.js';
import type { Attributes, Json, Key } from './types.js';
import { coerceKey } from './values.js';
import { OPERATION_NAMES } from './wire.js';

/** A change event in its wire form. */
export interface ChangeEvent {
  readonly seq: number;
  readonly space: string;
  readonly key: Key;
  readonly op: OpName;
  /** The new attributes, or null for a deletion. */
  readonly attributes: Json | null;
  /** When the change committed (epoch ms). */
  readonly committed_at: number;
}

/** Encode a change as event JSON; the stored attribute text is spliced in, not re-encoded. */
export function encodeChangeEvent(change: Change): string {
  // stringifyJson, not String: a whole float key past 2^53 must not read back as an int.
  return `{"seq":${change.seq},"space":${JSON.stringify(change.space)},"key":${stringifyJson(change.key)},"op":"${change.op}",` +
    `"attributes":${change.attributesJson ?? 'null'},"committed_at":${change.committedAtMs}}`;
}

/** What a watcher asked for, validated. All fields are optional: an empty watch sees every change. */
export interface WatchSpec {
  readonly space?: string;
  /** One object of `space`. */
  readonly key?: Key;
  /** String keys of `space` starting with this. */
  readonly prefix?: string;
  /** Start after this seq (resume); absent: from the moment of the watch. */
  readonly since?: number;
  /** Only changes whose new attributes satisfy this condition (deletions and admin changes always pass). */
  readonly filter?: WatchFilter;
  /** Only these operations. */
  readonly ops?: ReadonlySet<string>;
}

/** A parsed `if` of a watch, with the name its space gives the key (a predicate may test the key). */
export interface WatchFilter {
  readonly condition: Condition;
  readonly keyName: string;
}

/** The names a watch request may carry (besides the envelope's `op` and `id`). */
export const WATCH_FIELDS = ['space', 'key', 'prefix', 'since', 'if', 'ops'] as const;

const EVENT_OPS = new Set([...OPERATION_NAMES, 'expire']);

/**
 * Validate a watch request (its wire form: `space`, `key` | `prefix`, `since`, `if`, `ops`). A key,
 * prefix or filter needs a space that exists, to check them against its schema.
 */
export function parseWatch(input: Fields, lookup: SpaceLookup, limits: Limits): WatchSpec {
  for (const field of Object.keys(input)) {
    if (field !== 'op' && field !== 'id' && !(WATCH_FIELDS as readonly string[]).includes(field)) {
      throw fail('bad_request', `a watch takes no field '${field}' (it takes: ${WATCH_FIELDS.join(', ')})`);
    }
  }
  const spec: { -readonly [K in keyof WatchSpec]: WatchSpec[K] } = {};
  if (input.since !== undefined) {
    if (typeof input.since !== 'number' || !Number.isSafeInteger(input.since) || input.since < 0) throw fail('bad_request', "'since' must be a seq: a non-negative integer");
    spec.since = input.since;
  }
  if (input.ops !== undefined) {
    if (!Array.isArray(input.ops) || input.ops.length === 0 || !input.ops.every((op) => typeof op === 'string' && EVENT_OPS.has(op))) {
      throw fail('bad_request', `'ops' must be a non-empty list of operation names (${[...EVENT_OPS].join(', ')})`);
    }
    spec.ops = new Set(input.ops as string[]);
  }
  if (input.space === undefined) {
    if (input.key !== undefined || input.prefix !== undefined || input.if !== undefined) throw fail('bad_request', "'key', 'prefix' and 'if' need a 'space'");
    return spec;
  }
  const space = requireSpace(lookup, parseSpaceName(input.space));
  spec.space = space.name;
  if (input.key !== undefined && input.prefix !== undefined) throw fail('bad_request', "a watch takes 'key' or 'prefix', not both");
  if (input.key !== undefined) spec.key = coerceKey(space.schema.key.type, input.key, limits);
  if (input.prefix !== undefined) {
    if (typeof input.prefix !== 'string' || space.schema.key.type !== 'string') throw fail('bad_request', "'prefix' must be a string, on a space with string keys");
    spec.prefix = input.prefix;
  }
  if (input.if !== undefined) {
    if (!isFields(input.if)) throw fail('invalid_predicate', "'if' must be an object of predicates per attribute");
    spec.filter = { condition: parseCondition(input.if, space, limits), keyName: space.schema.key.name };
  }
  return spec;
}

/** Does `change` belong to what `spec` watches? A filter is charged to `budget` (one per page sent). */
export function watchMatches(spec: WatchSpec, change: Change, budget: StepBudget): boolean {
  if (spec.ops && !spec.ops.has(change.op)) return false;
  if (spec.space === undefined) return !isSystemSpace(change.space);
  if (change.space !== spec.space) return false;
  const admin = change.op === 'add_space' || change.op === 'rm_space' || change.op === 'add_index' || change.op === 'rm_index';
  if (spec.key !== undefined && !admin && change.key !== spec.key) return false;
  if (spec.prefix !== undefined && !admin && !(typeof change.key === 'string' && change.key.startsWith(spec.prefix))) return false;
  if (spec.filter && change.attributesJson !== null) {
    const attributes = parseJson(change.attributesJson) as Attributes;
    return evaluateCondition(spec.filter.condition, change.key, spec.filter.keyName, attributes, budget);
  }
  return true;
}
