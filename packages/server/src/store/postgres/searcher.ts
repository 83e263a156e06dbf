/**
 * Search plans (core's plan.ts) on PostgreSQL. A page is one snapshot that includes every commit
 * acknowledged before the call: one statement when its first chunk of candidates decides the page
 * (an indexed equality, any page whose matches come early), else a REPEATABLE READ READ ONLY
 * transaction the store opens, with a statement per chunk. SQL only selects candidates, in chunks:
 * a key range of the space's objects, or a byte range of one attribute's index entries (whose
 * bytea order is core's comparison order); every candidate is then tested by the shared matcher
 * (search-rows.ts), so the answer is exactly the in-memory semantics whatever SQL did.
 *
 * The one statement saves three of the transaction's four round trips (BEGIN, the schema, the
 * chunk, COMMIT), which were most of an indexed search's time on a loaded machine.
 *
 * The space's schema is read in the same snapshot as its rows, so the index entries a plan uses
 * are those of an index the snapshot has whole: a plan made before an rm_index scans instead.
 */
import {
  type IndexRange, type Key, type Limits, type SearchPage, type SearchPlan, Space, type SpaceSchema, SpacekvError, StepBudget, isPath, prefixSuccessor,
} from '@spacekv/core';
import { BestByAttribute, type CandidateRow, KeyOrderedPage, counts, match, withoutSortValue } from '../search-rows.js';
import type { Queries } from './connection.js';
import { keyBytes, keyFromBytes } from './key-bytes.js';


/** Rows a search reads per statement. */
const CHUNK_ROWS = 1_000;

interface CandidateSqlRow {
  key: Buffer;
  value?: Buffer;
  version: string;
  expires_at: string | null;
  attrs: string;
}

interface SpaceSqlRow {
  created_seq: string;
  schema: string;
}

/** A row of the one-statement search: the space's catalog row (key null) or a candidate (created_seq and schema null). */
type CatalogOrCandidateRow = { [column in keyof (CandidateSqlRow & SpaceSqlRow)]: (CandidateSqlRow & SpaceSqlRow)[column] | null };

/** How the store runs the searcher's statements: one alone, or several in one snapshot. */
export interface Readers {
  statement<T>(work: (sql: Queries) => Promise<T>): Promise<T>;
  snapshot<T>(work: (tx: Queries) => Promise<T>): Promise<T>;
}

/** A WHERE clause under construction, numbering its parameters. */
class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  add(clause: string): void {
    this.clauses.push(clause);
  }

  get text(): string {
    return this.clauses.join(' AND ');
  }
}

/** The plan as this snapshot can run it: an index the schema no longer has is not used (same answer, by the condition). */
function withLiveIndex(plan: SearchPlan, space: Space): SearchPlan {
  const index = plan.access.index;
  return index && !space.isIndexed(index.attribute) ? { ...plan, access: { exact: false } } : plan;
}

export class PgSearcher {
  /** Spaces by incarnation and schema text: a schema changes (add_index) without a new incarnation. */
  private readonly spaces = new Map<string, Space>();
  /** The last space read of each incarnation: its key type (which never changes) lets a search's SQL be written before its schema is read. */
  private readonly latest = new Map<number, Space>();

  constructor(private readonly limits: Limits) {}

  async search(readers: Readers, input: SearchPlan): Promise<SearchPage> {
    // The key type of the space's incarnation writes the statement; its first search reads it in a snapshot.
    const known = this.latest.get(input.spaceCreatedSeq);
    if (input.order.by === 'key' && known) {
      const { reverse } = input.order;
      const page = await readers.statement((sql) => this.inOneStatement(sql, input, known, reverse));
      if (page) return page;
    }
    return readers.snapshot((tx) => this.inSnapshot(tx, input));
  }

  private async inSnapshot(tx: Queries, input: SearchPlan): Promise<SearchPage> {
    const space = await this.spaceOf(tx, input);
    const plan = withLiveIndex(input, space);
    const budget = StepBudget.forSearch(this.limits);
    if (plan.order.by === 'key') {
      const page = new KeyOrderedPage(plan, space, this.limits.searchPageBytesMax, budget);
      await this.inKeyOrder(tx, plan, space, plan.order.reverse, (row) => page.add(row));
      return page.page();
    }
    const { attribute, descending } = plan.order;
    // A path's entries order numbers as floats: walking them could misplace ints past 2^53.
    if (plan.access.index?.attribute === attribute && !isPath(attribute)) {
      return { objects: await this.inIndexOrder(tx, plan, space, descending, budget), resumeAfter: null };
    }
    const best = new BestByAttribute(plan, space, budget);
    await this.inKeyOrder(tx, plan, space, false, (row) => {
      best.add(row);
      return true;
    });
    return { objects: best.objects(), resumeAfter: null };
  }

  async count(tx: Queries, input: SearchPlan): Promise<number> {
    const space = await this.spaceOf(tx, input);
    const plan = withLiveIndex(input, space);
    const index = plan.access.index;
    if ((plan.access.exact && index) || (plan.condition.length === 0 && !index)) {
      // Decided by SQL alone: index entries (one per object and value), or every live object.
      const where = this.where(plan, space, index ? 'i' : 'o');
      const table = index ? 'index_entries i' : 'objects o';
      where.add(`(${index ? 'i' : 'o'}.expires_at IS NULL OR ${index ? 'i' : 'o'}.expires_at > ${where.param(plan.nowMs)})`);
      const [row] = await tx.unsafe<{ n: string }[]>(`SELECT count(*) AS n FROM ${table} WHERE ${where.text}`, where.params as never[], { prepare: true });
      return Number(row?.n ?? 0);
    }
    let found = 0;
    const budget = StepBudget.forSearch(this.limits);
    await this.inKeyOrder(tx, plan, space, false, (row) => {
      if (counts(plan, space, row, budget)) found++;
      return true;
    });
    return found;
  }

  /**
   * A key-ordered page from one statement: the space's catalog row beside the first chunk of
   * candidates. Undefined when that cannot decide it: the chunk is full and the page wants more
   * (the next chunks must come from the same snapshot), or the snapshot's schema no longer has the
   * plan's index. `known`: a space of the plan's incarnation, for its key type.
   */
  private async inOneStatement(sql: Queries, input: SearchPlan, known: Space, reverse: boolean): Promise<SearchPage | undefined> {
    const { text, where, after, chunk } = this.firstChunk(input, known, reverse);
    // The catalog row (its key is null) beside the candidates; the schema once, not on every row. No
    // ORDER BY around the UNION ALL: it made PostgreSQL sort every row again, about a quarter of its
    // CPU for an indexed equality (issue 18), and the rows are put in key order here instead.
    const rows = await sql.unsafe<CatalogOrCandidateRow[]>(
      `SELECT NULL::bytea AS key, NULL::bigint AS version, NULL::bigint AS expires_at, NULL::text AS attrs, s.created_seq, s.schema
         FROM spaces s WHERE s.name = ${where.param(input.space)}
       UNION ALL
       SELECT c.key, c.version, c.expires_at, c.attrs, NULL, NULL FROM (${text}) c`,
      where.params as never[],
      { prepare: true },
    );
    const catalog = rows.find((row) => row.key === null) as SpaceSqlRow | undefined;
    const space = this.spaceFrom(catalog, input);
    const plan = withLiveIndex(input, space);
    if (plan !== input) return undefined;
    const candidates = inKeyOrder(rows.filter((row) => row.key !== null) as CandidateSqlRow[], reverse);
    const page = new KeyOrderedPage(plan, space, this.limits.searchPageBytesMax, StepBudget.forSearch(this.limits));
    return fed(candidates, after, chunk, space, (row) => page.add(row)).done ? page.page() : undefined;
  }

  /** The space as this snapshot has it, if it is still the plan's incarnation. */
  private async spaceOf(tx: Queries, plan: SearchPlan): Promise<Space> {
    const [row] = await tx.unsafe<SpaceSqlRow[]>('SELECT created_seq, schema FROM spaces WHERE name = $1', [plan.space], { prepare: true });
    return this.spaceFrom(row, plan);
  }

  /** The space of a catalog row, if it is the plan's incarnation (`unknown_space` otherwise). */
  private spaceFrom(row: SpaceSqlRow | undefined, plan: SearchPlan): Space {
    if (!row || Number(row.created_seq) !== plan.spaceCreatedSeq) throw new SpacekvError('unknown_space', `no space named '${plan.space}'`);
    const id = `${row.created_seq} ${row.schema}`;
    let space = this.spaces.get(id);
    if (!space) {
      space = new Space(JSON.parse(row.schema) as SpaceSchema, plan.spaceCreatedSeq);
      if (this.spaces.size >= 256) this.spaces.clear();
      this.spaces.set(id, space);
    }
    if (this.latest.size >= 256) this.latest.clear();
    this.latest.set(plan.spaceCreatedSeq, space);
    return space;
  }

  /**
   * The conditions every candidate query shares, on alias `o` (objects) or `i` (index entries):
   * the space, the plan's key bounds and, on entries, the index range.
   */
  private where(plan: SearchPlan, space: Space, alias: 'o' | 'i'): Where {
    const where = new Where();
    const k = `${alias}.key`;
    where.add(`${alias}.space_seq = ${where.param(space.createdSeq)}`);
    const { keys } = plan;
    if (keys.start !== undefined) where.add(`${k} >= ${where.param(keyBytes(keys.start, space.schema.key.type))}`);
    if (keys.end !== undefined) where.add(`${k} < ${where.param(keyBytes(keys.end, space.schema.key.type))}`);
    if (keys.prefix !== undefined) {
      // Every key with this prefix lies in [prefix, successor): the prefix's bytes start the key's.
      const prefix = keyBytes(keys.prefix, space.schema.key.type);
      where.add(`${k} >= ${where.param(prefix)}`);
      const top = prefixSuccessor(Uint8Array.from(prefix)); // a copy: Buffer's slice, which it uses, would share (and change) the prefix
      if (top) where.add(`${k} < ${where.param(Buffer.from(top))}`);
    }
    const index = plan.access.index;
    if (alias === 'i' && index) {
      where.add(`i.attr = ${where.param(index.attribute)}`);
      const point = pointValue(index);
      // One value: the entries lie in key order in the primary key, so PostgreSQL reads them in order
      // and stops at the LIMIT, where a range (even of one value) has it join and sort every entry first.
      if (point) where.add(`i.value = ${where.param(point)}`);
      else if (index.lower) where.add(`i.value ${index.lower.inclusive ? '>=' : '>'} ${where.param(Buffer.from(index.lower.key))}`);
      if (!point && index.upper) where.add(`i.value ${index.upper.inclusive ? '<=' : '<'} ${where.param(Buffer.from(index.upper.key))}`);
    }
    return where;
  }

  private from(plan: SearchPlan): { from: string; alias: 'o' | 'i' } {
    return plan.access.index
      ? { from: 'index_entries i JOIN objects o ON o.space_seq = i.space_seq AND o.key = i.key', alias: 'i' }
      : { from: 'objects o', alias: 'o' };
  }

  /** Feed the plan's candidates to `take` in key order, a chunk at a time, until it returns false or they run out. */
  private async inKeyOrder(tx: Queries, plan: SearchPlan, space: Space, reverse: boolean, take: (row: CandidateRow) => boolean): Promise<void> {
    let next = this.firstChunk(plan, space, reverse);
    for (;;) {
      const rows = await tx.unsafe<CandidateSqlRow[]>(next.text, next.where.params as never[], { prepare: true });
      const { done, last } = fed(rows, next.after, next.chunk, space, take);
      if (done) return;
      next = this.chunkAfter(plan, space, reverse, last, CHUNK_ROWS);
    }
  }

  private firstChunk(plan: SearchPlan, space: Space, reverse: boolean): ChunkQuery {
    const after = plan.keys.after === undefined ? undefined : keyBytes(plan.keys.after, space.schema.key.type);
    // A page whose candidates all match (no condition, or an exact index range) takes its first
    // `limit` live rows: read no more than that first, not a chunk of rows mostly thrown away.
    const allMatch = plan.condition.length === 0 || (plan.access.exact && plan.access.index !== undefined);
    return this.chunkAfter(plan, space, reverse, after, plan.order.by === 'key' && allMatch ? Math.min(plan.limit, CHUNK_ROWS) : CHUNK_ROWS);
  }

  /** The statement reading the next `chunk` candidates in key order after key bytes `after`. */
  private chunkAfter(plan: SearchPlan, space: Space, reverse: boolean, after: Buffer | undefined, chunk: number): ChunkQuery {
    const { from, alias } = this.from(plan);
    const where = this.where(plan, space, alias);
    if (after !== undefined) where.add(`${alias}.key ${reverse ? '<' : '>'} ${where.param(after)}`);
    const text = `SELECT ${alias}.key, o.version, o.expires_at, o.attrs FROM ${from} WHERE ${where.text}
         ORDER BY ${alias}.key ${reverse ? 'DESC' : 'ASC'} LIMIT ${where.param(chunk)}`;
    return { text, where, after, chunk };
  }

  /** The first `limit` matches in the order of the plan's index attribute, then key: a walk of its entries. */
  private async inIndexOrder(tx: Queries, plan: SearchPlan, space: Space, descending: boolean, budget: StepBudget): Promise<ReturnType<typeof withoutSortValue>[]> {
    const dir = descending ? 'DESC' : 'ASC';
    const keyType = space.schema.key.type;
    const out: ReturnType<typeof withoutSortValue>[] = [];
    let after: { value: Buffer; key: Buffer } | undefined;
    for (;;) {
      const where = this.where(plan, space, 'i');
      if (after) where.add(`(i.value, i.key) ${descending ? '<' : '>'} (${where.param(after.value)}, ${where.param(after.key)})`);
      const rows = await tx.unsafe<CandidateSqlRow[]>(
        `SELECT i.key, i.value, o.version, o.expires_at, o.attrs FROM ${this.from(plan).from} WHERE ${where.text}
         ORDER BY i.value ${dir}, i.key ${dir} LIMIT ${CHUNK_ROWS}`,
        where.params as never[],
        { prepare: true },
      );
      for (const row of rows) {
        const found = match(plan, space, candidateOf(row, keyType), budget);
        if (found) out.push(withoutSortValue(found));
        if (out.length === plan.limit) return out;
      }
      const last = rows[rows.length - 1];
      if (rows.length < CHUNK_ROWS || !last) return out;
      after = { value: last.value as Buffer, key: last.key };
    }
  }
}

interface ChunkQuery {
  readonly text: string;
  /** Its parameters; a statement wrapping it numbers its own after them. */
  readonly where: Where;
  readonly after: Buffer | undefined;
  readonly chunk: number;
}

/**
 * Feed one chunk's rows, read after key bytes `after`, to `take`: done once `take` returns false or
 * the chunk was the last (short); otherwise the last key read, where the next chunk starts.
 */
function fed(rows: readonly CandidateSqlRow[], after: Buffer | undefined, chunk: number, space: Space, take: (row: CandidateRow) => boolean): { done: boolean; last: Buffer | undefined } {
  let previous = after;
  for (const row of rows) {
    // A collection's object has an entry per element: a range may meet it more than once.
    if (previous?.equals(row.key)) continue;
    previous = row.key;
    if (!take(candidateOf(row, space.schema.key.type))) return { done: true, last: previous };
  }
  return { done: rows.length < chunk, last: previous };
}

/** The bytes of the one index value `index` admits (both bounds inclusive and equal), if so. */
function pointValue(index: IndexRange): Buffer | undefined {
  const { lower, upper } = index;
  if (!lower?.inclusive || !upper?.inclusive || Buffer.compare(lower.key, upper.key) !== 0) return undefined;
  return Buffer.from(lower.key);
}

/** `rows` in key order (descending when `reverse`); rows already in order, as PostgreSQL sends them, cost one pass. */
function inKeyOrder(rows: CandidateSqlRow[], reverse: boolean): CandidateSqlRow[] {
  const order = reverse ? (a: CandidateSqlRow, b: CandidateSqlRow) => Buffer.compare(b.key, a.key) : (a: CandidateSqlRow, b: CandidateSqlRow) => Buffer.compare(a.key, b.key);
  for (let i = 1; i < rows.length; i++) {
    if (order(rows[i - 1] as CandidateSqlRow, rows[i] as CandidateSqlRow) > 0) return rows.sort(order);
  }
  return rows;
}

function candidateOf(row: CandidateSqlRow, keyType: Space['schema']['key']['type']): CandidateRow {
  const key: Key = keyFromBytes(row.key, keyType);
  return { key, version: Number(row.version), expiresAt: row.expires_at === null ? null : Number(row.expires_at), attributesJson: row.attrs };
}
