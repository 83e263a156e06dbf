// The harness of the conformance suite: a fresh store in a fresh directory per case, wrapped in an
// Engine, fed wire JSON exactly as the fronts feed it (text → parseJson → parseOperation →
// session.execute), and small assertions that compare whole results. Nothing here knows which
// store it drives: a store arrives only through a StoreFactory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  DEFAULT_LIMITS, SpacekvError, parseJson, parseOperation, stringifyJson,
  type EncodedSearchPage, type ErrorCode, type Json, type Key, type Limits, type Operation, type Result, type SearchPage, type SearchPlan, type SpaceSchema,
  type StoredObject,
} from '@spacekv/core';
import { Engine } from '../../src/engine/engine.js';
import type { Session } from '../../src/engine/session.js';
import type {
  BatchMember, ChangePage, ExpiredObject, IndexBuildProgress, Lease, MaybePromise, MemberOutcome, RetentionRule, Store, StoredSpace,
} from '../../src/store/store.js';

/**
 * Makes a store over `dir`. Called again with the same `dir` to reopen it (restart cases), so a
 * store that keeps its data elsewhere (PostgreSQL) must derive its database from `dir`. `limits`
 * are the case's limits: stores enforce some of them (valueBytesMax, spacesMax).
 */
export type StoreFactory = (dir: string, limits: Limits) => Store;

export interface SuiteOptions {
  /** Cases this store does not run, by exact case name, each with the reason (STYLE.md §3). */
  readonly skips?: Readonly<Record<string, string>>;
  /** Drops whatever makeStore created outside `dir`; called after each case, once its store is closed. */
  readonly cleanup?: (dir: string) => MaybePromise<void>;
}

export interface SuiteContext {
  readonly storeName: string;
  readonly makeStore: StoreFactory;
  readonly options: SuiteOptions;
}

export interface CaseOptions {
  readonly limits?: Limits;
  /** A hang guard for a case that runs far more operations than most (the default is CASE_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** An operation in its wire form, as a front receives it. */
export type Wire = { readonly op: string; readonly [field: string]: unknown };

const CASE_TIMEOUT_MS = 15_000;

/** Register one case: it gets its own directory, store and engine, all torn down afterwards. */
export function conformanceCase(
  ctx: SuiteContext, name: string, body: (fx: Fixture, t: TestContext) => Promise<void>, options: CaseOptions = {},
): void {
  const skip = ctx.options.skips?.[name];
  test(name, { timeout: options.timeoutMs ?? CASE_TIMEOUT_MS, ...(skip === undefined ? {} : { skip }) }, async (t) => {
    const fx = await Fixture.open(ctx.makeStore, options.limits ?? DEFAULT_LIMITS);
    try {
      await body(fx, t);
    } finally {
      await fx.dispose(ctx.options.cleanup);
    }
  });
}

/**
 * A store decorator that records every batch the group committer hands to `commit()`, so a case can
 * prove which writes really shared a batch, and can hold commits back (`holdCommits`) so a case
 * decides when a write becomes durable.
 */
export class RecordingStore implements Store {
  readonly batches: (readonly BatchMember[])[] = [];
  private held: Promise<void> | undefined;

  constructor(private readonly inner: Store) {}

  open(): Promise<readonly StoredSpace[]> {
    return this.inner.open();
  }

  get(space: string, key: Key, nowMs: number): MaybePromise<StoredObject | null> {
    return this.inner.get(space, key, nowMs);
  }

  async commit(batch: readonly BatchMember[]): Promise<readonly MemberOutcome[]> {
    this.batches.push([...batch]);
    if (this.held) await this.held;
    return this.inner.commit(batch);
  }

  /** Hold every commit that starts from now on until the returned function is called. */
  holdCommits(): () => void {
    let release = (): void => {};
    this.held = new Promise((resolve) => {
      release = () => {
        this.held = undefined;
        resolve();
      };
    });
    return release;
  }

  search(plan: SearchPlan): Promise<SearchPage> {
    return this.inner.search(plan);
  }

  searchEncoded(plan: SearchPlan): Promise<EncodedSearchPage> {
    return this.inner.searchEncoded(plan);
  }

  count(plan: SearchPlan): Promise<number> {
    return this.inner.count(plan);
  }

  addIndex(space: string, spaceCreatedSeq: number, attribute: string, progress: IndexBuildProgress): Promise<SpaceSchema | null> {
    return this.inner.addIndex(space, spaceCreatedSeq, attribute, progress);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  readChanges(afterSeq: number, limit: number): Promise<ChangePage> {
    return this.inner.readChanges(afterSeq, limit);
  }

  pruneChanges(rule: RetentionRule, limit: number): Promise<{ readonly removed: number; readonly floorSeq: number }> {
    return this.inner.pruneChanges(rule, limit);
  }

  readCursor(name: string): Promise<number> {
    return this.inner.readCursor(name);
  }

  saveCursor(name: string, seq: number): Promise<void> {
    return this.inner.saveCursor(name, seq);
  }

  acquireLease(name: string): Promise<Lease | null> {
    return this.inner.acquireLease(name);
  }

  expiredObjects(nowMs: number, limit: number): Promise<readonly ExpiredObject[]> {
    return this.inner.expiredObjects(nowMs, limit);
  }
}

export class Fixture {
  store!: RecordingStore;
  engine!: Engine;
  /** The default session; cases that need several open more with `engine.session()`. */
  session!: Session;
  private closed = true;

  private constructor(readonly dir: string, readonly limits: Limits, private readonly makeStore: StoreFactory) {}

  static async open(makeStore: StoreFactory, limits: Limits): Promise<Fixture> {
    const fx = new Fixture(mkdtempSync(join(tmpdir(), 'spacekv-conformance-')), limits, makeStore);
    try {
      await fx.start();
    } catch (err) {
      rmSync(fx.dir, { recursive: true, force: true });
      throw err;
    }
    return fx;
  }

  /** Close the engine (and its store), then open a new store over the same directory: a restart. */
  async reopen(): Promise<void> {
    await this.close();
    await this.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.engine.close();
  }

  async dispose(cleanup?: (dir: string) => MaybePromise<void>): Promise<void> {
    try {
      await this.close();
      await cleanup?.(this.dir);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Parse an operation as a front does: wire text, lossless JSON, then validation against the catalog. */
  parse(wire: Wire): Operation {
    return parseOperation(parseJson(stringifyJson(wire)), (name) => this.engine.space(name), this.limits);
  }

  /** Parse and run `wire` on `session` (default: the fixture's). A parse fault rejects, like a run fault. */
  run(wire: Wire, session: Session = this.session): Promise<Result> {
    let op: Operation;
    try {
      op = this.parse(wire);
    } catch (err) {
      return Promise.reject(err);
    }
    return session.execute(op);
  }

  /** Create a space from its DSL (or JSON form) and return the seq that created it. */
  async addSpace(schema: string | Json): Promise<number> {
    const result = await this.run({ op: 'add_space', schema });
    if (!result.ok || result.kind !== 'space') return assert.fail(`add_space failed: ${describeResult(result)}`);
    return result.createdSeq;
  }

  /** Batches committed so far. */
  get batchCount(): number {
    return this.store.batches.length;
  }

  private async start(): Promise<void> {
    this.store = new RecordingStore(this.makeStore(this.dir, this.limits));
    this.engine = new Engine({ store: this.store, limits: this.limits });
    await this.engine.start();
    this.closed = false;
    this.session = this.engine.session();
  }
}

// ---------------------------------------------------------------------------------------------
// Assertions on results

/** A stored object as a case compares it: attributes decoded. */
export interface ObjectView {
  readonly version: number;
  readonly expiresAt: number | null;
  readonly attributes: Json;
}

/**
 * A result with its JSON decoded and its message dropped (messages are prose, not contract). Only
 * the fields the result really has appear, so `deepEqual` against a view checks for extras too.
 */
export type ResultView = { readonly [field: string]: unknown };

export function view(result: Result): ResultView {
  if (!result.ok) {
    const rest = withoutMessage(result);
    return result.code === 'tx_failed' ? { ...rest, failures: result.failures.map(withoutMessage) } : rest;
  }
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(result)) {
    if (value === undefined) continue;
    if (field === 'attributesJson') out.attributes = parseJson(value as string);
    else if (field === 'previous') out.previous = value === null ? null : storedView(value as StoredObject);
    else if (field === 'results') out.results = (value as readonly Result[]).map(view);
    else out[field] = value;
  }
  return out;
}

/** A failure (a failed result, or one failure of a tx) without its message, which must be there. */
function withoutMessage<T extends { readonly message: string }>(failure: T): Omit<T, 'message'> {
  assert.equal(typeof failure.message, 'string');
  assert.ok(failure.message.length > 0, 'a failure carries a message');
  const { message: _message, ...rest } = failure;
  return rest;
}

export function storedView(stored: StoredObject): ObjectView {
  return { version: stored.version, expiresAt: stored.expiresAt, attributes: parseJson(stored.attributesJson) };
}

/**
 * Assert that `result` is exactly `expected` (see {@link view}). A result that has a version but
 * an `expected` that names none: the version must be a positive integer and is returned, so the
 * case can relate it to others (versions are seqs; only their order is contract, not their gaps).
 */
export function expectResult(result: Result, expected: ResultView): number {
  const actual = view(result);
  const version = actual.version;
  let full = expected;
  if (typeof version === 'number' && !('version' in expected)) {
    assert.ok(Number.isSafeInteger(version) && version > 0, `version must be a positive integer, got ${String(version)}`);
    full = { ...expected, version };
  }
  assert.deepEqual(actual, full);
  return typeof version === 'number' ? version : 0;
}

/** An object of a page, as the reply's text carries it. */
export interface PageObject {
  readonly key: Key;
  readonly version: number;
  readonly attributes: Json;
}

/** The objects of a search or list result, parsed from the page's text; fails on any other result. */
export function pageObjects(result: Result): PageObject[] {
  if (!result.ok || result.kind !== 'page') return assert.fail(`expected a page, got ${describeResult(result)}`);
  return parseJson(result.objectsJson) as unknown as PageObject[];
}

/** The decoded attributes of an object (get) or mutate result. */
export function attributesOf(result: Result): Json {
  if (!result.ok || (result.kind !== 'object' && result.kind !== 'written') || result.attributesJson === undefined) {
    return assert.fail(`expected attributes, got ${describeResult(result)}`);
  }
  return parseJson(result.attributesJson);
}

export function versionOf(result: Result): number {
  if (!('version' in result) || result.version === undefined) return assert.fail(`expected a version, got ${describeResult(result)}`);
  return result.version;
}

/** Assert `promise` rejects with a SpacekvError of `code` (a fault, not a result). */
export async function expectFault(promise: Promise<unknown>, code: ErrorCode): Promise<SpacekvError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  if (!(caught instanceof SpacekvError)) return assert.fail(`expected SpacekvError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected fault ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** Assert `values` strictly increase. */
export function assertIncreasing(values: readonly number[], what = 'versions'): void {
  for (let i = 1; i < values.length; i++) {
    assert.ok((values[i] as number) > (values[i - 1] as number), `${what} must strictly increase: ${values.join(', ')}`);
  }
}

export function describeResult(result: Result): string {
  return stringifyJson(view(result));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The ends of the 64-bit int range and the first integers past JavaScript's exact range. */
export const INT64_MAX = 2n ** 63n - 1n;
export const INT64_MIN = -(2n ** 63n);
export const TWO_53_PLUS_1 = 2n ** 53n + 1n;

/** The version of a successful write; fails on anything else. */
export function writtenVersion(result: Result): number {
  if (!result.ok || result.kind !== 'written') return assert.fail(`expected a write, got ${describeResult(result)}`);
  return result.version;
}

/** One decoded attribute of an object (get) or mutate result. */
export function attributeOf(result: Result, name: string): Json | undefined {
  const attributes = attributesOf(result);
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) return assert.fail('attributes must be an object');
  return (attributes as { readonly [k: string]: Json })[name];
}

/** Assert a settled operation was rejected with the fault `code`. */
export async function expectRejected(outcome: PromiseSettledResult<unknown> | undefined, code: ErrorCode): Promise<SpacekvError> {
  if (outcome?.status !== 'rejected') return assert.fail(`expected the fault ${code}, got ${outcome === undefined ? 'nothing' : 'a result'}`);
  return expectFault(Promise.reject(outcome.reason), code);
}

/** Assert a settled operation was answered with a result, and return it. */
export function expectFulfilled<T>(outcome: PromiseSettledResult<T> | undefined): T {
  if (outcome?.status !== 'fulfilled') return assert.fail(`expected a result, got ${outcome === undefined ? 'nothing' : String(outcome.reason)}`);
  return outcome.value;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of a randomized case: SPACEKV_SEED when set, else a fresh one (print it on failure). */
export function seedFromEnv(): number {
  const text = process.env.SPACEKV_SEED;
  return text === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(text) >>> 0;
}
