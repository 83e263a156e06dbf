/**
 * One group-commit batch on PostgreSQL (docs/architecture.md §4.4), run by the store inside one transaction
 * that has locked the meta row. Because every writer of the schema locks that row first and holds
 * it until COMMIT, batches from every server process commit one at a time in seq order: a batch
 * reads `last_seq`, numbers its writes after it and writes it back, so the seq follows commit
 * order with no visible gap (a PostgreSQL sequence would hand numbers out in call order instead).
 *
 * Round trips stay few and independent of the batch size: the rows the batch names are fetched
 * with one query per space, the members run in memory through the same steps as SQLite's
 * (write-steps.ts) against those rows plus the batch's own writes, and the results are written
 * back with one pipelined statement per space and kind, the change log and the meta row. A member
 * that fails is undone in memory (the journal below), which is this store's savepoint for reads
 * and writes; adding or removing a space runs DDL, so it gets a real SAVEPOINT.
 */
import {
  type AddSpaceOp, type Attributes, type Change, type Key, type Limits, type RmIndexOp, type RmSpaceOp, type StoredObject, type WireError,
  SpacekvError, fail, largeValueIds, parseJson, stringifyJson,
} from '@spacekv/core';
import type { BatchMember, MemberOutcome } from '../store.js';
import { type MemberResult, ReplyBudget, type SpaceRows, type StepContext, type StepTarget, applyExpire, applyStep, runTx } from '../write-steps.js';
import type { PgCatalog, PgSpace } from './catalog.js';
import type { Session } from './connection.js';
import { createSpaceTableSql } from './layout.js';
import { ADOPT_SQL } from './large-values.js';

/**
 * The notification channel of a schema's store: through it the servers sharing the schema learn
 * that another one committed changes (payload `commit`) or added or removed a space (`catalog`).
 * One channel per schema, so stores in other schemas never wake each other.
 */
export function channelOf(schema: string): string {
  return `spacekv_${schema}`;
}

export const COMMITTED = 'commit';
export const CATALOG_CHANGED = 'catalog';

type Row = StoredObject | null;

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
    if (fetched === undefined) throw new Error(`internal: the row '${text}' of ${this.entry.table} was not fetched`);
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
  key: string;
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

function faultOf(err: unknown): WireError {
  if (err instanceof SpacekvError) return err.toWire();
  return { code: 'internal', message: `storage fault: ${(err as Error).message}` };
}

export class PgBatch implements StepContext {
  private readonly tables = new Map<string, BatchRows>();
  private readonly journal: Undo[] = [];
  private readonly changes: Change[] = [];
  private seq: number;
  private catalogSeq: number;
  readonly replies: ReplyBudget;

  constructor(
    private readonly tx: Session,
    private readonly catalog: PgCatalog,
    readonly limits: Limits,
    private readonly startSeq: number,
    private readonly schema: string,
    private readonly nowMs: number,
  ) {
    this.seq = startSeq;
    this.catalogSeq = catalog.seq;
    this.replies = new ReplyBudget(limits);
  }

  /** Run every member in order; `flush` then writes the results, and COMMIT is the caller's. */
  async execute(members: readonly BatchMember[]): Promise<MemberOutcome[]> {
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
    let rows = this.tables.get(entry.table);
    if (!rows) {
      rows = new BatchRows(entry, this.journal);
      this.tables.set(entry.table, rows);
    }
    return rows;
  }

  /**
   * Fetch, one query per space (pipelined), every row the members name that this batch has not
   * read yet. Rows of spaces unknown here are left alone: those members fail `unknown_space`.
   */
  private async fetch(members: readonly BatchMember[]): Promise<void> {
    const wanted = new Map<BatchRows, Set<string>>();
    for (const member of members) {
      for (const { space, createdSeq, key } of targetsOf(member)) {
        const entry = this.catalog.get(space);
        if (!entry || (createdSeq !== undefined && entry.space.createdSeq !== createdSeq)) continue;
        const rows = this.rowsOf(entry);
        const text = String(key);
        if (rows.fetched.has(text)) continue;
        let keys = wanted.get(rows);
        if (!keys) wanted.set(rows, (keys = new Set()));
        keys.add(text);
      }
    }
    if (wanted.size === 0) return;
    await Promise.all([...wanted].map(async ([rows, keys]) => {
      const list = [...keys];
      const found = await this.tx.unsafe<FetchedRow[]>(
        `SELECT key::text AS key, version, expires_at, attrs FROM ${rows.entry.table} WHERE key = ANY($1::text[]::${rows.entry.keyArrayType})`,
        [list],
        { prepare: true },
      );
      for (const key of list) rows.fetched.set(key, null);
      for (const row of found) {
        rows.fetched.set(row.key, { version: Number(row.version), expiresAt: row.expires_at === null ? null : Number(row.expires_at), attributesJson: row.attrs });
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

  /** Add or remove a space: DDL, so a SAVEPOINT of its own; the catalog changes only once it held. */
  private async runAdmin(op: AddSpaceOp | RmSpaceOp): Promise<MemberOutcome> {
    if (op.op === 'add_space') {
      const { schema } = op;
      if (this.catalog.get(schema.name)) throw fail('space_exists', `a space named '${schema.name}' already exists`);
      if (this.catalog.size >= this.limits.spacesMax) {
        throw fail('too_large', `the store holds ${this.catalog.size} spaces; the limit is ${this.limits.spacesMax}`, { limit: 'spacesMax' });
      }
      const seq = this.seq + 1;
      await this.inSavepoint(async () => {
        await this.tx.unsafe('INSERT INTO spaces (name, created_seq, schema) VALUES ($1, $2, $3)', [schema.name, seq, JSON.stringify(schema)]);
        for (const statement of createSpaceTableSql(seq, schema.key.type)) await this.tx.unsafe(statement);
      });
      this.seq = this.catalogSeq = seq;
      this.catalog.add(schema, seq);
      const change: Change = { seq, space: schema.name, key: '', op: 'add_space', attributesJson: null, committedAtMs: this.nowMs };
      this.changes.push(change);
      return { result: { ok: true, kind: 'space', schema, createdSeq: seq }, changes: [change] };
    }
    const entry = this.catalog.get(op.space);
    if (!entry) throw fail('unknown_space', `no space named '${op.space}'`);
    const seq = this.seq + 1;
    await this.inSavepoint(async () => {
      await this.tx.unsafe('DELETE FROM spaces WHERE name = $1', [op.space]);
      await this.tx.unsafe(`DROP TABLE ${entry.table}`);
    });
    this.seq = this.catalogSeq = seq;
    this.catalog.delete(op.space);
    this.tables.delete(entry.table); // its pending writes went with the table
    const change: Change = { seq, space: op.space, key: '', op: 'rm_space', attributesJson: null, committedAtMs: this.nowMs };
    this.changes.push(change);
    return { result: { ok: true, kind: 'space_removed', space: op.space }, changes: [change] };
  }

  /**
   * Drop an index: the schema without it, at one seq, logged, and the catalog moved on so every
   * server reloads it (PostgreSQL has no index entries to remove; its searches scan, docs/postgres.md).
   */
  private async runRmIndex(op: RmIndexOp, createdSeq: number | undefined): Promise<MemberOutcome> {
    const entry = this.catalog.get(op.space);
    if (!entry || (createdSeq !== undefined && entry.space.createdSeq !== createdSeq)) throw fail('unknown_space', `no space named '${op.space}'`);
    const { space } = entry;
    if (!space.isIndexed(op.attribute)) return { result: { ok: true, kind: 'space', schema: space.schema, createdSeq: space.createdSeq }, changes: [] };
    const seq = this.seq + 1;
    const schema = space.withoutIndex(op.attribute);
    await this.inSavepoint(async () => {
      await this.tx.unsafe('UPDATE spaces SET schema = $1 WHERE name = $2', [JSON.stringify(schema), op.space]);
    });
    this.seq = this.catalogSeq = seq;
    this.catalog.add(schema, space.createdSeq);
    const change: Change = { seq, space: op.space, key: '', op: 'rm_index', attributesJson: null, committedAtMs: this.nowMs };
    this.changes.push(change);
    return { result: { ok: true, kind: 'space', schema, createdSeq: space.createdSeq }, changes: [change] };
  }

  /** Run `work` so that if it fails, what it did is rolled back and the transaction goes on. */
  private async inSavepoint(work: () => Promise<void>): Promise<void> {
    await this.tx.unsafe('SAVEPOINT admin');
    try {
      await work();
    } catch (err) {
      await this.tx.unsafe('ROLLBACK TO SAVEPOINT admin');
      throw err;
    } finally {
      await this.tx.unsafe('RELEASE SAVEPOINT admin');
    }
  }

  /**
   * Send the batch's final rows, its changes and the new seq, pipelined on the transaction's
   * connection, without waiting: the caller sends COMMIT right behind them. Each key is written
   * once with its final state, so upserts and deletes never overlap.
   */
  flush(): Promise<unknown>[] {
    const statements: Promise<unknown>[] = [];
    for (const rows of this.tables.values()) {
      const upserts: Written[] = [];
      const deletes: string[] = [];
      for (const [text, written] of rows.written) {
        if (written.row) upserts.push(written);
        else deletes.push(text);
      }
      const { table, keyArrayType } = rows.entry;
      if (upserts.length > 0) {
        statements.push(this.tx.unsafe(
          `INSERT INTO ${table} (key, version, expires_at, attrs)
           SELECT * FROM unnest($1::text[]::${keyArrayType}, $2::int8[], $3::int8[], $4::text[])
           ON CONFLICT (key) DO UPDATE SET version = excluded.version, expires_at = excluded.expires_at, attrs = excluded.attrs`,
          [
            upserts.map((w) => String(w.key)),
            upserts.map((w) => (w.row as StoredObject).version),
            upserts.map((w) => (w.row as StoredObject).expiresAt),
            upserts.map((w) => (w.row as StoredObject).attributesJson),
          ],
          { prepare: true },
        ));
      }
      if (deletes.length > 0) {
        statements.push(this.tx.unsafe(`DELETE FROM ${table} WHERE key = ANY($1::text[]::${keyArrayType})`, [deletes], { prepare: true }));
      }
    }
    const adopted = this.adoptedLargeValues();
    if (adopted.ids.length > 0) statements.push(this.tx.unsafe(ADOPT_SQL, [adopted.ids, adopted.seqs], { prepare: true }));
    if (this.changes.length > 0) {
      statements.push(this.logChanges());
      // Delivered at COMMIT, to every other server's change feed (their watchers read the log).
      statements.push(this.tx.unsafe('SELECT pg_notify($1, $2)', [channelOf(this.schema), COMMITTED], { prepare: true }));
    }
    if (this.seq !== this.startSeq) {
      statements.push(this.tx.unsafe('UPDATE meta SET last_seq = $1, catalog_seq = $2 WHERE id = 1', [this.seq, this.catalogSeq], { prepare: true }));
    }
    if (this.catalogSeq !== this.catalog.seq) {
      statements.push(this.tx.unsafe('SELECT pg_notify($1, $2)', [channelOf(this.schema), CATALOG_CHANGED], { prepare: true }));
    }
    return statements;
  }

  /** The large values the batch's final rows refer to, with the seq each was written at: adopted in this transaction. */
  private adoptedLargeValues(): { ids: string[]; seqs: number[] } {
    const ids: string[] = [];
    const seqs: number[] = [];
    for (const rows of this.tables.values()) {
      for (const { row } of rows.written.values()) {
        if (!row || !row.attributesJson.includes('"$large"')) continue;
        for (const id of largeValueIds(row.attributesJson, parseJson(row.attributesJson) as Attributes)) {
          ids.push(id);
          seqs.push(row.version);
        }
      }
    }
    return { ids, seqs };
  }

  /** The change log rows, in seq order; `idx` numbers the changes of one seq (a tx's several). */
  private logChanges(): Promise<unknown> {
    const idx: number[] = [];
    let previous = -1;
    let next = 0;
    for (const change of this.changes) {
      next = change.seq === previous ? next + 1 : 0;
      previous = change.seq;
      idx.push(next);
    }
    return this.tx.unsafe(
      `INSERT INTO changes (seq, idx, space, key_json, op, attrs, committed_at)
       SELECT * FROM unnest($1::int8[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[])`,
      [
        this.changes.map((c) => c.seq),
        idx,
        this.changes.map((c) => c.space),
        this.changes.map((c) => stringifyJson(c.key)),
        this.changes.map((c) => c.op),
        this.changes.map((c) => c.attributesJson),
        this.changes.map((c) => c.committedAtMs),
      ],
      { prepare: true },
    );
  }

  /** The catalog_seq after this batch (its last space change), for the store to record once committed. */
  get committedCatalogSeq(): number {
    return this.catalogSeq;
  }
}
