/**
 * Optimistic read-modify-write transactions in the client, built on the server's `tx` operation
 * (docs/transactions.md). The function reads through `tx` (each read records the object's version),
 * buffers its writes locally, and the commit sends one `tx` whose checks are those versions. If any
 * object read has changed meanwhile, the commit fails as a whole and the function runs again, after
 * a backoff, up to a bound; then the transaction fails with `conflict`.
 *
 * The function must be free of side effects other than through `tx`: it may run several times.
 * Isolation: serializable for the keys read — the commit applies only if none of them changed since
 * it was read, and all writes apply at one instant.
 *
 * @example
 * await db.transaction(async (tx) => {
 *   const from = await tx.get('accounts', 'alice');
 *   const to = await tx.get('accounts', 'bob');
 *   if (!from || !to || (from.attributes.balance as number) < 10) return;
 *   tx.mutate('accounts', 'alice', [{ sub: { balance: 10 } }]);
 *   tx.mutate('accounts', 'bob', [{ add: { balance: 10 } }]);
 * });
 */
import type { Key } from '@spacekv/core';
import type { SpacekvClient } from './client.js';
import type { Condition, MutationList, TxCheckInput, WriteOptions } from './client.js';
import { SpacekvError, errorOf } from './errors.js';
import type { AttributesOf, KeyOf, SpaceDefinition, WritableAttributesOf } from './model.js';
import type { AttributeRecord, SpaceObject } from './results.js';
import type { TypedCondition, TypedMutation } from './typed-space.js';

export interface TransactionOptions {
  /** Attempts before giving up with `conflict`. Default 20. */
  readonly attemptsMax?: number;
  /** First backoff between attempts; doubles each time, with jitter, up to backoffMaxMs. Defaults 2 ms and 200 ms. */
  readonly backoffMs?: number;
  readonly backoffMaxMs?: number;
}

/** A failed check or operation of a server `tx`. */
export interface TxFailure {
  readonly at: 'check' | 'op';
  readonly index: number;
  readonly code: string;
  readonly message: string;
  readonly version: number;
}

type WireOp = Readonly<Record<string, unknown>>;

/** Thrown inside an attempt when its reads are already known to be inconsistent. */
class Stale extends Error {}

function idOf(space: string, key: Key): string {
  return `${space}\0${typeof key}\0${String(key)}`;
}

/** The handle a transaction function works through. Reads go to the server; writes are buffered. */
export class Transaction {
  private readonly versions = new Map<string, { readonly space: string; readonly key: Key; readonly version: number }>();
  private readonly written = new Set<string>();
  private readonly ops: WireOp[] = [];

  constructor(private readonly client: SpacekvClient) {}

  /** Read an object (null when absent) and remember its version for the commit's checks. */
  async get(space: string, key: Key): Promise<SpaceObject | null> {
    const id = idOf(space, key);
    if (this.written.has(id)) {
      throw errorOf('bad_request', `read ${space}/${String(key)} before writing it in the same transaction: writes are applied at commit`);
    }
    const object = await this.client.get(space, key);
    const version = object?.version ?? 0;
    const seen = this.versions.get(id);
    if (seen && seen.version !== version) throw new Stale(); // it changed between two reads: this attempt is lost
    this.versions.set(id, { space, key, version });
    return object;
  }

  put(space: string, key: Key, attributes: AttributeRecord, options: WriteOptions = {}): void {
    this.write(space, key, { op: 'put', space, key, attributes, ...expiry(options) });
  }

  putIfNotExist(space: string, key: Key, attributes: AttributeRecord, options: WriteOptions = {}): void {
    this.write(space, key, { op: 'put_if_not_exist', space, key, attributes, ...expiry(options) });
  }

  condPut(space: string, key: Key, condition: Condition, attributes: AttributeRecord, options: WriteOptions = {}): void {
    this.write(space, key, { op: 'cond_put', space, key, if: condition, attributes, ...expiry(options) });
  }

  del(space: string, key: Key): void {
    this.write(space, key, { op: 'del', space, key });
  }

  mutate(space: string, key: Key, mutations: MutationList, options: WriteOptions & { readonly if?: Condition } = {}): void {
    const condition = options.if === undefined ? {} : { if: options.if };
    this.write(space, key, { op: 'mutate', space, key, mutations, ...condition, ...expiry(options) });
  }

  /** A typed view of one declared space inside this transaction. */
  space<D extends SpaceDefinition>(definition: D): TypedTransactionSpace<D> {
    return new TypedTransactionSpace(this, definition);
  }

  /** The `tx` this attempt commits with: a version check per object read, then the buffered writes. */
  commitRequest(): { readonly checks: TxCheckInput[]; readonly ops: WireOp[] } {
    const checks = [...this.versions.values()].map(({ space, key, version }) => ({ space, key, version }));
    return { checks, ops: this.ops };
  }

  private write(space: string, key: Key, op: WireOp): void {
    this.written.add(idOf(space, key));
    this.ops.push(op);
  }
}

function expiry(options: WriteOptions): { expire_in?: number | null } {
  return options.expireIn === undefined ? {} : { expire_in: options.expireIn };
}

/** Whether a failed commit lost a race (a version check failed) rather than failing on its own terms. */
export function isConflict(error: unknown): boolean {
  if (!(error instanceof SpacekvError) || error.code !== 'tx_failed') return false;
  const failures = (error.details as { failures?: readonly TxFailure[] }).failures ?? [];
  return failures.length > 0 && failures.every((f) => f.at === 'check');
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run `fn` as an optimistic transaction (see the file comment); resolves with what `fn` returns. */
export async function runTransaction<T>(client: SpacekvClient, fn: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const attemptsMax = options.attemptsMax ?? 20;
  let backoff = options.backoffMs ?? 2;
  for (let attempt = 1; ; attempt++) {
    const tx = new Transaction(client);
    try {
      const value = await fn(tx);
      const { checks, ops } = tx.commitRequest();
      if (ops.length > 0 || checks.length > 0) await client.tx({ checks, ops });
      return value;
    } catch (err) {
      if (!(err instanceof Stale) && !isConflict(err) && !(await readsChanged(client, tx, err))) throw err;
    }
    if (attempt >= attemptsMax) {
      throw errorOf('conflict', `the transaction conflicted with other writes ${attempt} times and gave up`);
    }
    await pause(backoff * (0.5 + Math.random() / 2));
    backoff = Math.min(backoff * 2, options.backoffMaxMs ?? 200);
  }
}

/**
 * The function threw: if what it read has changed since, its error may come from an inconsistent
 * view (e.g. two reads either side of a concurrent write), so the attempt is retried; otherwise the
 * error is the function's own and goes to the caller.
 */
async function readsChanged(client: SpacekvClient, tx: Transaction, err: unknown): Promise<boolean> {
  if (err instanceof SpacekvError && err.code !== 'tx_failed') return false; // a fault or a misuse: the caller's to see
  const { checks } = tx.commitRequest();
  if (checks.length === 0) return false;
  try {
    await client.tx({ checks, ops: [] });
    return false;
  } catch (validation) {
    return isConflict(validation);
  }
}

/** `Transaction` restricted to one declared space, with the typed layer's checks. */
export class TypedTransactionSpace<D extends SpaceDefinition> {
  constructor(private readonly tx: Transaction, readonly definition: D) {}

  get(key: KeyOf<D>): Promise<SpaceObject<AttributesOf<D>, KeyOf<D>> | null> {
    return this.tx.get(this.definition.name, key) as Promise<SpaceObject<AttributesOf<D>, KeyOf<D>> | null>;
  }

  put(key: KeyOf<D>, attributes: Partial<WritableAttributesOf<D>>, options?: WriteOptions): void {
    this.tx.put(this.definition.name, key, attributes, options);
  }

  putIfNotExist(key: KeyOf<D>, attributes: Partial<WritableAttributesOf<D>>, options?: WriteOptions): void {
    this.tx.putIfNotExist(this.definition.name, key, attributes, options);
  }

  del(key: KeyOf<D>): void {
    this.tx.del(this.definition.name, key);
  }

  mutate(key: KeyOf<D>, mutations: readonly TypedMutation<D>[], options: WriteOptions & { readonly if?: TypedCondition<D> } = {}): void {
    this.tx.mutate(this.definition.name, key, mutations as unknown as MutationList, options);
  }
}
