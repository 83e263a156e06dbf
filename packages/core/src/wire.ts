/**
 * The wire codec shared by every front and the client: Operation JSON in, Result JSON out
 * (docs/architecture.md §3, docs/protocol.md). Parsing validates once, at the boundary (STYLE.md §8):
 * what comes out of `parseOperation` is trusted by the engine and the stores.
 */
import { fail } from './errors.js';
import type { WireError } from './errors.js';
import {
  type Fields, type SpaceLookup, isFields, parseAttributes, parseExpireIn, parseAddSpace, parseSelect, parseSpaceName, parseTarget,
  parseVersion,
} from './fields.js';
import type { Limits } from './limits.js';
import type { EncodedSearchPage, SearchPage } from './plan.js';
import { parseMutations } from './mutations.js';
import {
  type FailedResult, type FoundObject, OBJECT_OP_NAMES, type ObjectOp, type Operation, type PlanSummary, type Result, type StoredObject,
  type TxFailedResult,
} from './operations.js';
import { parseCondition } from './predicates.js';
import { schemaToJson } from './schema-json.js';
import type { Key } from './types.js';
import { stringifyJson } from './json.js';
import { parseTx } from './tx.js';
import { parseSearchOperation } from './search.js';

const ALLOWED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  get: ['space', 'key'],
  get_partial: ['space', 'key', 'select'],
  put: ['space', 'key', 'attributes', 'expire_in'],
  put_if_not_exist: ['space', 'key', 'attributes', 'expire_in'],
  get_and_put: ['space', 'key', 'attributes', 'expire_in'],
  cond_put: ['space', 'key', 'if', 'attributes', 'expire_in'],
  cond_put_or_create: ['space', 'key', 'if', 'attributes', 'expire_in'],
  compare_and_swap: ['space', 'key', 'version', 'attributes', 'expire_in'],
  del: ['space', 'key', 'version'],
  cond_del: ['space', 'key', 'if'],
  get_and_del: ['space', 'key'],
  mutate: ['space', 'key', 'mutations', 'if', 'expire_in'],
  add_space: ['schema'],
  rm_space: ['space'],
  list_spaces: [],
  describe_space: ['space'],
  tx: ['checks', 'ops'],
  search: ['space', 'where', 'select', 'limit', 'cursor', 'explain'],
  sorted_search: ['space', 'where', 'sort_by', 'order', 'limit', 'select', 'explain'],
  count: ['space', 'where', 'explain'],
  list: ['space', 'start', 'end', 'prefix', 'reverse', 'limit', 'cursor', 'select'],
  group_del: ['space', 'where'],
  group_mutate: ['space', 'where', 'mutations'],
  add_index: ['space', 'attribute'],
  rm_index: ['space', 'attribute'],
};

const SEARCH_FAMILY: ReadonlySet<string> = new Set(['search', 'sorted_search', 'count', 'list', 'group_del', 'group_mutate', 'add_index', 'rm_index']);

export const OPERATION_NAMES: readonly string[] = Object.keys(ALLOWED_FIELDS);

function checkFields(op: string, input: Fields): void {
  const allowed = ALLOWED_FIELDS[op] as readonly string[];
  for (const field of Object.keys(input)) {
    if (field !== 'op' && field !== 'id' && !allowed.includes(field)) throw fail('bad_request', `operation '${op}' takes no field '${field}' (it takes: ${allowed.join(', ') || 'nothing'})`);
  }
}

/** The `op` of an operation's wire form, checked to be known and to come with only its own fields. */
function operationName(input: unknown): { readonly op: string; readonly fields: Fields } {
  if (!isFields(input)) throw fail('bad_request', 'an operation must be a JSON object with an \'op\' field');
  const op = input.op;
  if (typeof op !== 'string' || !Object.hasOwn(ALLOWED_FIELDS, op)) {
    throw fail('bad_request', `unknown operation ${JSON.stringify(op)}; expected one of ${OPERATION_NAMES.join(', ')}`);
  }
  checkFields(op, input);
  return { op, fields: input };
}

/**
 * Parse and validate one operation in its wire form. Throws a SpacekvError with a stable code.
 * An `id` field is the envelope's (WebSocket request id) and is ignored here.
 */
export function parseOperation(input: unknown, lookup: SpaceLookup, limits: Limits): Operation {
  const { op, fields } = operationName(input);
  switch (op) {
    case 'add_space':
      return parseAddSpace(fields.schema, limits);
    case 'list_spaces':
      return { op };
    case 'rm_space':
    case 'describe_space':
      return { op, space: parseSpaceName(fields.space) };
    case 'tx':
      return parseTx(fields, lookup, limits, (step) => parseTxStep(step, lookup, limits));
    default:
      if (SEARCH_FAMILY.has(op)) return parseSearchOperation(op, fields, lookup, limits);
      return parseObjectOperation(op, fields, lookup, limits);
  }
}

/** One operation of a tx: a single-key operation, parsed exactly as it is outside a tx. */
function parseTxStep(input: unknown, lookup: SpaceLookup, limits: Limits): ObjectOp {
  const { op, fields } = operationName(input);
  if (!OBJECT_OP_NAMES.has(op)) throw fail('bad_request', `a tx holds single-key operations only, not '${op}'`);
  if (Object.hasOwn(fields, 'id')) throw fail('bad_request', 'an operation inside a tx takes no id (the tx is one request)');
  return parseObjectOperation(op, fields, lookup, limits);
}

function parseObjectOperation(op: string, input: Fields, lookup: SpaceLookup, limits: Limits): ObjectOp {
  const { space, keyed: base } = parseTarget(input, lookup, limits);
  const expireIn = () => parseExpireIn(input.expire_in, limits);
  const attributes = () => parseAttributes(input.attributes ?? {}, space, limits);
  const condition = () => parseCondition(input.if ?? {}, space, limits);
  switch (op) {
    case 'get':
    case 'get_and_del':
      return { op, ...base };
    case 'get_partial':
      return { op, ...base, select: parseSelect(input.select, space, limits) };
    case 'put':
    case 'put_if_not_exist':
    case 'get_and_put':
      return { op, ...base, attributes: attributes(), expireIn: expireIn() };
    case 'cond_put':
    case 'cond_put_or_create':
      return { op, ...base, condition: condition(), attributes: attributes(), expireIn: expireIn() };
    case 'compare_and_swap':
      return { op, ...base, version: parseVersion(input.version), attributes: attributes(), expireIn: expireIn() };
    case 'del':
      return input.version === undefined ? { op, ...base } : { op, ...base, version: parseVersion(input.version) };
    case 'cond_del':
      return { op, ...base, condition: condition() };
    case 'mutate':
      return {
        op, ...base,
        mutations: parseMutations(input.mutations, space, limits),
        ...(input.if === undefined ? {} : { condition: condition() }),
        expireIn: expireIn(),
      };
    default:
      throw fail('bad_request', `unknown operation '${op}'`);
  }
}

function storedJson(stored: StoredObject): string {
  return `{"version":${stored.version},"attributes":${stored.attributesJson}}`;
}

/** Encode a failed result or a fault as the `error` member of a reply. */
export function errorJson(error: WireError): string {
  return stringifyJson(error);
}

/**
 * Encode a result as reply JSON. Attribute JSON from the store is spliced in as it is, so a read
 * never decodes and re-encodes the object. `open` begins the reply object: `{` alone, or with a
 * front's own members first (`{"id":7,`), so that the front does not copy the whole text to put
 * them in (a copy of every reply, 55 KB for a YCSB scan page).
 */
export function encodeResult(result: Result, open = '{'): string {
  if (!result.ok) return `${open}"ok":false,"error":${errorJson(resultError(result))}}`;
  switch (result.kind) {
    case 'object':
      return `${open}"ok":true,"key":${stringifyJson(result.key)},"version":${result.version},"attributes":${result.attributesJson}}`;
    case 'written': {
      let out = `${open}"ok":true,"key":${stringifyJson(result.key)},"version":${result.version},"created":${result.created}`;
      if (result.attributesJson !== undefined) out += `,"attributes":${result.attributesJson}`;
      if (result.previous !== undefined) out += `,"previous":${result.previous ? storedJson(result.previous) : 'null'}`;
      return `${out}}`;
    }
    case 'deleted':
      return `${open}"ok":true,"key":${stringifyJson(result.key)},"version":${result.version}${result.previous ? `,"previous":${storedJson(result.previous)}` : ''}}`;
    case 'space': {
      const warnings = result.warnings === undefined ? '' : `,"warnings":${stringifyJson(result.warnings)}`;
      return `${open}"ok":true,"space":${stringifyJson(schemaToJson(result.schema))}${warnings}}`;
    }
    case 'spaces':
      return `${open}"ok":true,"spaces":${stringifyJson(result.spaces.map(schemaToJson))}}`;
    case 'space_removed':
      return `${open}"ok":true,"space":${JSON.stringify(result.space)},"removed":true}`;
    case 'tx':
      return `${open}"ok":true,"seq":${result.seq ?? 'null'},"results":[${result.results.map((r) => encodeResult(r)).join(',')}]}`;
    case 'page': {
      const cursor = result.cursor === undefined ? '' : `,"cursor":${JSON.stringify(result.cursor)}`;
      return `${open}"ok":true,"objects":${result.objectsJson}${cursor}${planJson(result.plan)}}`;
    }
    case 'count':
      return `${open}"ok":true,"count":${result.count}${planJson(result.plan)}}`;
    case 'group':
      return `${open}"ok":true,"matched":${result.matched},"changed":${result.changed}}`;
  }
}

/** A store's page as a reply carries it: its objects as a JSON array of `{"key", "version", "attributes"}`. */
export function encodeSearchPage(page: SearchPage): EncodedSearchPage {
  let objectsJson = '[';
  for (let i = 0; i < page.objects.length; i++) {
    const found = page.objects[i] as FoundObject;
    objectsJson += `${i === 0 ? '' : ','}{"key":${stringifyJson(found.key)},"version":${found.version},"attributes":${found.attributesJson}}`;
  }
  return { objectsJson: `${objectsJson}]`, resumeAfter: page.resumeAfter };
}

/** `explain`: `"plan": {"kind": "index", "attribute": "age", "counted_from_index": true}` or `{"kind": "scan"}`. */
function planJson(plan: PlanSummary | undefined): string {
  if (plan === undefined) return '';
  if (plan.kind === 'scan') return ',"plan":{"kind":"scan"}';
  const counted = plan.countedFromIndex ? ',"counted_from_index":true' : '';
  return `,"plan":{"kind":"index","attribute":${JSON.stringify(plan.attribute)}${counted}}`;
}

/** The `error` member of a failed result: its code, message and the details of that code. */
function resultError(result: FailedResult | TxFailedResult): WireError {
  if (result.code === 'tx_failed') return { code: result.code, message: result.message, failures: result.failures };
  const { code, message, version } = result;
  return version === undefined ? { code, message } : { code, message, version };
}
