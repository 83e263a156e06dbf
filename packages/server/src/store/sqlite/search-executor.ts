/**
 * Runs search plans (core's plan.ts) on a read-only connection, in the search worker thread, so a
 * scan of a million rows never holds the event loop (docs/architecture.md §4.5). Each call reads one snapshot
 * (one read transaction), which includes every commit acknowledged before the call was made.
 *
 * SQL only selects candidates: a key range of the space's objects, or a byte range of one attribute's
 * index entries (whose BLOB order is core's comparison order). Every candidate is then tested with
 * core's evaluateCondition, so the answer is exactly the in-memory semantics whatever SQL did.
 */
import type Database from 'better-sqlite3';
import {
  type FoundObject, type IndexRange, type Key, type Limits, type SearchPage, type SearchPlan, Space, type SpaceSchema,
  SpacekvError, StepBudget, isPath,
} from '@spacekv/core';
import { BestByAttribute, type CandidateRow, type Match, match, withoutSortValue } from '../search-rows.js';
import { asBlob } from './index-entries.js';

/** Integers arrive as bigint only in int-keyed spaces (whose keys may pass 2^53); elsewhere as numbers, which is cheaper. */
type Row = [key: bigint | number | string, version: bigint | number, expiresAt: bigint | number | null, attrs: string];
type Params = Record<string, unknown>;

/** A key as core holds it: an int within ±2^53 is a number. */
export function keyOf(raw: bigint | number | string): Key {
  return typeof raw === 'bigint' && raw >= BigInt(Number.MIN_SAFE_INTEGER) && raw <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(raw) : raw;
}

/**
 * A key as SQLite binds it: whole numbers as bigints (INTEGER), so an int key past 2^53 compares
 * exactly; any other number (a float key) as a double (REAL). A whole float key (2) is thus stored
 * as INTEGER beside its space's REAL keys: SQLite compares INTEGER with REAL by exact numeric value,
 * so order and equality hold, and both read back as the same JS number (keyOf).
 */
export function bind(key: Key): unknown {
  return typeof key === 'number' && Number.isSafeInteger(key) ? BigInt(key) : key;
}

/** SQL conditions for an index range on alias `i`, with their parameters. */
function indexWhere(range: IndexRange, params: Params): string[] {
  params.attr = range.attribute;
  const where = ['i.space_id = @sid', 'i.attr = @attr'];
  if (range.lower) {
    params.lo = asBlob(range.lower.key);
    where.push(`i.value ${range.lower.inclusive ? '>=' : '>'} @lo`);
  }
  if (range.upper) {
    params.hi = asBlob(range.upper.key);
    where.push(`i.value ${range.upper.inclusive ? '<=' : '<'} @hi`);
  }
  return where;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * SQL tests that decide some top-level `eq` predicates exactly (strings, bytes and timestamps as
 * text, ints as 64-bit integers, bools as 1/0: json_extract gives each back exactly), so a scan
 * hands fewer rows to JavaScript, which still checks the whole condition. Anything SQLite might read
 * differently from core (floats, which it may round; text with surrogates, which UTF-8 cannot carry
 * alone) is left to JavaScript alone: a pushed-down test must never drop a match.
 */
function pushedDown(condition: SearchPlan['condition'], space: Space, params: Params): string[] {
  const where: string[] = [];
  condition.forEach((clause, i) => {
    if (clause.kind !== 'attr' || clause.op !== 'eq') return;
    const kind = space.attribute(clause.attribute)?.type.kind;
    const operand = clause.operand;
    let bound: unknown;
    if ((kind === 'string' || kind === 'bytes' || kind === 'timestamp') && typeof operand === 'string' && !SURROGATE.test(operand)) bound = operand;
    else if (kind === 'int' && (typeof operand === 'number' || typeof operand === 'bigint')) bound = BigInt(operand);
    else if (kind === 'bool' && typeof operand === 'boolean') bound = operand ? 1 : 0;
    else return;
    params[`eq${i}`] = bound;
    // Attribute names are identifiers (NAME_PATTERN), so they need no quoting in a JSON path.
    where.push(`json_extract(o.attrs, '$.${clause.attribute}') = @eq${i}`);
  });
  return where;
}

/**
 * The plan as this snapshot can run it: a plan made before an rm_index committed names an index
 * whose entries this snapshot no longer has, and scans instead (same answer, by the plan's condition).
 */
function withLiveIndex(plan: SearchPlan, space: Space): SearchPlan {
  const index = plan.access.index;
  return index && !space.isIndexed(index.attribute) ? { ...plan, access: { exact: false } } : plan;
}

export class SearchExecutor {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly spaceRow: Database.Statement;
  private readonly begin: Database.Statement;
  private readonly end: Database.Statement;
  /** Each space read so far, with the schema text it was made from (the catalog row's). */
  private readonly spaces = new Map<number, { readonly space: Space; readonly schemaText: string }>();
  /** What the current page or count may still spend on predicates. */
  private budget: StepBudget;

  constructor(private readonly db: Database.Database, private readonly limits: Limits) {
    this.spaceRow = db.prepare('SELECT id, schema, created_seq FROM spaces WHERE name = ?');
    this.begin = db.prepare('BEGIN');
    this.end = db.prepare('COMMIT');
    this.budget = StepBudget.forSearch(limits);
  }

  search(input: SearchPlan): SearchPage {
    return this.inSnapshot(() => {
      const { id, space } = this.spaceOf(input);
      const plan = withLiveIndex(input, space);
      return plan.order.by === 'key' ? this.keyOrdered(plan, id, space) : { objects: this.sorted(plan, id, space), resumeAfter: null };
    });
  }

  count(input: SearchPlan): number {
    return this.inSnapshot(() => {
      const { id, space } = this.spaceOf(input);
      const plan = withLiveIndex(input, space);
      const params: Params = { now: BigInt(plan.nowMs), sid: id };
      if (plan.access.exact && plan.access.index) {
        const where = indexWhere(plan.access.index, params).join(' AND ');
        return Number(this.prepare(`SELECT count(*) FROM index_entries AS i WHERE ${where} AND (i.expires_at IS NULL OR i.expires_at > @now)`).pluck().get(params));
      }
      if (plan.condition.length === 0 && !plan.access.index) {
        return Number(this.prepare('SELECT count(*) FROM objects WHERE space_id = @sid AND (expires_at IS NULL OR expires_at > @now)').pluck().get(params));
      }
      let count = 0;
      for (const row of this.candidates(plan, id, space, params, '')) if (this.matches(plan, space, row)) count++;
      return count;
    });
  }

  /** One search page or count: a snapshot, and a fresh budget for its predicates. */
  private inSnapshot<T>(run: () => T): T {
    this.budget = StepBudget.forSearch(this.limits);
    this.begin.run();
    try {
      return run();
    } finally {
      this.end.run();
    }
  }

  private spaceOf(plan: SearchPlan): { id: number; space: Space } {
    const row = this.spaceRow.get(plan.space) as { id: number; schema: string; created_seq: number } | undefined;
    if (!row || row.created_seq !== plan.spaceCreatedSeq) throw new SpacekvError('unknown_space', `no space named '${plan.space}'`);
    let known = this.spaces.get(row.id);
    // An add_index changes the schema of the same incarnation: compare the text, not only the id.
    // The text kept is the row's, so a search compares two strings rather than writing the schema
    // out again (JSON.stringify of it was 7 % of a search worker's time under YCSB E).
    if (!known || known.schemaText !== row.schema) {
      // Ids are never reused, so a removed space's entry would stay for good: spaces added and
      // removed in a loop would grow the map without end. Past the most spaces a store can hold at
      // once, forget them all; each live one is read again on its next search.
      if (!known && this.spaces.size >= this.limits.spacesMax) this.spaces.clear();
      known = { space: new Space(JSON.parse(row.schema) as SpaceSchema, row.created_seq), schemaText: row.schema };
      this.spaces.set(row.id, known);
    }
    return { id: row.id, space: known.space };
  }

  /** One page in key order: at most `limit` matches from at most `rowsMax` rows, and about `searchPageBytesMax` of attributes. */
  private keyOrdered(plan: SearchPlan, id: number, space: Space): SearchPage {
    const reverse = plan.order.by === 'key' && plan.order.reverse;
    const params: Params = { rows: plan.rowsMax };
    const objects: FoundObject[] = [];
    let examined = 0;
    let bytes = 0;
    let last: Key | null = null;
    for (const row of this.candidates(plan, id, space, params, `ORDER BY k ${reverse ? 'DESC' : 'ASC'} LIMIT @rows`)) {
      examined++;
      last = keyOf(row[0]);
      if (plan.keys.prefix !== undefined && !(last as string).startsWith(plan.keys.prefix)) return { objects, resumeAfter: null };
      const found = this.matches(plan, space, row);
      if (found) {
        objects.push(found);
        bytes += found.attributesJson.length;
      }
      if (objects.length === plan.limit || bytes > this.limits.searchPageBytesMax) return { objects, resumeAfter: last };
    }
    return { objects, resumeAfter: examined === plan.rowsMax ? last : null };
  }

  /** Rows of the plan's candidates, key-bounded, with `tail` (ORDER BY/LIMIT) appended. */
  private candidates(plan: SearchPlan, id: number, space: Space, params: Params, tail: string): IterableIterator<Row> {
    const index = plan.access.index;
    params.sid = id;
    const where = index ? indexWhere(index, params) : ['o.space_id = @sid'];
    const from = index ? 'index_entries AS i JOIN objects AS o ON o.space_id = i.space_id AND o.key = i.key' : 'objects AS o';
    const k = index ? 'i.key' : 'o.key';
    where.push(...this.keyWhere(plan, k, params), ...pushedDown(plan.condition, space, params));
    const sql = `SELECT ${k} AS k, o.version, o.expires_at, o.attrs FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ${tail}`;
    return this.prepare(sql, space.schema.key.type === 'int').iterate(params) as IterableIterator<Row>;
  }

  private keyWhere(plan: SearchPlan, k: string, params: Params): string[] {
    const { keys } = plan;
    const reverse = plan.order.by === 'key' && plan.order.reverse;
    const where: string[] = [];
    if (keys.after !== undefined) {
      params.after = bind(keys.after);
      where.push(`${k} ${reverse ? '<' : '>'} @after`);
    }
    if (keys.start !== undefined) {
      params.start = bind(keys.start);
      where.push(`${k} >= @start`);
    }
    if (keys.end !== undefined) {
      params.end = bind(keys.end);
      where.push(`${k} < @end`);
    }
    if (keys.prefix !== undefined) {
      // Every key with this prefix lies in [prefix, prefix + U+10FFFF × n] when n code points are
      // more than a key can hold; the scan stops at the first key past the prefix.
      params.prefix = keys.prefix;
      params.prefixTop = keys.prefix + '\u{10FFFF}'.repeat(Math.ceil(this.limits.keyBytesMax / 4) + 1);
      where.push(`${k} >= @prefix AND ${k} <= @prefixTop`);
    }
    return where;
  }

  /** The object of `row` if it is live and satisfies the plan's condition, narrowed to `select` (the shared matcher, search-rows.ts). */
  private matches(plan: SearchPlan, space: Space, row: Row): Match | undefined {
    return match(plan, space, this.candidateOf(row), this.budget);
  }

  private candidateOf(row: Row): CandidateRow {
    const expiresAt = row[2];
    return { key: keyOf(row[0]), version: Number(row[1]), expiresAt: expiresAt === null ? null : Number(expiresAt), attributesJson: row[3] };
  }

  /**
   * The first `limit` matches in the order of an attribute. Walks that attribute's index in order
   * when the plan's access is that index; otherwise keeps the best `limit` of every candidate.
   */
  private sorted(plan: SearchPlan, id: number, space: Space): FoundObject[] {
    if (plan.order.by !== 'attribute') return [];
    const { attribute, descending } = plan.order;
    const dir = descending ? 'DESC' : 'ASC';
    const params: Params = {};
    // A path's entries order numbers as floats: walking them could misplace ints past 2^53.
    if (plan.access.index?.attribute === attribute && !isPath(attribute)) {
      const out: FoundObject[] = [];
      for (const row of this.candidates(plan, id, space, params, `ORDER BY i.value ${dir}, i.key ${dir}`)) {
        const found = this.matches(plan, space, row);
        if (found) out.push(withoutSortValue(found));
        if (out.length === plan.limit) break;
      }
      return out;
    }
    const best = new BestByAttribute(plan, space, this.budget);
    for (const row of this.candidates(plan, id, space, params, '')) best.add(this.candidateOf(row));
    return best.objects();
  }

  private prepare(sql: string, wideIntegers = true): Database.Statement {
    // Spaces share tables, so int- and string-keyed spaces run the same SQL: the cache tells them apart.
    const cacheKey = `${wideIntegers ? 'wide' : 'narrow'} ${sql}`;
    let stmt = this.statements.get(cacheKey);
    if (!stmt) {
      stmt = this.db.prepare(sql).raw(true).safeIntegers(wideIntegers);
      this.statements.set(cacheKey, stmt);
      if (this.statements.size > 256) this.statements.delete(this.statements.keys().next().value as string);
    }
    return stmt;
  }
}
