/**
 * Runs one group-commit batch on the writer connection: one IMMEDIATE transaction, a savepoint per
 * member so that a failing member rolls back alone (DESIGN.md §4.4), one durable COMMIT at the end.
 * A tx is one member: its checks and operations run in its savepoint, so its reads see its own
 * writes and nobody else's, and a tx that fails rolls back to the savepoint, its neighbours untouched.
 * The store-wide seq is read and written inside the same transaction, so it can never run ahead of
 * the data, even if another process wrote to the file in between.
 */
import type Database from 'better-sqlite3';
import {
  type AdminWriteOp, type Change, type CurrentObject, type DeletedResult, type ExpireOp, type FailedResult, type Key, type Limits, type ObjectOp,
  type ObjectOpResult, type StoredObject, type TxFailure, type TxOp, type WireError, type WrittenResult,
  SpacekvError, TxChanges, checkFailure, fail, parseJson, planWrite, readResult, stringifyJson, utf8Length,
} from '@spacekv/core';
import type { BatchMember, MemberOutcome } from '../store.js';
import type { ChangeLogWriter } from './change-log-writer.js';
import { type CatalogEntry, WriterCatalog } from './catalog.js';
import { createIndexTableSql, createSpaceTableSql, indexTable, spaceTable } from './layout.js';

type Row = [version: number, expiresAt: number | null, attrs: string];

/** A storage error that rolled back the batch's whole transaction. */
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

class BatchAborted extends Error {
  constructor(override readonly cause: unknown) {
    super('the transaction was rolled back');
  }
}

/** What one single-key operation did: its result and, when it wrote, the change. */
interface Step {
  readonly result: ObjectOpResult | FailedResult;
  readonly change?: Change;
}

/** The stored object as planWrite sees it; its attributes are parsed only if a plan reads them. */
function decoded(stored: StoredObject | null): CurrentObject | null {
  if (!stored) return null;
  let attributes: CurrentObject['attributes'] | undefined;
  return {
    version: stored.version,
    expiresAt: stored.expiresAt,
    get attributes() {
      attributes ??= parseJson(stored.attributesJson) as CurrentObject['attributes'];
      return attributes;
    },
  };
}

function txFailed(message: string, failures: readonly TxFailure[]): MemberOutcome {
  return { result: { ok: false, code: 'tx_failed', message: `the tx failed, nothing was applied: ${message}`, failures }, changes: [] };
}

export class BatchExecutor {
  readonly catalog: WriterCatalog;
  private readonly stmts;
  private seq = 0;

  constructor(private readonly db: Database.Database, private readonly limits: Limits, private readonly log: ChangeLogWriter) {
    this.catalog = new WriterCatalog(db);
    this.stmts = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT member'),
      release: db.prepare('RELEASE member'),
      rollbackTo: db.prepare('ROLLBACK TO member'),
      readSeq: db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck(),
      writeSeq: db.prepare("UPDATE meta SET value = ? WHERE name = 'last_seq'"),
      insertSpace: db.prepare('INSERT INTO spaces (name, schema, created_seq) VALUES (?, ?, ?)'),
      deleteSpace: db.prepare('DELETE FROM spaces WHERE id = ?'),
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
      const startSeq = this.seq;
      const nowMs = Date.now();
      const outcomes = batch.map((member) => this.runMember(member, nowMs));
      // Logged last, in the batch's transaction: if the log cannot take a change, nothing commits.
      for (const outcome of outcomes) if ('changes' in outcome) this.log.append(outcome.changes);
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
    const single = member.op.op !== 'tx' && member.op.op !== 'add_space' && member.op.op !== 'rm_space';
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
      case 'tx':
        return this.executeTx(op, nowMs);
      case 'expire':
        return this.executeExpire(op, this.entryOf(op.space, member.spaceCreatedSeq), nowMs);
      default: {
        const seq = this.seq + 1;
        const step = this.applyStep(op, this.entryOf(op.space, member.spaceCreatedSeq), seq, nowMs);
        if (step.change) this.seq = seq;
        return { result: step.result, changes: step.change ? [step.change] : [] };
      }
    }
  }

  /** The space `name`, if it is still the incarnation (`createdSeq`) the operation was validated against. */
  private entryOf(name: string, createdSeq: number | undefined): CatalogEntry {
    const entry = this.catalog.get(name);
    if (!entry || (createdSeq !== undefined && entry.space.createdSeq !== createdSeq)) throw fail('unknown_space', `no space named '${name}'`);
    return entry;
  }

  /**
   * A tx (core's tx.ts): every check against the state before it, then, only if all hold, each
   * operation in order at the tx's one seq, each seeing the writes before it. The seq is taken
   * only when the tx wrote something.
   */
  private executeTx(tx: TxOp, nowMs: number): MemberOutcome {
    const failures = tx.checks.flatMap((check, index): TxFailure[] => {
      const entry = this.entryOf(check.space, check.spaceCreatedSeq);
      const failure = checkFailure(check, entry.space, decoded(this.readStored(entry, check.key, nowMs)));
      return failure ? [{ at: 'check', index, ...failure }] : [];
    });
    if (failures.length > 0) return txFailed(`${failures.length} of ${tx.checks.length} checks failed`, failures);
    const seq = this.seq + 1;
    const results: ObjectOpResult[] = [];
    const changes = new TxChanges();
    for (const [index, op] of tx.ops.entries()) {
      const entry = this.entryOf(op.space, op.spaceCreatedSeq);
      const { result, change } = this.applyStep(op, entry, seq, nowMs);
      if (!result.ok) {
        let version = result.version ?? 0;
        if (changes.size > 0) {
          // Undo the tx's writes (its savepoint stays open), so the failure reports the version the
          // object is really at, not one the tx gave it and never committed.
          this.stmts.rollbackTo.run();
          version = this.readStored(entry, op.key, nowMs)?.version ?? 0;
        }
        return txFailed(`operation ${index} (${op.op}) failed with ${result.code}`, [{ at: 'op', index, code: result.code, message: result.message, version }]);
      }
      results.push(result);
      if (change) changes.add(change);
    }
    if (changes.size > 0) this.seq = seq;
    return { result: { ok: true, kind: 'tx', seq: changes.size > 0 ? seq : null, results }, changes: changes.list() };
  }

  /**
   * The TTL sweeper's deletion: only an object still at the version the sweeper read and expired
   * now. Anything else (rewritten, already deleted, given a longer expiry) is a cmp_fail.
   */
  private executeExpire(op: ExpireOp, entry: CatalogEntry, nowMs: number): MemberOutcome {
    const row = entry.select.get(op.key) as Row | undefined;
    if (!row || row[0] !== op.version || row[1] === null || row[1] > nowMs) {
      const result: FailedResult = { ok: false, code: 'cmp_fail', message: `the object is no longer expired at version ${op.version}`, version: row?.[0] ?? 0 };
      return { result, changes: [] };
    }
    const seq = ++this.seq;
    entry.remove.run(op.key);
    entry.indexes.deleted(op.key);
    const change: Change = { seq, space: op.space, key: op.key, op: 'expire', attributesJson: null, committedAtMs: nowMs };
    return { result: { ok: true, kind: 'deleted', key: op.key, version: seq }, changes: [change] };
  }

  /** The object at `key` as the writer sees it now (inside the batch's transaction); null when absent or expired. */
  private readStored(entry: CatalogEntry, key: Key, nowMs: number): StoredObject | null {
    const row = entry.select.get(key) as Row | undefined;
    if (!row || (row[1] !== null && row[1] <= nowMs)) return null;
    return { version: row[0], expiresAt: row[1], attributesJson: row[2] };
  }

  /**
   * Run one single-key operation against the object as it is now; a write lands at `seq`. Shared by
   * lone operations and the operations of a tx. Throws only faults (too_large).
   */
  private applyStep(op: ObjectOp, entry: CatalogEntry, seq: number, nowMs: number): Step {
    const stored = this.readStored(entry, op.key, nowMs);
    if (op.op === 'get' || op.op === 'get_partial') return { result: readResult(op, stored) };
    const plan = planWrite(op, entry.space, decoded(stored), nowMs, this.limits);
    if (plan.kind === 'fail') return { result: { ok: false, code: plan.code, message: plan.message, version: plan.version } };
    if (plan.kind === 'delete') {
      entry.remove.run(op.key);
      entry.indexes.deleted(op.key);
      const result: DeletedResult = { ok: true, kind: 'deleted', key: op.key, version: seq, ...(op.op === 'get_and_del' && stored ? { previous: stored } : {}) };
      return { result, change: { seq, space: op.space, key: op.key, op: op.op, attributesJson: null, committedAtMs: nowMs } };
    }
    const json = stringifyJson(plan.attributes);
    const bytes = utf8Length(json);
    if (bytes > this.limits.valueBytesMax) {
      throw fail('too_large', `the object would be ${bytes} bytes; the limit is ${this.limits.valueBytesMax}`, { limit: 'valueBytesMax' });
    }
    entry.upsert.run(op.key, seq, plan.expiresAt, json);
    entry.indexes.written(op.key, plan.attributes, plan.expiresAt);
    const result: WrittenResult = {
      ok: true,
      kind: 'written',
      key: op.key,
      version: seq,
      created: plan.created,
      ...(op.op === 'mutate' ? { attributesJson: json } : {}),
      ...(op.op === 'get_and_put' ? { previous: stored } : {}),
    };
    return { result, change: { seq, space: op.space, key: op.key, op: op.op, attributesJson: json, committedAtMs: nowMs } };
  }

  private executeAdmin(op: AdminWriteOp, nowMs: number): MemberOutcome {
    if (op.op === 'add_space') {
      const { schema } = op;
      if (this.catalog.get(schema.name)) throw fail('space_exists', `a space named '${schema.name}' already exists`);
      if (this.catalog.size >= this.limits.spacesMax) {
        throw fail('too_large', `the store holds ${this.catalog.size} spaces; the limit is ${this.limits.spacesMax}`, { limit: 'spacesMax' });
      }
      const seq = ++this.seq;
      const id = Number(this.stmts.insertSpace.run(schema.name, JSON.stringify(schema), seq).lastInsertRowid);
      this.db.exec(createSpaceTableSql(id, schema.key.type));
      this.db.exec(createIndexTableSql(id, schema.key.type));
      this.catalog.add(id, schema, seq);
      const change: Change = { seq, space: schema.name, key: '', op: 'add_space', attributesJson: null, committedAtMs: nowMs };
      return { result: { ok: true, kind: 'space', schema, createdSeq: seq }, changes: [change] };
    }
    const entry = this.catalog.get(op.space);
    if (!entry) throw fail('unknown_space', `no space named '${op.space}'`);
    const seq = ++this.seq;
    this.stmts.deleteSpace.run(entry.id);
    this.db.exec(`DROP TABLE ${spaceTable(entry.id)}`);
    this.db.exec(`DROP TABLE ${indexTable(entry.id)}`);
    this.catalog.delete(op.space);
    const change: Change = { seq, space: op.space, key: '', op: 'rm_space', attributesJson: null, committedAtMs: nowMs };
    return { result: { ok: true, kind: 'space_removed', space: op.space }, changes: [change] };
  }
}
