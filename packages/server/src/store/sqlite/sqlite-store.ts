/**
 * The embedded store: one writer thread (group-commit batches, fsync off the event loop) and
 * reader connections on the engine's thread for point reads and change-log reads. Data lives in
 * `<dir>/spacekv.db` (+ its WAL); `<dir>/spacekv.lock` keeps a second server out (data-dir-lock.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EncodedSearchPage, Key, Limits, SearchPage, SearchPlan, SpaceSchema, StoredObject } from '@spacekv/core';
import { SpacekvError } from '@spacekv/core';
import type {
  BatchMember, ChangePage, ExpiredObject, IndexBuildProgress, LargeValueCandidate, LargeValueOwner, LargeValues, Lease, MemberOutcome, PurgeOutcome,
  RetentionRule, Store, StoreHealth, StoredSpace, StoreSnapshot,
} from '../store.js';
import { ThreadClock } from '../thread-clock.js';
import type { PruneOutcome } from './change-log-writer.js';
import { ChangeLogReader } from './change-log-reader.js';
import { DataDirLock } from './data-dir-lock.js';
import { LargeValueReader } from './large-value-reader.js';
import type { LargeValueRequest } from './large-value-writer.js';
import { packMembers } from './member-packing.js';
import { ObjectCache } from './object-cache.js';
import { unpackOutcomes } from './outcome-packing.js';
import { SqliteReader } from './reader.js';
import { Searcher } from './searcher.js';
import { takeSnapshot } from './snapshot.js';
import type { FromWriter, IndexStep, IndexStepAnswer, ToWriter } from './writer-messages.js';

/** The database file in a data directory (with its `-wal` and `-shm` beside it). */
export const DATA_FILE = 'spacekv.db';

/** What the writer answers a request: a batch's outcomes (unpacked) or a change-log or large-value request's. */
type Answer = Extract<FromWriter, { type: 'done' }> | { readonly type: 'outcomes'; readonly outcomes: readonly MemberOutcome[] };

/** A request to the writer thread awaiting its answer; a batch keeps its members, from which its outcomes are unpacked. */
interface Pending {
  readonly members?: readonly BatchMember[];
  readonly resolve: (answer: Answer) => void;
  readonly reject: (err: Error) => void;
}

/** The first pause before a dead writer thread is started again, and the longest between tries. */
const WRITER_RESTART_FIRST_MS = 10;
const WRITER_RESTART_LAST_MS = 5_000;

/** Leadership needs no contest here: the data-directory lock already makes this the only server. */
const SOLE_LEASE: Lease = { signal: new AbortController().signal, confirm: () => Promise.resolve(), release: () => Promise.resolve() };

export class SqliteStore implements Store {
  readonly path: string;
  private worker: Worker | undefined;
  private reader: SqliteReader | undefined;
  private logReader: ChangeLogReader | undefined;
  private largeReader: LargeValueReader | undefined;
  private lock: DataDirLock | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly indexSteps = new Map<number, { resolve: (answer: IndexStepAnswer) => void; reject: (err: Error) => void }>();
  private readonly searcher: Searcher;
  private readonly cache: ObjectCache;
  private readonly writerClock = new ThreadClock();
  private nextId = 1;
  private snapshotsInflight = 0;
  private failure: SpacekvError | undefined;
  private heals = true;
  private closed: Promise<void> | undefined;

  constructor(private readonly dataDir: string, private readonly limits: Limits) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, DATA_FILE);
    this.searcher = new Searcher(this.path, limits);
    this.cache = new ObjectCache(limits.readCacheBytesMax);
  }

  async open(): Promise<readonly StoredSpace[]> {
    this.lock = DataDirLock.take(this.dataDir);
    let started: { worker: Worker; spaces: readonly StoredSpace[] };
    try {
      started = await this.startWriter();
    } catch (err) {
      this.lock.release();
      throw err;
    }
    this.reader = new SqliteReader(this.path);
    this.logReader = new ChangeLogReader(this.path);
    this.largeReader = new LargeValueReader(this.path);
    return started.spaces;
  }

  /** Start a writer thread on the data file and take it into service once it is ready. */
  private async startWriter(): Promise<{ worker: Worker; spaces: readonly StoredSpace[] }> {
    const worker = new Worker(new URL('./writer-worker.js', import.meta.url), { workerData: { path: this.path, limits: this.limits } });
    const spaces = await new Promise<readonly StoredSpace[]>((resolve, reject) => {
      const onMessage = (message: FromWriter): void => {
        if (message.type === 'ready') resolve(message.spaces);
        else if (message.type === 'failed') reject(new Error(`cannot open ${this.path}: ${message.message}`));
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the writer thread exited with code ${code} before it was ready`)));
    });
    if (this.closed) {
      await worker.terminate(); // a restart that ended after close began: the close already ran
      throw new SpacekvError('unavailable', 'the store is closed');
    }
    worker.on('message', (message: FromWriter) => this.onMessage(message));
    worker.on('error', (err) => this.onWorkerLost(worker, err));
    worker.on('exit', (code) => this.onWorkerLost(worker, new Error(`the writer thread exited with code ${code}`)));
    this.worker = worker;
    this.writerClock.track(worker);
    this.failure = undefined;
    return { worker, spaces };
  }

  /** Whether writes can succeed now: false while the writer thread is gone or restarting (/healthz says so). */
  async health(): Promise<StoreHealth> {
    if (this.failure) return { ok: false, detail: `store sqlite: ${this.failure.message}` };
    return { ok: true, detail: 'store sqlite' };
  }

  /**
   * End the writer thread as a crash would (the test seam of the reliability suite: the real causes,
   * an out-of-memory kill or a native fault, cannot be summoned on demand). The store heals as from
   * any other death of its writer.
   */
  async killWriterForTest(heal = true): Promise<void> {
    this.heals = heal; // false only for the negative control: the writer stays dead
    await this.worker?.terminate();
  }

  get(space: string, key: Key, nowMs: number): StoredObject | null {
    if (!this.reader) throw new SpacekvError('unavailable', 'the store is not open');
    let stored = this.cache.get(space, key);
    if (stored === undefined) {
      stored = this.reader.get(space, key);
      this.cache.fill(space, key, stored);
    }
    return stored && (stored.expiresAt === null || stored.expiresAt > nowMs) ? stored : null;
  }

  async commit(members: readonly BatchMember[]): Promise<readonly MemberOutcome[]> {
    const answer = await this.ask((id) => ({ type: 'batch', id, members: packMembers(members) }), members);
    this.forgetChangedSpaces(members);
    return answer.type === 'outcomes' ? answer.outcomes : [];
  }

  async readChanges(afterSeq: number, limit: number): Promise<ChangePage> {
    return this.openLogReader().readChanges(afterSeq, limit);
  }

  async pruneChanges(rule: RetentionRule, limit: number): Promise<PruneOutcome> {
    const answer = await this.ask((id) => ({ type: 'prune', id, rule, limit }));
    return (answer.type === 'done' && answer.pruned) || { removed: 0, floorSeq: 0 };
  }

  async purgeRemoved(): Promise<PurgeOutcome> {
    const answer = await this.ask((id) => ({ type: 'purge', id }));
    return (answer.type === 'done' && answer.purged) || { removed: 0, more: false };
  }

  async readCursor(name: string): Promise<number> {
    return this.openLogReader().readCursor(name);
  }

  async saveCursor(name: string, seq: number): Promise<void> {
    await this.ask((id) => ({ type: 'save_cursor', id, name, seq }));
  }

  async acquireLease(): Promise<Lease> {
    return SOLE_LEASE;
  }

  async expiredObjects(nowMs: number, limit: number): Promise<readonly ExpiredObject[]> {
    return this.openLogReader().expiredObjects(nowMs, limit);
  }

  /** Large values: chunks staged by the writer thread between batches, read on a connection of their own. */
  readonly largeValues: LargeValues = {
    begin: async (id: string, owner: LargeValueOwner, nowMs: number) => {
      await this.large({ step: 'begin', id, ...owner, nowMs });
    },
    append: async (id: string, index: number, data: Uint8Array, nowMs: number) => {
      await this.large({ step: 'append', id, index, data, nowMs });
    },
    readChunk: async (id: string, index: number) => this.openLargeReader().readChunk(id, index),
    sweepCandidates: async (idleBeforeMs: number, afterId: string, limit: number): Promise<readonly LargeValueCandidate[]> =>
      this.openLargeReader().sweepCandidates(idleBeforeMs, afterId, limit),
    orphanIfUnreferenced: async (id: string, owner: LargeValueOwner, nowMs: number) => {
      await this.large({ step: 'orphan', id, ...owner, nowMs });
    },
    drop: (id: string) => this.large({ step: 'drop', id }),
  };

  private async large(request: LargeValueRequest): Promise<boolean> {
    const answer = await this.ask((id) => ({ type: 'large', id, request }));
    return answer.type === 'done' && answer.gone === true;
  }

  private openLargeReader(): LargeValueReader {
    if (!this.largeReader || this.closed) throw new SpacekvError('unavailable', 'the store is not open');
    return this.largeReader;
  }

  /** Send the writer one request and await its answer; a change-log or large-value request's storage error rejects it alone. */
  private ask(message: (id: number) => Extract<ToWriter, { type: 'batch' | 'save_cursor' | 'prune' | 'purge' | 'large' }>, members?: readonly BatchMember[]): Promise<Answer> {
    const worker = this.worker;
    if (this.failure) return Promise.reject(this.failure);
    if (!worker || this.closed) return Promise.reject(new SpacekvError('unavailable', 'the store is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        ...(members ? { members } : {}),
        resolve: (answer) => {
          if (answer.type === 'done' && answer.error !== undefined) reject(new SpacekvError('unavailable', `the store failed: ${answer.error}`));
          else resolve(answer);
        },
        reject,
      });
      worker.postMessage(message(id) satisfies ToWriter);
    });
  }

  private openLogReader(): ChangeLogReader {
    if (!this.logReader || this.closed) throw new SpacekvError('unavailable', 'the store is not open');
    return this.logReader;
  }

  search(plan: SearchPlan): Promise<SearchPage> {
    return this.searcher.search(plan);
  }

  searchEncoded(plan: SearchPlan): Promise<EncodedSearchPage> {
    return this.searcher.searchEncoded(plan);
  }

  count(plan: SearchPlan): Promise<number> {
    return this.searcher.count(plan);
  }

  threadsBusyMs(): Readonly<Record<string, number>> {
    return { writer: this.writerClock.busyMs(), search: this.searcher.busyMs() };
  }

  async addIndex(space: string, createdSeq: number, attribute: string, progress: IndexBuildProgress): Promise<SpaceSchema | null> {
    const step = (request: IndexStep) => this.indexStep(space, createdSeq, attribute, request);
    let started = await step({ step: 'start' });
    while (started.step === 'start' && started.state === 'purging') started = await step({ step: 'start' });
    if (started.step !== 'start' || started.state !== 'started') return null;
    try {
      let after: Key | null = null;
      let indexed = 0;
      do {
        const filled = await step({ step: 'fill', after });
        if (filled.step !== 'fill') break;
        indexed += filled.rows;
        after = filled.last;
        progress(indexed);
      } while (after !== null);
      const finished = await step({ step: 'finish' });
      if (finished.step !== 'finish') throw new SpacekvError('internal', 'the writer answered an index step out of turn');
      return finished.schema;
    } catch (err) {
      await step({ step: 'abort' }).catch(() => undefined); // a dead writer has nothing left to undo
      throw err;
    }
  }

  private indexStep(space: string, createdSeq: number, attribute: string, request: IndexStep): Promise<IndexStepAnswer> {
    const worker = this.worker;
    if (this.failure) return Promise.reject(this.failure);
    if (!worker || this.closed) return Promise.reject(new SpacekvError('unavailable', 'the store is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.indexSteps.set(id, { resolve, reject });
      worker.postMessage({ type: 'index', id, space, createdSeq, attribute, request } satisfies ToWriter);
    });
  }

  /**
   * A copy of the data file at one seq (snapshot.ts), beside it in the data directory (same disk,
   * so the copy is one local write; the caller streams it elsewhere and releases it). A copy counts
   * against snapshotsInflightMax until released, which bounds the disk the copies take.
   */
  async backupSnapshot(): Promise<StoreSnapshot> {
    if (this.closed) throw new SpacekvError('unavailable', 'the store is closed'); // the copy needs only the file, not the writer
    if (this.snapshotsInflight >= this.limits.snapshotsInflightMax) {
      throw new SpacekvError('overloaded', `${this.snapshotsInflight} backup(s) are being taken; the limit is ${this.limits.snapshotsInflightMax}`, { limit: 'snapshotsInflightMax' });
    }
    this.snapshotsInflight++; // until released: each copy held is a copy of the whole file on disk
    const path = join(this.dataDir, `backup-${randomBytes(6).toString('hex')}.tmp`);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.snapshotsInflight--;
      rmSync(path, { force: true });
    };
    try {
      const { seq } = await takeSnapshot(this.path, path);
      return { seq, path, store: 'sqlite', release };
    } catch (err) {
      release();
      throw new SpacekvError('unavailable', (err as Error).message);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    // The reader closes first: the last connection to close checkpoints the WAL into the database
    // file and removes it, which only the read-write writer can do.
    this.reader?.close();
    this.logReader?.close();
    this.largeReader?.close();
    await this.searcher.close();
    const worker = this.worker;
    if (worker && !this.failure) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' } satisfies ToWriter);
      await exited;
    }
    this.lock?.release();
  }

  private onMessage(message: FromWriter): void {
    if (message.type === 'index' || message.type === 'index_fault') {
      const waiting = this.indexSteps.get(message.id);
      this.indexSteps.delete(message.id);
      if (message.type === 'index') waiting?.resolve(message.answer);
      else waiting?.reject(new SpacekvError(message.fault.code, message.fault.message, message.fault));
      return;
    }
    if (message.type !== 'outcomes' && message.type !== 'done') return;
    const pending = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (message.type === 'done') return pending?.resolve(message);
    // Reads after this acknowledgement must see the batch: the next one starts a new snapshot,
    // and the cache holds the batch's objects (object-cache.ts says why this order keeps it exact).
    this.reader?.endSnapshot();
    if (!pending?.members) return this.cache.clear(); // no members to unpack the changes with: forget rather than guess
    const outcomes = unpackOutcomes(pending.members, message.outcomes);
    this.cache.applyOutcomes(outcomes);
    pending.resolve({ type: 'outcomes', outcomes });
  }

  /**
   * A dead writer leaves every in-flight batch with an unknown outcome, and writes fail fast
   * (`unavailable`, /healthz 503) until a new writer thread is ready. The store heals in place
   * rather than exiting: reads, watches and every connection go on, and nothing needs a supervisor.
   * A writer that cannot start again (the file is gone, the disk failed) is retried with backoff.
   */
  private onWorkerLost(worker: Worker, err: Error): void {
    if (worker !== this.worker) return; // 'error' and 'exit' both report one death
    this.worker = undefined;
    this.writerClock.retire(worker);
    if (this.closed && this.pending.size === 0) return;
    this.failure = new SpacekvError('unavailable', `the writer thread is gone (${err.message}); restarting it`);
    const unknown = new SpacekvError('outcome_unknown', `the writer thread died during the commit: ${err.message}`);
    for (const pending of this.pending.values()) pending.reject(unknown);
    this.pending.clear();
    for (const waiting of this.indexSteps.values()) waiting.reject(this.failure);
    this.indexSteps.clear();
    this.reader?.endSnapshot(); // the lost batch may have committed: later reads must see it
    this.cache.clear();
    if (!this.closed && this.heals) this.restartWriter(WRITER_RESTART_FIRST_MS);
  }

  private restartWriter(delayMs: number): void {
    setTimeout(() => {
      if (this.closed) return;
      this.startWriter().catch((err: Error) => {
        this.failure = new SpacekvError('unavailable', `the writer thread cannot start again (${err.message}); retrying`);
        this.restartWriter(Math.min(delayMs * 2, WRITER_RESTART_LAST_MS));
      });
    }, delayMs).unref();
  }

  private forgetChangedSpaces(members: readonly BatchMember[]): void {
    for (const { op } of members) {
      if (op.op === 'add_space') this.reader?.invalidate(op.schema.name);
      else if (op.op === 'rm_space') this.reader?.invalidate(op.space);
    }
  }
}
