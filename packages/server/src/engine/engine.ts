/**
 * The engine runs validated Operations against a store: it owns the catalog of spaces that fronts
 * validate against, per-key order (sessions), group commit, backpressure, and the commit
 * hook through which later features (change events, AMQP relay) learn of durable changes.
 */
import {
  type AddIndexOp, type Change, type KeyedOp, type Limits, type Operation, type ReadOp, type Result, type TxOp, type WireError, type WriteOp,
  Space, SpacekvError, isSystemSpace, readResult,
} from '@spacekv/core';
import type { BatchMember, MemberOutcome, Store, StoreSnapshot } from '../store/store.js';
import { type CommitObserver, GroupCommitter } from './group-commit.js';
import { type SearchHost, runGroup, runSearch } from './searches.js';
import { type OperationRunner, Session } from './session.js';

export type CommitListener = (changes: readonly Change[]) => void;

export interface EngineOptions {
  readonly store: Store;
  readonly limits: Limits;
  readonly observer?: CommitObserver;
  readonly logger?: ErrorLogger;
}

/** The logging needs of the engine; pino's logger fits them. */
export interface ErrorLogger {
  error(fields: object, message: string): void;
  info?(fields: object, message: string): void;
}

const NO_OBSERVER: CommitObserver = { batchCommitted: () => {} };

export class Engine implements OperationRunner, SearchHost {
  readonly limits: Limits;
  readonly store: Store;
  private readonly observer: CommitObserver;
  private readonly spaces = new Map<string, Space>();
  private readonly committer: GroupCommitter;
  private readonly listeners = new Set<CommitListener>();
  private readonly logger: ErrorLogger;
  private accepting = false;
  /** Operations admitted by sessions and not yet answered. */
  private inflight = 0;
  private readonly drainWaiters: (() => void)[] = [];
  /** The seq of the last space change the catalog includes. */
  private catalogSeq = 0;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.limits = options.limits;
    this.observer = options.observer ?? NO_OBSERVER;
    this.logger = options.logger ?? { error: (fields, message) => console.error(message, fields) };
    this.committer = new GroupCommitter(
      options.store, this.limits.batchWritesMax, this.limits.writeQueueDepthMax, options.observer ?? NO_OBSERVER,
      (outcomes) => this.afterBatch(outcomes),
    );
  }

  async start(): Promise<void> {
    for (const { schema, createdSeq } of await this.store.open()) {
      this.spaces.set(schema.name, new Space(schema, createdSeq));
      this.catalogSeq = Math.max(this.catalogSeq, createdSeq);
    }
    this.store.sharedCatalog?.onChange(() => this.refreshCatalog());
    this.accepting = true;
  }

  /**
   * Another server process added or removed a space (shared stores only): read the catalog again.
   * A snapshot older than what this engine already applied (its own commits race the read) is
   * dropped, so the catalog never goes back in time. Refreshes run one at a time, and a request for
   * one made meanwhile runs once more after it.
   */
  refreshCatalog(): Promise<void> {
    const shared = this.store.sharedCatalog;
    if (!shared) return Promise.resolve();
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          const snapshot = await shared.spaces();
          if (snapshot.asOfSeq < this.catalogSeq) continue;
          this.spaces.clear();
          for (const { schema, createdSeq } of snapshot.spaces) this.spaces.set(schema.name, new Space(schema, createdSeq));
          this.catalogSeq = snapshot.asOfSeq;
        } catch (err) {
          // The store is unreachable; the next notification, or write refused `unknown_space`, retries.
          this.logger.error({ err }, 'reloading the catalog of spaces failed');
        }
      } while (this.refreshAgain);
      this.refreshing = undefined;
    })();
    return this.refreshing;
  }

  /**
   * The space fronts validate a request against. With a shared store a miss also starts a catalog
   * refresh: the space may have been added by another process whose notification is still on its
   * way, and a retry then finds it.
   */
  space(name: string): Space | undefined {
    const space = this.spaces.get(name);
    if (!space && this.store.sharedCatalog) void this.refreshCatalog();
    return space;
  }

  /** A new ordered stream of operations (one per client connection). */
  session(): Session {
    return new Session(this, this.limits.inflightRequestsMax);
  }

  /** Writes waiting for the next group-commit batch. */
  get writeQueueDepth(): number {
    return this.committer.depth;
  }

  /** Subscribe to durable changes, delivered after each batch commits, in seq order. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A session accepts an operation: refused once the engine is closing. */
  admit(): void {
    if (!this.accepting) throw new SpacekvError('shutting_down', 'the server is shutting down');
    this.inflight++;
  }

  /** An admitted operation was answered (or given up). */
  done(): void {
    this.inflight--;
    if (this.inflight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /**
   * A copy of the store at one seq for an online backup (Store.backupSnapshot), holding every write
   * acknowledged so far; the caller releases it. `bad_request` on a store that takes none.
   */
  async backupSnapshot(): Promise<StoreSnapshot> {
    if (!this.accepting) throw new SpacekvError('shutting_down', 'the server is shutting down');
    if (!this.store.backupSnapshot) {
      throw new SpacekvError('bad_request', "this server's store takes no online backup (PostgreSQL: `spacekv backup --store postgres://…`, a consistent copy at one seq, or PostgreSQL's pg_dump / pg_basebackup with WAL archiving; docs/operations.md)");
    }
    return this.store.backupSnapshot();
  }

  read(op: Operation): Result | Promise<Result> {
    return this.runRead(op as ReadOp);
  }

  write(op: Operation): Promise<Result> {
    if (op.op === 'group_del' || op.op === 'group_mutate') return runGroup(this, op);
    if (op.op === 'add_index') return this.addIndex(op);
    return this.commitMember(op as WriteOp, (result) => result);
  }

  /**
   * A read of one object pipelined behind writes of it still in the committer: it runs as a read-only
   * tx member of a batch, so it sees them without a commit round of its own, and it is answered once
   * its batch is durable, like the writes it follows (and right after them: same number of hops).
   */
  readInBatch(op: Operation): Promise<Result> {
    if (op.op !== 'get' && op.op !== 'get_partial') return Promise.reject(new SpacekvError('internal', `${op.op} cannot run as a batch member`));
    return this.commitMember({ op: 'tx', checks: [], ops: [op] }, (result) => {
      if (result.ok && result.kind === 'tx') return result.results[0] as Result;
      return readResult(op, null); // a tx fails on an absent object's get (not_found); alone, that get answers not_found
    });
  }

  /** Commit one member and answer with its result (`answer` adapts it), or throw its fault. */
  private commitMember(op: WriteOp, answer: (result: Result) => Result): Promise<Result> {
    let member: BatchMember;
    try {
      member = this.batchMember(op);
    } catch (err) {
      return Promise.reject(err);
    }
    // Not an async callback: that would cost every write one more promise and turn of the queue.
    return this.committer.submit(member).then((outcome) => {
      if ('fault' in outcome) return this.refused(outcome.fault);
      // The warnings of an add_space are the parser's, not the store's: the reply carries them.
      if (op.op === 'add_space' && op.warnings && outcome.result.ok && outcome.result.kind === 'space') return answer({ ...outcome.result, warnings: op.warnings });
      return answer(outcome.result);
    });
  }

  /**
   * A member the store refused. When the store knows a space is gone (or is another incarnation)
   * that this catalog still has, the refusal waits for the catalog to be read again: a request
   * this client sends after it must not be validated against the incarnation the store just refused
   * (the two-server test saw a write to a re-created space refused with the old schema's
   * `unknown_attribute`).
   */
  private async refused(fault: WireError): Promise<never> {
    if (fault.code === 'unknown_space') await this.refreshCatalog();
    throw new SpacekvError(fault.code, fault.message, fault);
  }

  /** Queue one write for group commit (group operations write through here, object by object). */
  submit(member: BatchMember): Promise<MemberOutcome> {
    return this.committer.submit(member);
  }

  /** Build an index online; the space's new schema is used for every request validated after it. */
  private async addIndex(op: AddIndexOp): Promise<Result> {
    const space = this.requireSpace(op.space);
    const started = performance.now();
    let loggedAt = started;
    const progress = (indexed: number): void => {
      this.observer.indexProgress?.(op.space, op.attribute, indexed);
      // A line a second at most: a large build takes thousands of steps.
      if (performance.now() - loggedAt < 1000) return;
      loggedAt = performance.now();
      this.logger.info?.({ space: op.space, attribute: op.attribute, indexed }, 'building index');
    };
    const schema = await this.store.addIndex(op.space, space.createdSeq, op.attribute, progress);
    if (schema) {
      this.spaces.set(op.space, new Space(schema, space.createdSeq));
      this.logger.info?.({ space: op.space, attribute: op.attribute, ms: Math.round(performance.now() - started), indexes: schema.indexes }, 'index built');
    }
    const current = this.requireSpace(op.space);
    return { ok: true, kind: 'space', schema: current.schema, createdSeq: current.createdSeq };
  }

  /** Stop taking operations, answer every one already accepted, close the store. */
  async close(): Promise<void> {
    this.accepting = false;
    if (this.inflight > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await this.committer.idle();
    await this.store.close();
  }

  /**
   * A write as the store receives it, pinned to the incarnation of every space it names, so the
   * writer refuses it (`unknown_space`) if a space was removed and re-created since it was validated.
   * A space already gone fails here, before it takes a place in a batch.
   */
  private batchMember(write: WriteOp): BatchMember {
    switch (write.op) {
      case 'add_space':
        return { op: write };
      case 'rm_space':
      case 'rm_index':
        return { op: write, spaceCreatedSeq: this.requireSpace(write.space).createdSeq };
      case 'tx':
        return { op: this.pinTx(write) };
      default:
        return { op: write, spaceCreatedSeq: this.incarnation(write) };
    }
  }

  private pinTx(tx: TxOp): TxOp {
    return {
      op: 'tx',
      checks: tx.checks.map((check) => ({ ...check, spaceCreatedSeq: this.incarnation(check) })),
      ops: tx.ops.map((op) => ({ ...op, spaceCreatedSeq: this.incarnation(op) })),
    };
  }

  /** The incarnation of its space `target` was validated against: its own (set by the parser), else the current one. */
  private incarnation(target: KeyedOp): number {
    const space = this.requireSpace(target.space);
    return target.spaceCreatedSeq ?? space.createdSeq;
  }

  private runRead(op: ReadOp): Result | Promise<Result> {
    switch (op.op) {
      case 'get':
      case 'get_partial': {
        this.requireSpace(op.space);
        const stored = this.store.get(op.space, op.key, Date.now());
        return stored instanceof Promise ? stored.then((s) => readResult(op, s)) : readResult(op, stored);
      }
      case 'describe_space': {
        const space = this.requireSpace(op.space);
        return { ok: true, kind: 'space', schema: space.schema, createdSeq: space.createdSeq };
      }
      case 'list_spaces':
        return { ok: true, kind: 'spaces', spaces: [...this.spaces.values()].filter((s) => !isSystemSpace(s.schema.name)).map((s) => s.schema) };
      default:
        return runSearch(this, op);
    }
  }

  requireSpace(name: string): Space {
    const space = this.spaces.get(name);
    if (!space) throw new SpacekvError('unknown_space', `no space named '${name}'`);
    return space;
  }

  private afterBatch(outcomes: readonly MemberOutcome[]): void {
    const changes: Change[] = [];
    for (const outcome of outcomes) {
      if (!('result' in outcome)) continue;
      this.applyToCatalog(outcome.result, outcome.changes);
      changes.push(...outcome.changes);
    }
    if (changes.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch (err) {
        // The batch is durable whatever a listener does; its failure must not become the writers'.
        this.logger.error({ err }, 'a commit listener failed');
      }
    }
  }

  private applyToCatalog(result: Result, changes: readonly Change[]): void {
    if (!result.ok || (result.kind !== 'space' && result.kind !== 'space_removed')) return;
    if (result.kind === 'space') this.spaces.set(result.schema.name, new Space(result.schema, result.createdSeq));
    else this.spaces.delete(result.space);
    for (const change of changes) this.catalogSeq = Math.max(this.catalogSeq, change.seq);
  }
}
