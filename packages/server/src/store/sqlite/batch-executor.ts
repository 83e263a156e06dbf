/**
 * Runs one group-commit batch on the writer connection: one IMMEDIATE transaction, a savepoint per
 * member so that a failing member rolls back alone (DESIGN.md §4.4), one durable COMMIT at the end.
 * The store-wide seq is read and written inside the same transaction, so it can never run ahead of
 * the data, even if another process wrote to the file in between.
 */
import type Database from 'better-sqlite3';
import {
  type AdminWriteOp, type Change, type CurrentObject, type Limits, type ObjectWriteOp, type Result,
  type StoredObject, SpacekvError, fail, parseJson, planWrite, stringifyJson, utf8Length,
} from '@spacekv/core';
import type { BatchMember, MemberOutcome } from '../store.js';
import { type CatalogEntry, WriterCatalog } from './catalog.js';
import { createSpaceTableSql, spaceTable } from './layout.js';

type Row = [version: number, expiresAt: number | null, attrs: string];

export class BatchExecutor {
  readonly catalog: WriterCatalog;
  private readonly stmts;
  private seq = 0;

  constructor(private readonly db: Database.Database, private readonly limits: Limits) {
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

  /** Run and commit a batch. If the commit itself fails, every member fails with `unavailable`. */
  run(batch: readonly BatchMember[]): MemberOutcome[] {
    try {
      this.stmts.begin.run();
    } catch (err) {
      const fault = { code: 'unavailable', message: `the store could not begin a transaction: ${(err as Error).message}` } as const;
      return batch.map(() => ({ fault }));
    }
    this.seq = this.stmts.readSeq.get() as number;
    const startSeq = this.seq;
    const nowMs = Date.now();
    const outcomes = batch.map((member) => this.runMember(member, nowMs));
    try {
      if (this.seq !== startSeq) this.stmts.writeSeq.run(this.seq);
      this.stmts.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.stmts.rollback.run();
      this.catalog.reload();
      const fault = { code: 'unavailable', message: `the commit failed, nothing was applied: ${(err as Error).message}` } as const;
      return batch.map(() => ({ fault }));
    }
    return outcomes;
  }

  private runMember(member: BatchMember, nowMs: number): MemberOutcome {
    const seqBefore = this.seq;
    this.stmts.savepoint.run();
    try {
      const outcome = this.execute(member, nowMs);
      this.stmts.release.run();
      return outcome;
    } catch (err) {
      this.stmts.rollbackTo.run();
      this.stmts.release.run();
      this.seq = seqBefore;
      if (err instanceof SpacekvError) return { fault: err.toWire() };
      return { fault: { code: 'internal', message: `storage fault: ${(err as Error).message}` } };
    }
  }

  private execute(member: BatchMember, nowMs: number): MemberOutcome {
    const { op } = member;
    if (op.op === 'add_space' || op.op === 'rm_space') return this.executeAdmin(op);
    const entry = this.catalog.get(op.space);
    if (!entry || (member.spaceCreatedSeq !== undefined && entry.space.createdSeq !== member.spaceCreatedSeq)) {
      throw fail('unknown_space', `no space named '${op.space}'`);
    }
    return this.executeObjectWrite(op, entry, nowMs);
  }

  private executeObjectWrite(op: ObjectWriteOp, entry: CatalogEntry, nowMs: number): MemberOutcome {
    const row = entry.select.get(op.key) as Row | undefined;
    const stored: StoredObject | null = row && (row[1] === null || row[1] > nowMs)
      ? { version: row[0], expiresAt: row[1], attributesJson: row[2] }
      : null;
    const current: CurrentObject | null = stored
      ? { version: stored.version, expiresAt: stored.expiresAt, attributes: parseJson(stored.attributesJson) as CurrentObject['attributes'] }
      : null;
    const plan = planWrite(op, entry.space, current, nowMs, this.limits);
    if (plan.kind === 'fail') {
      return { result: { ok: false, code: plan.code, message: plan.message, version: plan.version }, changes: [] };
    }
    const seq = ++this.seq;
    if (plan.kind === 'delete') {
      entry.remove.run(op.key);
      const change: Change = { seq, space: op.space, key: op.key, op: op.op, attributesJson: null };
      const result: Result = { ok: true, kind: 'deleted', key: op.key, version: seq, ...(op.op === 'get_and_del' && stored ? { previous: stored } : {}) };
      return { result, changes: [change] };
    }
    const json = stringifyJson(plan.attributes);
    const bytes = utf8Length(json);
    if (bytes > this.limits.valueBytesMax) {
      throw fail('too_large', `the object would be ${bytes} bytes; the limit is ${this.limits.valueBytesMax}`, { limit: 'valueBytesMax' });
    }
    entry.upsert.run(op.key, seq, plan.expiresAt, json);
    const change: Change = { seq, space: op.space, key: op.key, op: op.op, attributesJson: json };
    const result: Result = {
      ok: true,
      kind: 'written',
      key: op.key,
      version: seq,
      created: plan.created,
      ...(op.op === 'mutate' ? { attributesJson: json } : {}),
      ...(op.op === 'get_and_put' ? { previous: stored } : {}),
    };
    return { result, changes: [change] };
  }

  private executeAdmin(op: AdminWriteOp): MemberOutcome {
    if (op.op === 'add_space') {
      const { schema } = op;
      if (this.catalog.get(schema.name)) throw fail('space_exists', `a space named '${schema.name}' already exists`);
      if (this.catalog.size >= this.limits.spacesMax) {
        throw fail('too_large', `the store holds ${this.catalog.size} spaces; the limit is ${this.limits.spacesMax}`, { limit: 'spacesMax' });
      }
      const seq = ++this.seq;
      const id = Number(this.stmts.insertSpace.run(schema.name, JSON.stringify(schema), seq).lastInsertRowid);
      this.db.exec(createSpaceTableSql(id, schema.key.type));
      this.catalog.add(id, schema, seq);
      const change: Change = { seq, space: schema.name, key: '', op: 'add_space', attributesJson: null };
      return { result: { ok: true, kind: 'space', schema, createdSeq: seq }, changes: [change] };
    }
    const entry = this.catalog.get(op.space);
    if (!entry) throw fail('unknown_space', `no space named '${op.space}'`);
    const seq = ++this.seq;
    this.stmts.deleteSpace.run(entry.id);
    this.db.exec(`DROP TABLE ${spaceTable(entry.id)}`);
    this.catalog.delete(op.space);
    const change: Change = { seq, space: op.space, key: '', op: 'rm_space', attributesJson: null };
    return { result: { ok: true, kind: 'space_removed', space: op.space }, changes: [change] };
  }
}
