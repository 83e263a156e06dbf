/**
 * The spacekv client: every operation of docs/architecture.md §3 as a method returning a promise, with
 * HyperDex's names in camelCase. Operations issued in the same tick travel in one frame; thousands
 * may be in flight on one connection. A failed condition rejects with a typed error (`ExistsError`,
 * `CmpFailError`, `NotFoundError`, ...), except that reads of absent objects resolve with null.
 *
 * Order (docs/protocol.md, "Ordering"): operations issued without awaiting take effect in the order
 * issued only per key (same space, same key); on different keys they may take effect in any order.
 * A tx, search, count or list takes effect after every write issued before it to what it reads or
 * writes. To have B follow A on another key, await A before issuing B, as HyperDex asks.
 *
 * @example
 * const db = await connect('http://127.0.0.1:7640');
 * await db.put('friendlists', 'jsmith1', { first: 'John', last: 'Smith' });
 * const john = await db.get('friendlists', 'jsmith1'); // { key, version, attributes }
 * const put = db.put('friendlists', 'jj', { first: 'J' });
 * const jj = db.get('friendlists', 'jj'); // issued without awaiting: same key, so it sees the put
 * await Promise.all([put, jj]);
 * await db.close();
 */
import type { Key } from '@spacekv/core';
import { Completions, type Completion } from './completions.js';
import { OperationHandle } from './handle.js';
import { Connection, type ConnectionOptions, type ReplyBody } from './connection.js';
import { SchemaDriftError, SpacekvError, UnknownSpaceError, errorOf } from './errors.js';
import { type SpaceDefinition, schemaJsonOf } from './model.js';
import {
  type AttributeRecord, type Deleted, type Mutated, type SpaceObject, type Written, type WrittenWithPrevious, expectOk, expectWritten, objectOrNull,
} from './results.js';
import { schemaDrift } from './schema-drift.js';
import { type GetLargeOptions, type LargeBody, type LargeValueRead, type PutLargeOptions, getLarge, putLarge } from './large-values.js';
import { type Transaction, type TransactionOptions, runTransaction } from './transaction.js';
import { TypedSpace } from './typed-space.js';
import { type Watch, type WatchOptions, WatchRegistry } from './watch.js';
import { type WindowOptions, type WindowResult, window } from './window.js';

export interface ClientOptions extends ConnectionOptions {
  /** Completions kept for `loop()` that nobody has looped yet. Default 100,000. */
  readonly loopBacklogMax?: number;
}

export interface WriteOptions {
  /** Seconds until the object expires; null clears an expiry. */
  readonly expireIn?: number | null;
}

export interface MutateOptions extends WriteOptions {
  /** Apply only if this condition holds (else `CmpFailError`). */
  readonly if?: Condition;
}

/** Predicates per attribute: `{ last: 'Smith', age: { gte: 18 } }`, with `or: [...]` lists. */
export type Condition = Readonly<Record<string, unknown>>;
/** Mutations in their wire form, applied in order: `[{ set_add: { friends: 'jj' } }, { add: { visits: 1 } }]`. */
export type MutationList = readonly Readonly<Record<string, Readonly<Record<string, unknown>>>>[];
/** A schema: DSL text, or the JSON form. */
export type SchemaInput = string | Readonly<Record<string, unknown>>;

/** A check of a `tx`: the object exists or not, is at a version (0: absent), or satisfies a condition. */
export type TxCheckInput =
  | { readonly space: string; readonly key: Key; readonly exists: boolean }
  | { readonly space: string; readonly key: Key; readonly version: number }
  | { readonly space: string; readonly key: Key; readonly if: Condition };

/** What a committed `tx` answers: its seq (null if it wrote nothing) and each operation's result. */
export interface TxOutcome {
  readonly seq: number | null;
  readonly results: readonly Readonly<Record<string, unknown>>[];
}

export interface SpaceDescription {
  readonly name: string;
  readonly key: { readonly name: string; readonly type: string };
  readonly attributes: readonly { readonly name: string; readonly type: string }[];
  readonly ttl_seconds?: number;
  readonly indexes?: readonly string[];
}

const READ_OPS = new Set(['get', 'get_partial', 'list_spaces', 'describe_space', 'search', 'sorted_search', 'count', 'list']);

/** How the server found the candidates of a search or count (the `explain` option). */
export type SearchPlan = { readonly kind: 'scan' } | { readonly kind: 'index'; readonly attribute: string; readonly counted_from_index?: boolean };

/** One page of a search or list; pass `cursor` back for the next (absent on the last page). */
export interface SearchPage<O = SpaceObject> {
  readonly objects: readonly O[];
  readonly cursor?: string;
  readonly plan?: SearchPlan;
}

export interface SearchOptions {
  /** Return only these attributes. */
  readonly select?: readonly string[];
  /** Objects per page (1 to the server's searchPageObjectsMax; default 100). */
  readonly limit?: number;
}

export interface SearchPageOptions extends SearchOptions {
  readonly cursor?: string;
  /** Ask the server which plan it used (`page.plan`). */
  readonly explain?: boolean;
}

export interface SortedSearchOptions {
  readonly select?: readonly string[];
  /** Default 'asc'. Ties are ordered by key, in the same direction. */
  readonly order?: 'asc' | 'desc';
  /** Default 100. */
  readonly limit?: number;
  readonly explain?: boolean;
}

/** Key bounds of `list`: `start` inclusive, `end` exclusive, `prefix` (string keys). */
export interface ListOptions extends SearchOptions {
  readonly start?: Key;
  readonly end?: Key;
  readonly prefix?: string;
  readonly reverse?: boolean;
}

/** What group_del / group_mutate did: objects that satisfied the condition when written, and those changed. */
export interface GroupOutcome {
  readonly matched: number;
  readonly changed: number;
}

function defined<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class SpacekvClient {
  private readonly completions: Completions;
  private outstandingOps = 0;
  private flushWaiters: (() => void)[] = [];
  private readonly watches: WatchRegistry;

  /** Use `connect()`. */
  constructor(private readonly connection: Connection, options: ClientOptions = {}) {
    this.completions = new Completions(options.loopBacklogMax ?? 100_000);
    this.watches = new WatchRegistry(connection);
  }

  /**
   * Watch changes: every committed change to a space, one object or a key prefix, in seq order,
   * from now or after `since`, optionally filtered. Survives reconnections without a gap or a
   * repeat; many watches share the connection. Leaving the loop unsubscribes.
   *
   * @example
   * for await (const change of db.watch({ space: 'friendlists', prefix: 'j', since: 0 })) {
   *   console.log(change.seq, change.op, change.key, change.attributes); // attributes null: deleted
   * }
   */
  watch(options: WatchOptions = {}): Watch {
    return this.watches.open(options);
  }

  /** Operations issued and not yet settled. */
  get outstanding(): number {
    return this.outstandingOps;
  }

  get(space: string, key: Key): Promise<SpaceObject | null> {
    return this.call({ op: 'get', space, key }, objectOrNull<SpaceObject>);
  }

  getPartial(space: string, key: Key, attributes: readonly string[]): Promise<SpaceObject | null> {
    return this.call({ op: 'get_partial', space, key, select: attributes }, objectOrNull<SpaceObject>);
  }

  /** Upsert: sets the given attributes, keeps the others. Always wins. */
  put(space: string, key: Key, attributes: AttributeRecord, options: WriteOptions = {}): Promise<Written> {
    return this.call({ op: 'put', space, key, attributes, ...expiry(options) }, expectWritten);
  }

  /** Create only if absent; rejects with `ExistsError` otherwise. */
  putIfNotExist(space: string, key: Key, attributes: AttributeRecord, options: WriteOptions = {}): Promise<Written> {
    return this.call({ op: 'put_if_not_exist', space, key, attributes, ...expiry(options) }, expectWritten);
  }

  /** Put only if the condition holds on the existing object (`CmpFailError`, `NotFoundError`). */
  condPut(space: string, key: Key, condition: Condition, attributes: AttributeRecord, options: WriteOptions = {}): Promise<Written> {
    return this.call({ op: 'cond_put', space, key, if: condition, attributes, ...expiry(options) }, expectWritten);
  }

  /** Create the object if absent; if present, put only if the condition holds (`CmpFailError`): HyperDex's cond_put_or_create. */
  condPutOrCreate(space: string, key: Key, condition: Condition, attributes: AttributeRecord, options: WriteOptions = {}): Promise<Written> {
    return this.call({ op: 'cond_put_or_create', space, key, if: condition, attributes, ...expiry(options) }, expectWritten);
  }

  /** Put, answering with the object as it was before (null when absent). */
  getAndPut(space: string, key: Key, attributes: AttributeRecord, options: WriteOptions = {}): Promise<WrittenWithPrevious> {
    return this.call({ op: 'get_and_put', space, key, attributes, ...expiry(options) }, expectOk<WrittenWithPrevious>);
  }

  /** Put only if the object is at `version` (`CmpFailError` carries the current version). */
  compareAndSwap(space: string, key: Key, version: number, attributes: AttributeRecord, options: WriteOptions = {}): Promise<Written> {
    return this.call({ op: 'compare_and_swap', space, key, version, attributes, ...expiry(options) }, expectWritten);
  }

  /**
   * Write a large value into a `bytes` attribute (docs/large-values.md): `body` is streamed to the
   * server in use over HTTP, and the object commits with the value once it is all there.
   * @example
   * await db.putLarge('files', 'intro', 'video', createReadStream('intro.mp4'));
   */
  putLarge(space: string, key: Key, attribute: string, body: LargeBody, options: PutLargeOptions = {}): Promise<Written> {
    return putLarge(this.connection.httpTarget, space, key, attribute, body, options);
  }

  /** Read a bytes attribute's value (large or inline) as a stream, whole or from `start` to `end`; `NotFoundError` when absent. */
  getLarge(space: string, key: Key, attribute: string, options: GetLargeOptions = {}): Promise<LargeValueRead> {
    return getLarge(this.connection.httpTarget, space, key, attribute, options);
  }

  /** Delete (`NotFoundError` if absent); with `version`, only at that version. */
  del(space: string, key: Key, options: { readonly version?: number } = {}): Promise<Deleted> {
    return this.call({ op: 'del', space, key, ...(options.version === undefined ? {} : { version: options.version }) }, expectOk<Deleted>);
  }

  condDel(space: string, key: Key, condition: Condition): Promise<Deleted> {
    return this.call({ op: 'cond_del', space, key, if: condition }, expectOk<Deleted>);
  }

  getAndDel(space: string, key: Key): Promise<Deleted> {
    return this.call({ op: 'get_and_del', space, key }, expectOk<Deleted>);
  }

  /** Apply mutations atomically, in order; resolves with the new attributes and version. */
  mutate(space: string, key: Key, mutations: MutationList, options: MutateOptions = {}): Promise<Mutated> {
    const condition = options.if === undefined ? {} : { if: options.if };
    return this.call({ op: 'mutate', space, key, mutations, ...condition, ...expiry(options) }, expectOk<Mutated>);
  }

  addSpace(schema: SchemaInput): Promise<SpaceDescription> {
    return this.call({ op: 'add_space', schema }, (reply) => expectOk<{ space: SpaceDescription }>(reply).space);
  }

  rmSpace(space: string): Promise<void> {
    return this.call({ op: 'rm_space', space }, (reply) => {
      expectOk(reply);
    });
  }

  listSpaces(): Promise<readonly SpaceDescription[]> {
    return this.call({ op: 'list_spaces' }, (reply) => expectOk<{ spaces: SpaceDescription[] }>(reply).spaces);
  }

  describeSpace(space: string): Promise<SpaceDescription> {
    return this.call({ op: 'describe_space', space }, (reply) => expectOk<{ space: SpaceDescription }>(reply).space);
  }

  /**
   * Every object satisfying `where`, in key order, fetched page by page as the loop asks for them.
   * Objects present (and matching) for the whole iteration come exactly once, whatever is written
   * meanwhile.
   * @example
   * for await (const person of db.search('people', { last: 'Smith', age: { gte: 18 } })) console.log(person.key);
   */
  async *search(space: string, where: Condition = {}, options: SearchOptions = {}): AsyncGenerator<SpaceObject> {
    let cursor: string | undefined;
    do {
      const page = await this.searchPage(space, where, { ...options, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.objects;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  /** One page of `search`; a page may be short (a scan answers after a bounded number of rows) and still have a cursor. */
  searchPage(space: string, where: Condition = {}, options: SearchPageOptions = {}): Promise<SearchPage> {
    const { select, limit, cursor, explain } = options;
    return this.call({ op: 'search', space, where, ...defined({ select, limit, cursor, explain }) }, expectOk<SearchPage>);
  }

  /** The first `limit` objects satisfying `where`, ordered by `sortBy` (then key). */
  async sortedSearch(space: string, where: Condition, sortBy: string, options: SortedSearchOptions = {}): Promise<readonly SpaceObject[]> {
    return (await this.sortedSearchPage(space, where, sortBy, options)).objects;
  }

  /** `sortedSearch` with the plan, when `explain` is set. */
  sortedSearchPage(space: string, where: Condition, sortBy: string, options: SortedSearchOptions = {}): Promise<SearchPage> {
    const { select, order, limit, explain } = options;
    return this.call({ op: 'sorted_search', space, where, sort_by: sortBy, ...defined({ select, order, limit, explain }) }, expectOk<SearchPage>);
  }

  /** How many objects satisfy `where` (from an index when one decides the condition alone). */
  async count(space: string, where: Condition = {}): Promise<number> {
    return (await this.call({ op: 'count', space, where }, expectOk<{ count: number }>)).count;
  }

  /** How the server would answer a search (or, with `'count'`, a count) of `where`: an index or a scan. */
  async explain(space: string, where: Condition = {}, what: 'search' | 'count' = 'search'): Promise<SearchPlan> {
    const fields = what === 'search' ? { limit: 1 } : {};
    return (await this.call({ op: what, space, where, explain: true, ...fields }, expectOk<{ plan: SearchPlan }>)).plan;
  }

  /** Objects by key range or prefix, in key order (or reverse), page by page. */
  async *list(space: string, options: ListOptions = {}): AsyncGenerator<SpaceObject> {
    let cursor: string | undefined;
    do {
      const page = await this.listPage(space, { ...options, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.objects;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  listPage(space: string, options: ListOptions & { readonly cursor?: string } = {}): Promise<SearchPage> {
    const { start, end, prefix, reverse, limit, select, cursor } = options;
    return this.call({ op: 'list', space, ...defined({ start, end, prefix, reverse, limit, select, cursor }) }, expectOk<SearchPage>);
  }

  /** Delete every object satisfying `where`, each atomically under that condition. */
  groupDel(space: string, where: Condition): Promise<GroupOutcome> {
    return this.call({ op: 'group_del', space, where }, expectOk<GroupOutcome>);
  }

  /** Apply `mutations` to every object satisfying `where`, each atomically under that condition. */
  groupMutate(space: string, where: Condition, mutations: MutationList): Promise<GroupOutcome> {
    return this.call({ op: 'group_mutate', space, where, mutations }, expectOk<GroupOutcome>);
  }

  /** Build a secondary index on `attribute` online; resolves once it is complete and in use. */
  addIndex(space: string, attribute: string): Promise<SpaceDescription> {
    return this.call({ op: 'add_index', space, attribute }, (reply) => expectOk<{ space: SpaceDescription }>(reply).space);
  }

  /** Drop the index on `attribute` (or a document path), online; searches scan from then on. */
  rmIndex(space: string, attribute: string): Promise<SpaceDescription> {
    return this.call({ op: 'rm_index', space, attribute }, (reply) => expectOk<{ space: SpaceDescription }>(reply).space);
  }

  /**
   * The server's atomic `tx`: every check holds and every operation applies at one seq, or nothing
   * changes and the call rejects with `TxFailedError`, whose `failures` say which check or
   * operation failed (docs/transactions.md).
   */
  tx(request: { readonly checks?: readonly TxCheckInput[]; readonly ops?: readonly Readonly<Record<string, unknown>>[] }): Promise<TxOutcome> {
    return this.call({ op: 'tx', checks: request.checks ?? [], ops: request.ops ?? [] }, expectOk<TxOutcome>);
  }

  /**
   * Run `fn` as an optimistic read-modify-write transaction, retried on conflict (see
   * transaction.ts). `fn` must have no side effects other than through `tx`: it may run again.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return runTransaction(this, fn, options);
  }

  /**
   * A typed handle on a space declared with `defineSpace`: creates the space if it is absent, and
   * rejects with `SchemaDriftError` if the server's space differs from the declaration.
   */
  async space<D extends SpaceDefinition>(definition: D): Promise<TypedSpace<D>> {
    await this.ensureSpace(definition);
    return new TypedSpace(this, definition);
  }

  /** Create the declared space, or check that the existing one matches it. */
  async ensureSpace(definition: SpaceDefinition): Promise<void> {
    let server: SpaceDescription;
    try {
      server = await this.describeSpace(definition.name);
    } catch (err) {
      if (!(err instanceof UnknownSpaceError)) throw err;
      try {
        server = await this.addSpace(schemaJsonOf(definition));
      } catch (addErr) {
        if ((addErr as SpacekvError).code !== 'space_exists') throw addErr;
        server = await this.describeSpace(definition.name); // another client created it first
      }
    }
    const drift = schemaDrift(definition, server);
    if (drift.length > 0) {
      throw new SchemaDriftError('invalid_schema', `space '${definition.name}' on the server differs from its declaration: ${drift.join('; ')}`);
    }
    // An index changes speed, not answers: a declared one the server lacks is built, online.
    for (const attribute of definition.indexes ?? []) if (!server.indexes?.includes(attribute)) await this.addIndex(definition.name, attribute);
  }

  /**
   * Resolves with the next operation to complete (HyperDex's `loop()`), each exactly once.
   * Operations the caller awaits (or otherwise consumes) are not handed out. Rejects with
   * `bad_request` when nothing is outstanding and nothing is left to hand out.
   * @example
   * const outstanding = new Set(names.map((n) => db.get('friendlists', n)));
   * while (outstanding.size > 0) {
   *   const done = await db.loop();
   *   outstanding.delete(done.handle);
   * }
   */
  loop(): Promise<Completion> {
    return this.completions.next(() => this.outstandingOps > 0);
  }

  /** Resolves once every operation issued so far has settled. */
  flush(): Promise<void> {
    if (this.outstandingOps === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /** Run `fn` over `items` with at most `size` operations outstanding (see window.ts). */
  window<T>(items: Iterable<T> | AsyncIterable<T>, size: number, fn: (item: T, index: number) => Promise<unknown>, options?: WindowOptions): Promise<WindowResult<T>> {
    return window(items, size, fn, options);
  }

  /** Wait for outstanding operations, then close the connection. */
  async close(): Promise<void> {
    this.watches.endAll();
    await this.flush();
    this.connection.close();
  }

  /** Send a wire operation and decode its reply; every operation goes through here. */
  protected call<T>(op: Readonly<Record<string, unknown>> & { op: string }, decode: (reply: ReplyBody) => T): Promise<T> {
    this.outstandingOps++;
    const { handle, resolve, reject } = OperationHandle.create<T>();
    this.connection.request(op, !READ_OPS.has(op.op), (error, reply) => {
      let value: T;
      try {
        if (error) throw error;
        value = decode(reply as ReplyBody);
      } catch (failure) {
        reject(failure);
        this.settled({ handle, ok: false, error: asSpacekvError(failure) });
        return;
      }
      resolve(value);
      this.settled({ handle, ok: true, value });
    });
    return handle;
  }

  private settled(completion: Completion): void {
    this.outstandingOps--;
    this.completions.record(completion);
    if (this.outstandingOps === 0) for (const wake of this.flushWaiters.splice(0)) wake();
  }
}

/**
 * HyperDex's per-mutation methods, each a one-mutation `mutate`, so code ported from HyperDex's
 * Python client reads the same: `db.setAdd('friendlists', 'jj', { friends: 'jsmith1' })`,
 * `db.atomicAdd('people', 'ada', { 'info.visits': 1 })` (a document path). HyperDex's `cond_*`
 * forms are these with `{ if: condition }` (docs/hyperdex.md).
 */
const MUTATION_METHODS = {
  atomicAdd: 'add', atomicSub: 'sub', atomicMul: 'mul', atomicDiv: 'div', atomicMod: 'mod',
  atomicAnd: 'and', atomicOr: 'or', atomicXor: 'xor', atomicMin: 'min', atomicMax: 'max',
  stringAppend: 'append', stringPrepend: 'prepend', listAppend: 'append', listPrepend: 'prepend', listLpush: 'lpush', listRpush: 'rpush',
  setAdd: 'set_add', setRemove: 'set_remove', setUnion: 'set_union', setIntersect: 'set_intersect',
  // HyperDex's map_add inserts entries: spacekv's map_set (spacekv's map_add is the arithmetic one).
  mapAdd: 'map_set', mapSet: 'map_set', mapRemove: 'map_remove', mapStringPrepend: 'map_string_prepend', mapStringAppend: 'map_string_append',
  documentRename: 'document_rename', documentUnset: 'document_unset', mapAtomicAdd: 'map_add', mapAtomicSub: 'map_sub', mapAtomicMul: 'map_mul',
  mapAtomicDiv: 'map_div', mapAtomicMod: 'map_mod', mapAtomicAnd: 'map_and', mapAtomicOr: 'map_or', mapAtomicXor: 'map_xor',
  mapAtomicMin: 'map_min', mapAtomicMax: 'map_max',
} as const;

type MutationMethods = {
  readonly [M in keyof typeof MUTATION_METHODS]: (space: string, key: Key, attributes: AttributeRecord, options?: MutateOptions) => Promise<Mutated>;
};

// Declaration merging gives the class the methods defined on its prototype below.
export interface SpacekvClient extends MutationMethods {}

for (const [method, mutation] of Object.entries(MUTATION_METHODS)) {
  Object.defineProperty(SpacekvClient.prototype, method, {
    value(this: SpacekvClient, space: string, key: Key, attributes: AttributeRecord, options?: MutateOptions) {
      return this.mutate(space, key, [{ [mutation]: attributes }], options);
    },
  });
}

function expiry(options: WriteOptions): { expire_in?: number | null } {
  return options.expireIn === undefined ? {} : { expire_in: options.expireIn };
}

function asSpacekvError(error: unknown): SpacekvError {
  return error instanceof SpacekvError ? error : errorOf('internal', (error as Error)?.message ?? String(error));
}

/**
 * Connect to a server (`http://host:port` or `ws://host:port/v1/ws`); resolves once it has said
 * hello. Given several servers sharing one store, it uses one and fails over to the next when that
 * one goes away (see connection.ts): a write in flight at the loss fails `outcome_unknown`.
 * @example
 * const db = await connect(['http://a:7640', 'http://b:7640']);
 */
export async function connect(url: string | readonly string[], options: ClientOptions = {}): Promise<SpacekvClient> {
  const connection = new Connection(url, options);
  await connection.open();
  return new SpacekvClient(connection, options);
}
