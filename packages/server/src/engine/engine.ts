/**
 * The engine runs validated Operations against a store: it owns the catalog of spaces that fronts
 * validate against, per-connection order (sessions), group commit, backpressure, and the commit
 * hook through which later features (change events, AMQP relay) learn of durable changes.
 */
import {
  type Change, type GetOp, type GetPartialOp, type Key, type Limits, type Operation, type ReadOp, type Result,
  type StoredObject, type WriteOp,
  Space, SpacekvError, parseJson, stringifyJson,
} from '@spacekv/core';
import type { MemberOutcome, Store } from '../store/store.js';
import { type CommitObserver, GroupCommitter } from './group-commit.js';
import { type OperationRunner, Session } from './session.js';

export type CommitListener = (changes: readonly Change[]) => void;

export interface EngineOptions {
  readonly store: Store;
  readonly limits: Limits;
  readonly observer?: CommitObserver;
  readonly logger?: ErrorLogger;
}

/** The one logging need of the engine; pino's logger fits it. */
export interface ErrorLogger {
  error(fields: object, message: string): void;
}

const NO_OBSERVER: CommitObserver = { batchCommitted: () => {} };

export class Engine implements OperationRunner {
  readonly limits: Limits;
  private readonly store: Store;
  private readonly spaces = new Map<string, Space>();
  private readonly committer: GroupCommitter;
  private readonly listeners = new Set<CommitListener>();
  private readonly logger: ErrorLogger;
  private accepting = false;
  /** Operations admitted by sessions and not yet answered. */
  private inflight = 0;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.limits = options.limits;
    this.logger = options.logger ?? { error: (fields, message) => console.error(message, fields) };
    this.committer = new GroupCommitter(
      options.store, this.limits.batchWritesMax, this.limits.writeQueueDepthMax, options.observer ?? NO_OBSERVER,
      (outcomes) => this.afterBatch(outcomes),
    );
  }

  async start(): Promise<void> {
    for (const { schema, createdSeq } of await this.store.open()) this.spaces.set(schema.name, new Space(schema, createdSeq));
    this.accepting = true;
  }

  /** The space fronts validate a request against. */
  space(name: string): Space | undefined {
    return this.spaces.get(name);
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

  read(op: Operation): Result | Promise<Result> {
    return this.runRead(op as ReadOp);
  }

  async write(op: Operation): Promise<Result> {
    const write = op as WriteOp;
    let spaceCreatedSeq: number | undefined;
    if (write.op !== 'add_space') {
      const space = this.spaces.get(write.space);
      if (!space) throw new SpacekvError('unknown_space', `no space named '${write.space}'`);
      spaceCreatedSeq = ('key' in write ? write.spaceCreatedSeq : undefined) ?? space.createdSeq;
    }
    const outcome = await this.committer.submit({ op: write, ...(spaceCreatedSeq === undefined ? {} : { spaceCreatedSeq }) });
    if ('fault' in outcome) throw new SpacekvError(outcome.fault.code, outcome.fault.message, outcome.fault);
    return outcome.result;
  }

  /** Stop taking operations, answer every one already accepted, close the store. */
  async close(): Promise<void> {
    this.accepting = false;
    if (this.inflight > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await this.committer.idle();
    await this.store.close();
  }

  private runRead(op: ReadOp): Result | Promise<Result> {
    switch (op.op) {
      case 'get':
      case 'get_partial': {
        this.requireSpace(op.space);
        const stored = this.store.get(op.space, op.key, Date.now());
        return stored instanceof Promise ? stored.then((s) => objectResult(op, s)) : objectResult(op, stored);
      }
      case 'describe_space': {
        const space = this.requireSpace(op.space);
        return { ok: true, kind: 'space', schema: space.schema, createdSeq: space.createdSeq };
      }
      case 'list_spaces':
        return { ok: true, kind: 'spaces', spaces: [...this.spaces.values()].map((s) => s.schema) };
    }
  }

  private requireSpace(name: string): Space {
    const space = this.spaces.get(name);
    if (!space) throw new SpacekvError('unknown_space', `no space named '${name}'`);
    return space;
  }

  private afterBatch(outcomes: readonly MemberOutcome[]): void {
    const changes: Change[] = [];
    for (const outcome of outcomes) {
      if (!('result' in outcome)) continue;
      this.applyToCatalog(outcome.result);
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

  private applyToCatalog(result: Result): void {
    if (!result.ok) return;
    if (result.kind === 'space') this.spaces.set(result.schema.name, new Space(result.schema, result.createdSeq));
    else if (result.kind === 'space_removed') this.spaces.delete(result.space);
  }
}

function objectResult(op: GetOp | GetPartialOp, stored: StoredObject | null): Result {
  if (!stored) return notFound(op.space, op.key);
  const attributesJson = op.op === 'get' ? stored.attributesJson : pick(stored.attributesJson, op.select);
  return { ok: true, kind: 'object', key: op.key, version: stored.version, attributesJson };
}

function notFound(space: string, key: Key): Result {
  return { ok: false, code: 'not_found', message: `no object with key ${String(key)} in space '${space}'`, version: 0 };
}

function pick(attributesJson: string, select: readonly string[]): string {
  const all = parseJson(attributesJson) as Record<string, unknown>;
  const chosen: Record<string, unknown> = {};
  for (const name of select) chosen[name] = all[name];
  return stringifyJson(chosen);
}
