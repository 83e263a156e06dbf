/**
 * One group-commit batch on PostgreSQL (docs/architecture.md §4.4), run by the store inside one
 * transaction. The seq must stay gapless and in commit order across every server process, so a
 * batch takes its seq range from `last_seq` only while it holds the meta row lock, and holds that
 * lock until COMMIT. When it takes the lock is the store's choice (postgres-store.ts):
 * - while other servers write too, a batch of object operations locks only the rows it names
 *   (SELECT ... FOR UPDATE) while it reads them, runs its members in memory on provisional seqs
 *   (provisional-seqs.ts), and takes the meta row lock in its last round trip: the first statement
 *   of that round trip bumps `last_seq` by the batch's count and logs its changes, the writes
 *   behind it compute their versions in SQL from the bumped `last_seq`, and COMMIT follows, so the
 *   lock is held for those statements and the WAL flush only. Rows it found absent cannot be
 *   locked; it inserts them with a plain INSERT, and checks those it only read as absent by
 *   inserting and deleting them, so a key another batch created meanwhile fails the batch with a
 *   unique violation on `objects` (23505), which the store runs again like a 40001. A catalog that
 *   moved since the batch read it fails the bump (`isCatalogMoved`), and the store runs it again;
 * - a batch of a server writing alone, and a batch that changes the catalog (add_space, rm_space,
 *   rm_index, all rare), takes the meta row lock first and reads its rows under it, numbering on
 *   the real seqs: nothing else writes objects without that lock, so they need no row locks and
 *   no guards.
 *
 * Round trips stay few and independent of the batch size: the rows the batch names are fetched
 * with one query per space, the members run in memory through the same steps as SQLite's
 * (write-steps.ts) against those rows plus the batch's own writes, and the results are written
 * back pipelined: one statement for the meta row and the change log, one for the object rows of
 * each kind (which take their text from the log rows), then deletions and index entries per space.
 * A member that fails is undone in memory (the journal below), which is this store's savepoint. Adding or removing a space or an index only writes catalog rows
 * (layout.ts), queued in memory like the rest, so a batch never runs DDL and never needs a real
 * SAVEPOINT.
 */
import {
  type AddSpaceOp, type Attributes, type Change, type Key, type Limits, type RmIndexOp, type RmSpaceOp, type StoredObject, type WireError,
  SpacekvError, fail, largeValueIds, parseJson, stringifyJson,
} from '@spacekv/core';
import type { BatchMember, MemberOutcome } from '../store.js';
import { type MemberResult, ReplyBudget, type SpaceRows, type StepContext, type StepTarget, applyExpire, applyStep, runTx } from '../write-steps.js';
import { type PgCatalog, type PgSpace, maintainedIndexes } from './catalog.js';
import { type Session } from './connection.js';
import { byteaArray, integerArray, textArray } from './array-literals.js';
import { indexEntriesOf } from './index-entries.js';
import { keyBytes, keyFromBytes } from './key-bytes.js';
import { rowsOfKeys } from './keyed-rows.js';
import { INSERT_ENTRIES } from './layout.js';
import { PROVISIONAL_ZERO, settleOutcomes } from './provisional-seqs.js';
type Row = StoredObject | null;

/** The rows a batch names, one index probe per key (keyed-rows.ts); locked when the batch reads them before it holds the meta row lock. */
const FETCH_SQL = `SELECT o.key, o.version, o.expires_at, o.attrs FROM ${rowsOfKeys('$1', '$2::bytea[]', false)}`;
const FETCH_LOCKED_SQL = `SELECT o.key, o.version, o.expires_at, o.attrs FROM ${rowsOfKeys('$1', '$2::bytea[]', true)}`;
/**
 * The batch's seqs are sent as their rank n in the batch (1..count); a statement behind the bump
 * (SEQ_SQL) turns rank n into the seq `b.base + n`, reading the meta row this transaction locked and
 * bumped by `count` (the parameter `countParam`).
 */
const baseAfterBump = (countParam: string): string => `(SELECT last_seq - ${countParam} AS base FROM meta WHERE id = 1) b`;
/** Large values the batch's rows refer to, adopted at the seq of the row that refers to them. */
const ADOPT_SQL = `UPDATE large_values SET adopted_seq = b.base + v.n FROM unnest($1::text[], $2::int8[]) AS v(id, n), ${baseAfterBump('$3')}
  WHERE large_values.id = v.id AND large_values.adopted_seq IS NULL`;

/**
 * The meta row lock, the batch's seq range and its change log rows, in one statement, the first
 * of the batch's last round trip: `last_seq` moves on by the batch's count ($1), and the range's
 * base comes back, with how long the statement waited for the lock (both times on the database's
 * clock, so the store can tell its lock hold from its wait). Only while the catalog is the one the
 * batch ran against (catalog_gen = $4): otherwise no row is updated, the log rows get a null seq,
 * and the not-null violation (`isCatalogMoved`) aborts the transaction before any write behind it
 * runs.
 */
const SEQ_SQL = (notify: boolean): string => `WITH taken AS (
    UPDATE meta SET last_seq = last_seq + $1, catalog_seq = COALESCE($2::int8, catalog_seq), catalog_gen = catalog_gen + $3
    WHERE id = 1 AND catalog_gen = $4
    RETURNING last_seq - $1 AS base, (EXTRACT(EPOCH FROM clock_timestamp() - statement_timestamp()) * 1000)::float8 AS waited_ms
  ), logged AS (
    INSERT INTO changes (seq, idx, space, key_json, op, attrs, committed_at)
    SELECT (SELECT base FROM taken) + c.n, c.idx, c.space, c.key_json, c.op, c.attrs, c.committed_at
    FROM unnest($5::int8[], $6::int4[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int8[]) AS c(n, idx, space, key_json, op, attrs, committed_at)
  )
  SELECT base, waited_ms${notify ? ', pg_notify($12, $13)' : ''} FROM taken`;
const SEQ_PLAIN_SQL = SEQ_SQL(false);
const SEQ_NOTIFY_SQL = SEQ_SQL(true);

/**
 * Object rows, behind the seq bump. Every object row a batch writes is the state one of its changes
 * logged (a write step logs the whole object it writes), so a row names that change (its rank n and
 * idx) and takes its text from the change log row this transaction just wrote: an object's text
 * crosses the wire and PostgreSQL's array parser once, not once for the log and again for the row.
 * The log row is found by a primary-key probe per row (LATERAL, LIMIT 1), whatever plan the
 * statement was prepared with (keyed-rows.ts says why). Rows the batch read (and locked, or holds
 * under the meta row lock) are upserted; rows it found absent are inserted with a plain INSERT, so
 * a key another batch created meanwhile fails with 23505 instead of being overwritten. Two
 * statements, not one with two modifying CTEs: CockroachDB refuses a statement that modifies one
 * table twice (docs/postgres.md, Portability).
 */
const INSERT_OBJECTS_SQL = `INSERT INTO objects (space_seq, key, version, expires_at, attrs)
  SELECT r.space_seq, r.key, c.seq, r.expires_at, c.attrs
  FROM unnest($1::int8[], $2::bytea[], $3::int8[], $4::int4[], $5::int8[]) AS r(space_seq, key, n, idx, expires_at)
  CROSS JOIN ${baseAfterBump('$6')}
  CROSS JOIN LATERAL (SELECT seq, attrs FROM changes WHERE seq = b.base + r.n AND idx = r.idx LIMIT 1) c`;
const UPSERT_OBJECTS_SQL = `${INSERT_OBJECTS_SQL}
  ON CONFLICT (space_seq, key) DO UPDATE SET version = excluded.version, expires_at = excluded.expires_at, attrs = excluded.attrs`;

/** The seq bump's answer: the seq the batch's range starts after, and how long the bump waited for the meta row lock. */
export interface SeqRange {
  readonly base: number;
  readonly waitedMs: number;
}

/** Where the other servers listen: the batch's last round trip wakes them (postgres-store.ts). */
export interface Wakeup {
  readonly channel: string;
  readonly payload: string;
}

interface Written {
  readonly key: Key;
  readonly row: Row;
}

/** How to undo one write: the table's pending entry for the key before it (undefined: none). */
interface Undo {
  readonly rows: BatchRows;
  readonly key: string;
  readonly before: Written | undefined;
}

/** One space's rows as this batch sees them: what was fetched, overlaid with what the batch wrote. */
class BatchRows implements SpaceRows, StepTarget {
  readonly rows = this;
  /** Rows as committed before the batch, by key text; null when absent. */
  readonly fetched = new Map<string, Row>();
  /** The keys fetched as absent, by key text. */
  readonly absent = new Map<string, Key>();
  /** The batch's writes, by key text: the final state each key will be written to. */
  readonly written = new Map<string, Written>();

  constructor(readonly entry: PgSpace, private readonly journal: Undo[]) {}

  get space(): PgSpace['space'] {
    return this.entry.space;
  }

  read(key: Key): Row {
    const text = String(key);
    const written = this.written.get(text);
    if (written) return written.row;
    const fetched = this.fetched.get(text);
    if (fetched === undefined) throw new Error(`internal: the row '${text}' of space ${this.entry.space.createdSeq} was not fetched`);
    return fetched;
  }

  write(key: Key, version: number, expiresAt: number | null, attributesJson: string): void {
    this.set(key, { version, expiresAt, attributesJson });
  }

  remove(key: Key): void {
    this.set(key, null);
  }

  private set(key: Key, row: Row): void {
    const text = String(key);
    this.journal.push({ rows: this, key: text, before: this.written.get(text) });
    this.written.set(text, { key, row });
  }
}

interface FetchedRow {
  key: Buffer;
  version: string;
  expires_at: string | null;
  attrs: string;
}

/** The objects a member reads or writes, as (space, incarnation, key). */
function targetsOf(member: BatchMember): { space: string; createdSeq: number | undefined; key: Key }[] {
  const write = member.op;
  switch (write.op) {
    case 'add_space':
    case 'rm_space':
    case 'rm_index':
      return [];
    case 'tx':
      return [...write.checks, ...write.ops].map((t) => ({ space: t.space, createdSeq: t.spaceCreatedSeq, key: t.key }));
    default:
      return [{ space: write.space, createdSeq: member.spaceCreatedSeq, key: write.key }];
  }
}

/** Whether the batch changes the catalog: then it takes the meta row lock before anything else. */
export function changesCatalog(member: BatchMember): boolean {
  return member.op.op === 'add_space' || member.op.op === 'rm_space' || member.op.op === 'rm_index';
}

function faultOf(err: unknown): WireError {
  if (err instanceof SpacekvError) return err.toWire();
  return { code: 'internal', message: `storage fault: ${(err as Error).message}` };
}

/** Object rows of one kind (upserts or inserts) across the batch's spaces, as the parameters of INSERT_OBJECTS_SQL. */
class ObjectRows {
  private readonly spaceSeqs: number[] = [];
  private readonly keys: Buffer[] = [];
  private readonly ranks: number[] = [];
  private readonly idxs: number[] = [];
  private readonly expiries: (number | null)[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** A row, from the change that logged it: its seq's rank in the batch and its idx among that seq's changes. */
  add(spaceSeq: number, key: Buffer, rank: number, idx: number, expiresAt: number | null): void {
    this.spaceSeqs.push(spaceSeq);
    this.keys.push(key);
    this.ranks.push(rank);
    this.idxs.push(idx);
    this.expiries.push(expiresAt);
  }

  parameters(seqCount: number): unknown[] {
    return [integerArray(this.spaceSeqs), byteaArray(this.keys), integerArray(this.ranks), integerArray(this.idxs), integerArray(this.expiries), seqCount];
  }
}

export class PgBatch implements StepContext {
  /** The rows of each space the batch touched, by incarnation. */
  private readonly tables = new Map<number, BatchRows>();
  /** Catalog rows to write, in the order the members changed them (a space added then removed in one batch). */
  private readonly catalogWrites: { readonly text: string; readonly params: unknown[] }[] = [];
  private readonly journal: Undo[] = [];
  private readonly changes: Change[] = [];
  /** The seq the batch numbers after: `last_seq` under the lock, or PROVISIONAL_ZERO. */
  private startSeq = 0;
  private seq = 0;
  /** The catalog_gen the batch runs against: its seq range is taken only while the meta row still has it. */
  private readonly catalogGen: number;
  private catalogSeq: number;
  private readonly startCatalogSeq: number;
  readonly replies: ReplyBudget;

  /**
   * `lockedRows`: the batch reads its rows before it holds the meta row lock, so it locks the rows
   * it reads and guards those it found absent (see the top of this file).
   */
  constructor(
    private readonly tx: Session,
    private readonly catalog: PgCatalog,
    readonly limits: Limits,
    private readonly nowMs: number,
    private readonly lockedRows: boolean,
  ) {
    this.catalogSeq = this.startCatalogSeq = catalog.seq;
    this.catalogGen = catalog.gen;
    this.replies = new ReplyBudget(limits);
  }

  /**
   * Run every member in order, numbering its writes after `lastSeq` when it was read under the
   * meta row lock, else (null) on provisional seqs; `flush` then writes the results, COMMIT is the
   * caller's, and `settle` gives the outcomes their committed seqs.
   */
  async execute(members: readonly BatchMember[], lastSeq: number | null): Promise<MemberOutcome[]> {
    this.startSeq = this.seq = lastSeq ?? PROVISIONAL_ZERO;
    await this.fetch(members);
    const outcomes: MemberOutcome[] = [];
    for (const member of members) outcomes.push(await this.runMember(member));
    return outcomes;
  }

  target(name: string, createdSeq: number | undefined): StepTarget {
    const entry = this.catalog.get(name);
    if (!entry || (createdSeq !== undefined && entry.space.createdSeq !== createdSeq)) throw fail('unknown_space', `no space named '${name}'`);
    return this.rowsOf(entry);
  }

  undoMember(): void {
    for (let i = this.journal.length - 1; i >= 0; i--) {
      const { rows, key, before } = this.journal[i] as Undo;
      if (before) rows.written.set(key, before);
      else rows.written.delete(key);
    }
    this.journal.length = 0; // emptied in place: every BatchRows holds this array
  }

  private rowsOf(entry: PgSpace): BatchRows {
    let rows = this.tables.get(entry.space.createdSeq);
    if (!rows) {
      rows = new BatchRows(entry, this.journal);
      this.tables.set(entry.space.createdSeq, rows);
    }
    return rows;
  }

  /**
   * Fetch, one query per space (pipelined), every row the members name that this batch has not
   * read yet, locking them when the batch reads before it holds the meta row lock. Rows of spaces
   * unknown here are left alone: those members fail `unknown_space`.
   */
  async fetch(members: readonly BatchMember[]): Promise<void> {
    const wanted = new Map<BatchRows, Map<string, Key>>();
    for (const member of members) {
      for (const { space, createdSeq, key } of targetsOf(member)) {
        const entry = this.catalog.get(space);
        if (!entry || (createdSeq !== undefined && entry.space.createdSeq !== createdSeq)) continue;
        const rows = this.rowsOf(entry);
        const text = String(key);
        if (rows.fetched.has(text)) continue;
        let keys = wanted.get(rows);
        if (!keys) wanted.set(rows, (keys = new Map()));
        keys.set(text, key);
      }
    }
    if (wanted.size === 0) return;
    await Promise.all([...wanted].map(async ([rows, keys]) => {
      const list = [...keys.values()];
      const found = await this.tx.unsafe<FetchedRow[]>(
        this.lockedRows ? FETCH_LOCKED_SQL : FETCH_SQL,
        [rows.space.createdSeq, byteaArray(list.map((key) => keyBytes(key, rows.space.schema.key.type)))] as never[],
        { prepare: true },
      );
      const keyType = rows.space.schema.key.type;
      for (const row of found) {
        rows.fetched.set(String(keyFromBytes(row.key, keyType)), {
          version: Number(row.version), expiresAt: row.expires_at === null ? null : Number(row.expires_at), attributesJson: row.attrs,
        });
      }
      for (const key of list) {
        const text = String(key);
        if (rows.fetched.has(text)) continue;
        rows.fetched.set(text, null);
        rows.absent.set(text, key);
      }
    }));
  }

  /** Run one member so that its failure is its own: its writes are undone and its seq given back. */
  private async runMember(member: BatchMember): Promise<MemberOutcome> {
    const { op } = member;
    const seqBefore = this.seq;
    this.journal.length = 0;
    try {
      if (op.op === 'add_space' || op.op === 'rm_space') return await this.runAdmin(op);
      if (op.op === 'rm_index') return await this.runRmIndex(op, member.spaceCreatedSeq);
      await this.fetch([member]); // a no-op unless a space was added earlier in this batch
      let outcome: MemberResult;
      if (op.op === 'tx') {
        outcome = runTx(op, this, this.seq + 1, this.nowMs);
      } else {
        const target = this.target(op.space, member.spaceCreatedSeq);
        const seq = this.seq + 1;
        const step = op.op === 'expire' ? applyExpire(op, target, seq, this.nowMs) : applyStep(op, target, seq, this.nowMs, this.limits);
        outcome = { result: step.result, changes: step.change ? [step.change] : [] };
      }
      if (outcome.changes.length > 0) this.seq += 1;
      this.changes.push(...outcome.changes);
      return outcome;
    } catch (err) {
      this.undoMember();
      this.seq = seqBefore;
      return { fault: faultOf(err) };
    }
  }

  /** Add or remove a space: a catalog row (and, for a removal, a purge of its rows, done later in slices). */
  private async runAdmin(op: AddSpaceOp | RmSpaceOp): Promise<MemberOutcome> {
    this.mustKnowSeqs();
    if (op.op === 'add_space') {
      const { schema } = op;
      if (this.catalog.get(schema.name)) throw fail('space_exists', `a space named '${schema.name}' already exists`);
      if (this.catalog.size >= this.limits.spacesMax) {
        throw fail('too_large', `the store holds ${this.catalog.size} spaces; the limit is ${this.limits.spacesMax}`, { limit: 'spacesMax' });
      }
      const seq = this.seq + 1;
      this.catalogWrites.push({ text: 'INSERT INTO spaces (name, created_seq, schema) VALUES ($1, $2, $3)', params: [schema.name, seq, JSON.stringify(schema)] });
      this.seq = this.catalogSeq = seq;
      this.catalog.add(schema, seq);
      const change: Change = { seq, space: schema.name, key: '', op: 'add_space', attributesJson: null, committedAtMs: this.nowMs };
      this.changes.push(change);
      return { result: { ok: true, kind: 'space', schema, createdSeq: seq }, changes: [change] };
    }
    const entry = this.catalog.get(op.space);
    if (!entry) throw fail('unknown_space', `no space named '${op.space}'`);
    const seq = this.seq + 1;
    const createdSeq = entry.space.createdSeq;
    this.catalogWrites.push(
      { text: 'DELETE FROM spaces WHERE name = $1', params: [op.space] },
      { text: "INSERT INTO purges (space_seq, attr) VALUES ($1, '') ON CONFLICT DO NOTHING", params: [createdSeq] },
    );
    this.seq = this.catalogSeq = seq;
    this.catalog.delete(op.space);
    this.tables.delete(createdSeq); // its pending writes went with the space
    const change: Change = { seq, space: op.space, key: '', op: 'rm_space', attributesJson: null, committedAtMs: this.nowMs };
    this.changes.push(change);
    return { result: { ok: true, kind: 'space_removed', space: op.space }, changes: [change] };
  }

  /**
   * Drop an index: the schema without it, at one seq, logged, and the catalog moved on so every
   * server reloads it; its entries are purged afterwards in slices (planners stop using it at once).
   */
  private async runRmIndex(op: RmIndexOp, createdSeq: number | undefined): Promise<MemberOutcome> {
    this.mustKnowSeqs();
    const entry = this.catalog.get(op.space);
    if (!entry || (createdSeq !== undefined && entry.space.createdSeq !== createdSeq)) throw fail('unknown_space', `no space named '${op.space}'`);
    const { space } = entry;
    if (!space.isIndexed(op.attribute)) return { result: { ok: true, kind: 'space', schema: space.schema, createdSeq: space.createdSeq }, changes: [] };
    const seq = this.seq + 1;
    const schema = space.withoutIndex(op.attribute);
    this.catalogWrites.push(
      { text: 'UPDATE spaces SET schema = $1 WHERE name = $2', params: [JSON.stringify(schema), op.space] },
      { text: 'INSERT INTO purges (space_seq, attr) VALUES ($1, $2) ON CONFLICT DO NOTHING', params: [space.createdSeq, op.attribute] },
    );
    this.seq = this.catalogSeq = seq;
    this.catalog.add(schema, space.createdSeq, entry.building);
    const change: Change = { seq, space: op.space, key: '', op: 'rm_index', attributesJson: null, committedAtMs: this.nowMs };
    this.changes.push(change);
    return { result: { ok: true, kind: 'space', schema, createdSeq: space.createdSeq }, changes: [change] };
  }

  /**
   * A space's seq is its name's identity in the catalog, written before the batch commits: only a
   * batch that read `last_seq` under the lock may change the catalog (the store sees to it).
   */
  private mustKnowSeqs(): void {
    if (this.startSeq === PROVISIONAL_ZERO) throw new Error('internal: a catalog change in a batch numbered on provisional seqs');
  }

  /** How many seqs the batch takes. */
  get seqCount(): number {
    return this.seq - this.startSeq;
  }

  /**
   * Send the batch's writes, pipelined on the transaction's connection, without waiting: the caller
   * sends COMMIT right behind them. First the seq bump with the change log, then the catalog rows,
   * the object rows (INSERT_OBJECTS_SQL: upserts, then inserts of keys found absent), each space's
   * deletions, absent-key guards and index entries, and the large values adopted. `range` is the
   * bump's answer (undefined when the batch took no seq). Each key is written once with its final
   * state, so writes and deletes never overlap. `wakeup`: where other servers listen, the bump
   * notifies them (at COMMIT).
   */
  flush(wakeup: Wakeup | undefined): { statements: Promise<unknown>[]; range: Promise<SeqRange | undefined> } {
    const statements: Promise<unknown>[] = [];
    let range: Promise<SeqRange | undefined> = Promise.resolve(undefined);
    const idxs = this.changeIdxs();
    if (this.changes.length > 0) {
      const bump = this.takeSeqs(idxs, wakeup);
      statements.push(bump);
      range = bump.then(([row]) => (row ? { base: Number(row.base), waitedMs: Number(row.waited_ms) } : undefined), () => undefined);
    }
    statements.push(...this.catalogWrites.map((w) => this.tx.unsafe(w.text, w.params as never[], { prepare: true })));
    const loggedAs = this.changesOfRows();
    const upserted = new ObjectRows();
    const inserted = new ObjectRows();
    const after: Promise<unknown>[] = [];
    for (const rows of this.tables.values()) {
      const keyType = rows.space.schema.key.type;
      const spaceSeq = rows.space.createdSeq;
      const upserts: Written[] = [];
      const upsertKeys: Buffer[] = [];
      const deletes: Buffer[] = [];
      for (const [text, written] of rows.written) {
        const key = keyBytes(written.key, keyType);
        if (!written.row) {
          deletes.push(key);
          continue;
        }
        const change = loggedAs.get(written);
        if (change === undefined) throw new Error(`internal: the row '${text}' of space ${spaceSeq} was written without a change`);
        (rows.fetched.get(text) ? upserted : inserted).add(spaceSeq, key, this.rankOf(written.row.version), idxs[change] as number, written.row.expiresAt);
        upserts.push(written);
        upsertKeys.push(key);
      }
      if (deletes.length > 0) {
        after.push(this.tx.unsafe('DELETE FROM objects WHERE space_seq = $1 AND key = ANY($2::bytea[])', [spaceSeq, byteaArray(deletes)] as never[], { prepare: true }));
      }
      if (this.lockedRows) after.push(...this.guardAbsent(rows));
      after.push(...this.indexWrites(rows, upserts, upsertKeys, deletes));
    }
    if (upserted.size > 0) statements.push(this.tx.unsafe(UPSERT_OBJECTS_SQL, upserted.parameters(this.seqCount) as never[], { prepare: true }));
    if (inserted.size > 0) statements.push(this.tx.unsafe(INSERT_OBJECTS_SQL, inserted.parameters(this.seqCount) as never[], { prepare: true }));
    statements.push(...after);
    const adopted = this.adoptedLargeValues();
    if (adopted.ids.length > 0) statements.push(this.tx.unsafe(ADOPT_SQL, [textArray(adopted.ids), integerArray(adopted.ranks), this.seqCount], { prepare: true }));
    return { statements, range };
  }

  /**
   * Each written row's change (its index in `changes`). A write step logs the object it writes, at
   * the row's version, so the row's change is the last of its key at that seq with the same text (a
   * tx may write one key twice at its one seq).
   */
  private changesOfRows(): Map<Written, number> {
    const changes = new Map<Written, number>();
    this.changes.forEach((change, i) => {
      if (change.attributesJson === null) return;
      const entry = this.catalog.get(change.space);
      const written = entry && this.tables.get(entry.space.createdSeq)?.written.get(String(change.key));
      if (written?.row && written.row.version === change.seq && written.row.attributesJson === change.attributesJson) changes.set(written, i);
    });
    return changes;
  }

  /** Each change's idx among the changes of its seq (a tx's several share one seq): with the seq, its change log row's key. */
  private changeIdxs(): number[] {
    const idxs: number[] = [];
    let previous = -1;
    let next = 0;
    for (const change of this.changes) {
      next = change.seq === previous ? next + 1 : 0;
      previous = change.seq;
      idxs.push(next);
    }
    return idxs;
  }

  /** A seq's rank in the batch: 1 for the first seq the batch takes. */
  private rankOf(seq: number): number {
    return seq - this.startSeq;
  }

  /**
   * The keys of one space the batch found absent and did not create: nothing locked them, so each
   * is inserted (a placeholder, version 0, which no seq ever is) and deleted again in this
   * transaction. A key another batch created since this one read it fails the INSERT (23505), and
   * the store runs the batch again; otherwise nobody ever sees the placeholder.
   */
  private guardAbsent(rows: BatchRows): Promise<unknown>[] {
    const keyType = rows.space.schema.key.type;
    const absent: Buffer[] = [];
    for (const [text, key] of rows.absent) if (!rows.written.get(text)?.row) absent.push(keyBytes(key, keyType));
    if (absent.length === 0) return [];
    const keys = byteaArray(absent);
    return [
      this.tx.unsafe("INSERT INTO objects (space_seq, key, version, expires_at, attrs) SELECT $1, k, 0, NULL, '' FROM unnest($2::bytea[]) k", [rows.space.createdSeq, keys] as never[], { prepare: true }),
      this.tx.unsafe('DELETE FROM objects WHERE space_seq = $1 AND key = ANY($2::bytea[]) AND version = 0', [rows.space.createdSeq, keys] as never[], { prepare: true }),
    ];
  }

  /**
   * The index entries of one space's writes, in the same transaction: every written key's old
   * entries go (an expired object, read as absent, may still hold some), then the new objects'
   * entries of each maintained attribute (indexes, and the one being built) are added.
   */
  private indexWrites(rows: BatchRows, upserts: readonly Written[], upsertKeys: readonly Buffer[], deletes: readonly Buffer[]): Promise<unknown>[] {
    const entry = this.catalog.bySeq(rows.space.createdSeq) ?? rows.entry;
    const maintained = maintainedIndexes(entry);
    if (maintained.length === 0) return [];
    const spaceSeq = rows.space.createdSeq;
    const statements = [this.tx.unsafe('DELETE FROM index_entries WHERE space_seq = $1 AND key = ANY($2::bytea[])', [spaceSeq, byteaArray([...upsertKeys, ...deletes])] as never[], { prepare: true })];
    const entries = indexEntriesOf(entry.space, maintained, upserts.map((w, i) => ({
      key: upsertKeys[i] as Buffer, attributes: parseJson((w.row as StoredObject).attributesJson) as Attributes, expiresAt: (w.row as StoredObject).expiresAt,
    })));
    if (entries.attrs.length > 0) {
      statements.push(this.tx.unsafe(INSERT_ENTRIES, [spaceSeq, textArray(entries.attrs), byteaArray(entries.values), byteaArray(entries.keys), integerArray(entries.expiries)] as never[], { prepare: true }));
    }
    return statements;
  }

  /** The large values the batch's final rows refer to, with the rank of the seq each was written at: adopted in this transaction. */
  private adoptedLargeValues(): { ids: string[]; ranks: number[] } {
    const ids: string[] = [];
    const ranks: number[] = [];
    for (const rows of this.tables.values()) {
      for (const { row } of rows.written.values()) {
        if (!row || !row.attributesJson.includes('"$large"')) continue;
        for (const id of largeValueIds(row.attributesJson, parseJson(row.attributesJson) as Attributes)) {
          ids.push(id);
          ranks.push(this.rankOf(row.version));
        }
      }
    }
    return { ids, ranks };
  }

  /** The seq bump with the change log rows, in seq order (SEQ_SQL). */
  private takeSeqs(idxs: readonly number[], wakeup: Wakeup | undefined): Promise<{ base: string; waited_ms: number }[]> {
    return this.tx.unsafe<{ base: string; waited_ms: number }[]>(wakeup ? SEQ_NOTIFY_SQL : SEQ_PLAIN_SQL, [
      this.seqCount,
      this.catalogChanged ? this.catalogSeq : null,
      this.catalogChanged ? 1 : 0,
      this.catalogGen,
      integerArray(this.changes.map((c) => this.rankOf(c.seq))),
      integerArray(idxs),
      textArray(this.changes.map((c) => c.space)),
      textArray(this.changes.map((c) => stringifyJson(c.key))),
      textArray(this.changes.map((c) => c.op)),
      textArray(this.changes.map((c) => c.attributesJson)),
      integerArray(this.changes.map((c) => c.committedAtMs)),
      ...(wakeup ? [wakeup.channel, wakeup.payload] : []),
    ] as never[], { prepare: true });
  }

  /** The outcomes of `execute` as committed: on provisional seqs, moved onto the range after `base`. */
  settle(outcomes: MemberOutcome[], base: number): MemberOutcome[] {
    return this.startSeq === PROVISIONAL_ZERO ? settleOutcomes(outcomes, base, this.seqCount) : outcomes;
  }

  /** The catalog_seq after this batch (its last space change), for the store to record once committed. */
  get committedCatalogSeq(): number {
    return this.catalogSeq;
  }

  /** Whether the batch changed the catalog (so the meta row's catalog_gen moves on by one). */
  get catalogChanged(): boolean {
    return this.catalogSeq !== this.startCatalogSeq;
  }
}
