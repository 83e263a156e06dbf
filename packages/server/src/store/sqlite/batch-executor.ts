/**
 * Runs one group-commit batch on the writer connection: one IMMEDIATE transaction, a savepoint per
 * member so that a failing member rolls back alone (docs/architecture.md §4.4), one durable COMMIT at the end.
 * A tx is one member: its checks and operations run in its savepoint, so its reads see its own
 * writes and nobody else's, and a tx that fails rolls back to the savepoint, its neighbours untouched.
 * The store-wide seq is read and written inside the same transaction, so it can never run ahead of
 * the data, even if another process wrote to the file in between.
 */
import type Database from 'better-sqlite3';
import { type AddSpaceOp, type Change, type Limits, type RmIndexOp, type RmSpaceOp, type TxOp, type WireError, SpacekvError, fail } from '@spacekv/core';
import type { BatchMember, MemberOutcome } from '../store.js';
import { ReplyBudget, type StepContext, applyExpire, applyStep, runTx } from '../write-steps.js';
import type { ChangeLogWriter } from './change-log-writer.js';
import { type CatalogEntry, WriterCatalog } from './catalog.js';

/**
 * The fault for an error SQLite raised: a full disk (SQLITE_FULL) is `storage_full`, which a client
 * can act on (free space, retry); anything else keeps the caller's code.
 */
function storageFault(err: unknown, code: 'unavailable' | 'internal', context: string): WireError {
  if ((err as { code?: unknown })?.code === 'SQLITE_FULL') {
    return { code: 'storage_full', message: `${context}: the disk is full; nothing was applied, writes succeed again once space is freed` };
  }
  return { code, message: `${context}: ${(err as Error)?.message ?? String(err)}` };
}

/** A storage error that rolled back the batch's whole transaction. */
class BatchAborted extends Error {
  constructor(override readonly cause: unknown) {
    super('the transaction was rolled back');
  }
}

export class BatchExecutor implements StepContext {
  readonly catalog: WriterCatalog;
  private readonly stmts;
  private seq = 0;
  replies: ReplyBudget;

  constructor(private readonly db: Database.Database, readonly limits: Limits, private readonly log: ChangeLogWriter) {
    this.catalog = new WriterCatalog(db);
    this.replies = new ReplyBudget(limits);
    this.stmts = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT member'),
      release: db.prepare('RELEASE member'),
      rollbackTo: db.prepare('ROLLBACK TO member'),
      readSeq: db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck(),
      writeSeq: db.prepare("UPDATE meta SET value = ? WHERE name = 'last_seq'"),
    };
  }

  /**
   * Run and commit a batch. If the commit itself fails, or a storage error aborts the transaction
   * midway, every member fails with `unavailable` and nothing is applied.
   */
  run(batch: readonly BatchMember[]): MemberOutcome[] {
    try {
      this.stmts.begin.run();
    } catch (err) {
      const fault = storageFault(err, 'unavailable', 'the store could not begin a transaction');
      return batch.map(() => ({ fault }));
    }
    try {
      this.seq = this.stmts.readSeq.get() as number;
      this.replies = new ReplyBudget(this.limits);
      const startSeq = this.seq;
      const nowMs = Date.now();
      const outcomes = batch.map((member) => this.runMember(member, nowMs));
      // Logged last, in the batch's transaction: if the log cannot take a change, nothing commits.
      this.log.appendMembers(outcomes.flatMap((outcome) => ('changes' in outcome && outcome.changes.length > 0 ? [outcome.changes] : [])));
      if (this.seq !== startSeq) this.stmts.writeSeq.run(this.seq);
      this.stmts.commit.run();
      return outcomes;
    } catch (err) {
      if (this.db.inTransaction) this.stmts.rollback.run();
      this.catalog.reload();
      const cause = err instanceof BatchAborted ? err.cause : err;
      const fault = storageFault(cause, 'unavailable', 'the commit failed, nothing was applied');
      return batch.map(() => ({ fault }));
    }
  }

  /**
   * Run one member so that its failure is its own. A lone single-key write needs no savepoint: it
   * writes with one statement, last, and SQLite undoes a failed statement by itself; a tx or an
   * admin operation runs several statements and gets a savepoint. Either way, an error that aborts
   * the whole transaction (SQLite does so for some I/O and memory errors) aborts the batch.
   */
  private runMember(member: BatchMember, nowMs: number): MemberOutcome {
    const seqBefore = this.seq;
    const single = member.op.op !== 'tx' && member.op.op !== 'add_space' && member.op.op !== 'rm_space' && member.op.op !== 'rm_index';
    if (!single) this.stmts.savepoint.run();
    try {
      const outcome = this.execute(member, nowMs);
      if (!single) this.stmts.release.run();
      return outcome;
    } catch (err) {
      if (!this.db.inTransaction) throw new BatchAborted(err);
      if (!single) {
        this.stmts.rollbackTo.run();
        this.stmts.release.run();
      }
      this.seq = seqBefore;
      if (err instanceof SpacekvError) return { fault: err.toWire() };
      return { fault: storageFault(err, 'internal', 'storage fault') };
    }
  }

  private execute(member: BatchMember, nowMs: number): MemberOutcome {
    const { op } = member;
    switch (op.op) {
      case 'add_space':
      case 'rm_space':
        return this.executeAdmin(op, nowMs);
      case 'rm_index':
        return this.executeRmIndex(op, member.spaceCreatedSeq, nowMs);
      case 'tx':
        return this.executeTx(op, nowMs);
      default: {
        const seq = this.seq + 1;
        const target = this.target(op.space, member.spaceCreatedSeq);
        const step = op.op === 'expire' ? applyExpire(op, target, seq, nowMs) : applyStep(op, target, seq, nowMs, this.limits);
        if (step.change) this.seq = seq;
        return { result: step.result, changes: step.change ? [step.change] : [] };
      }
    }
  }

  /** The space `name`, if it is still the incarnation (`createdSeq`) the operation was validated against. */
  target(name: string, createdSeq: number | undefined): CatalogEntry {
    const entry = this.catalog.get(name);
    if (!entry || (createdSeq !== undefined && entry.space.createdSeq !== createdSeq)) throw fail('unknown_space', `no space named '${name}'`);
    return entry;
  }

  /** A tx's writes are undone by rolling back to its savepoint (which stays open). */
  undoMember(): void {
    this.stmts.rollbackTo.run();
  }

  /** A tx (write-steps.ts) in the member's savepoint; the seq is taken only when the tx wrote something. */
  private executeTx(tx: TxOp, nowMs: number): MemberOutcome {
    const outcome = runTx(tx, this, this.seq + 1, nowMs);
    if (outcome.changes.length > 0) this.seq += 1;
    return outcome;
  }

  /** Drop an index in the member's savepoint: the schema without it, and its entries gone, at one seq. */
  private executeRmIndex(op: RmIndexOp, createdSeq: number | undefined, nowMs: number): MemberOutcome {
    const entry = this.target(op.space, createdSeq);
    const { space } = entry;
    if (!space.isIndexed(op.attribute)) {
      if (this.catalog.building.get(entry.id) === op.attribute) throw fail('overloaded', `the index on '${op.attribute}' is being built; retry rm_index when it is done`);
      return { result: { ok: true, kind: 'space', schema: space.schema, createdSeq: space.createdSeq }, changes: [] };
    }
    const seq = ++this.seq;
    const schema = space.withoutIndex(op.attribute);
    this.catalog.dropIndexes(entry, schema);
    // The new schema rides in the log (as add_space's does) so a point-in-time restore replays the drop.
    const change: Change = { seq, space: op.space, key: '', op: 'rm_index', attributesJson: null, committedAtMs: nowMs, schemaJson: JSON.stringify(schema) };
    return { result: { ok: true, kind: 'space', schema, createdSeq: space.createdSeq }, changes: [change] };
  }

  private executeAdmin(op: AddSpaceOp | RmSpaceOp, nowMs: number): MemberOutcome {
    if (op.op === 'add_space') {
      const { schema } = op;
      if (this.catalog.get(schema.name)) throw fail('space_exists', `a space named '${schema.name}' already exists`);
      if (this.catalog.size >= this.limits.spacesMax) {
        throw fail('too_large', `the store holds ${this.catalog.size} spaces; the limit is ${this.limits.spacesMax}`, { limit: 'spacesMax' });
      }
      const seq = ++this.seq;
      this.catalog.create(schema, seq);
      const change: Change = { seq, space: schema.name, key: '', op: 'add_space', attributesJson: null, committedAtMs: nowMs, schemaJson: JSON.stringify(schema) };
      return { result: { ok: true, kind: 'space', schema, createdSeq: seq }, changes: [change] };
    }
    const entry = this.catalog.get(op.space);
    if (!entry) throw fail('unknown_space', `no space named '${op.space}'`);
    const seq = ++this.seq;
    this.catalog.remove(op.space);
    const change: Change = { seq, space: op.space, key: '', op: 'rm_space', attributesJson: null, committedAtMs: nowMs };
    return { result: { ok: true, kind: 'space_removed', space: op.space }, changes: [change] };
  }
}
