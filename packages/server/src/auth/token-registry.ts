/**
 * The token records of a store (docs/architecture.md §4.9): one object per record in the system space
 * `_spacekv_tokens`, keyed by the record's id, holding the root key that signs its tokens, a label,
 * the caveats it was created with, and whether it is revoked. Records are never deleted: a revoked
 * record stays, so its tokens stay refused and the first-start bootstrap never runs twice.
 *
 * Kept in memory (a store holds at most `tokensMax` records) and in step with every server sharing
 * the store: the registry watches its space through the change feed, which follows other servers'
 * commits on the same notification path as the catalog, and tells its listeners (the
 * authenticator's cache) of each record that changed. Its own writes apply at once, before the
 * caller's reply, so a revocation holds on this server when `revoke` resolves.
 */
import { randomBytes } from 'node:crypto';
import {
  type Limits, type Operation, type Result, type SpaceSchema, SpacekvError, TOKENS_SPACE, parseJson,
} from '@spacekv/core';
import type { Engine } from '../engine/engine.js';
import type { ChangeFeed } from '../events/change-feed.js';
import type { Subscription } from '../events/subscription.js';
import { mintToken } from './token-format.js';

export interface TokenRecord {
  readonly id: string;
  readonly rootKey: Buffer;
  readonly label: string;
  readonly createdAtMs: number;
  readonly caveats: readonly string[];
  readonly revoked: boolean;
}

/** A record as `token list` shows it: everything but the root key. */
export interface TokenInfo {
  readonly id: string;
  readonly label: string;
  readonly created_at: string;
  readonly caveats: readonly string[];
  readonly revoked: boolean;
}

/** The id of the record the first start creates. */
export const ROOT_TOKEN_ID = 'root';

const SCHEMA: SpaceSchema = {
  name: TOKENS_SPACE,
  key: { name: 'id', type: 'string' },
  attributes: [
    { name: 'root_key', type: { kind: 'string' } },
    { name: 'label', type: { kind: 'string' } },
    { name: 'created_at', type: { kind: 'int' } },
    { name: 'caveats', type: { kind: 'document' } },
    { name: 'revoked', type: { kind: 'bool' } },
  ],
};

interface StoredAttributes {
  readonly root_key: string;
  readonly label: string;
  readonly created_at: number | bigint;
  readonly caveats: readonly string[];
  readonly revoked: boolean;
}

function recordOf(id: string, a: StoredAttributes): TokenRecord {
  return { id, rootKey: Buffer.from(a.root_key, 'base64'), label: a.label, createdAtMs: Number(a.created_at), caveats: a.caveats, revoked: a.revoked };
}

export class TokenRegistry {
  private readonly records = new Map<string, TokenRecord>();
  private readonly listeners: ((record: TokenRecord) => void)[] = [];
  private subscription: Subscription | undefined;

  constructor(private readonly engine: Engine, private readonly feed: ChangeFeed, private readonly limits: Limits) {}

  /** Create the system space if need be, load every record, and follow changes from other servers. */
  async open(): Promise<void> {
    if (!this.engine.space(TOKENS_SPACE)) {
      await this.engine.refreshCatalog();
      if (!this.engine.space(TOKENS_SPACE)) {
        try {
          await this.engine.write({ op: 'add_space', schema: SCHEMA });
        } catch (err) {
          if (!(err instanceof SpacekvError && err.code === 'space_exists')) throw err; // another server made it first
          await this.engine.refreshCatalog();
        }
      }
    }
    this.subscription = await this.feed.subscribe({ space: TOKENS_SPACE }, {
      deliver: (events) => {
        for (const text of events) this.onEvent(text);
        return true;
      },
      end: () => {}, // shutdown: nothing to tell
    });
    this.subscription.pump();
    await this.load();
  }

  close(): void {
    this.subscription?.cancel();
  }

  /** Called with each record that changed (created or revoked), here or on another server. */
  onChange(listener: (record: TokenRecord) => void): void {
    this.listeners.push(listener);
  }

  get(id: string): TokenRecord | undefined {
    return this.records.get(id);
  }

  list(): TokenInfo[] {
    return [...this.records.values()].map((r) => ({
      id: r.id, label: r.label, created_at: new Date(r.createdAtMs).toISOString(), caveats: r.caveats, revoked: r.revoked,
    }));
  }

  /**
   * A new record and its first token, which grants what `caveats` allow. With `id`, only if no
   * record of that id exists (the root's bootstrap): resolves undefined when one does.
   */
  async create(label: string, caveats: readonly string[], id?: string): Promise<{ id: string; token: string } | undefined> {
    if (this.records.size >= this.limits.tokensMax) {
      throw new SpacekvError('overloaded', `the store holds ${this.records.size} token records`, { limit: 'tokensMax' });
    }
    // Hex, not base64url: an id is typed on command lines (`spacekv token revoke <id>`), where one
    // that began with '-' (1 in 64 base64url ids) was read as an option. 64 bits, as long as the
    // 16 base64url characters were, so tokens (which carry the id) keep their length; an id is not
    // a secret (the record's root key is), and put_if_not_exist refuses a duplicate.
    const recordId = id ?? randomBytes(8).toString('hex');
    const rootKey = randomBytes(32);
    const attributes = { root_key: rootKey.toString('base64'), label, created_at: Date.now(), caveats: [...caveats], revoked: false };
    const result = await this.run({ op: 'put_if_not_exist', space: TOKENS_SPACE, key: recordId, attributes });
    if (!result.ok) return undefined;
    this.apply({ id: recordId, rootKey, label, createdAtMs: Number(attributes.created_at), caveats, revoked: false });
    return { id: recordId, token: mintToken(recordId, rootKey, caveats) };
  }

  /** Revoke a record: every token minted from it, and every token attenuated from those, is refused from now on. */
  async revoke(id: string): Promise<boolean> {
    const record = this.records.get(id);
    if (!record) return false;
    const result = await this.run({ op: 'mutate', space: TOKENS_SPACE, key: id, mutations: [{ op: 'set', attribute: 'revoked', operand: true }] });
    if (!result.ok) return false;
    this.apply({ ...record, revoked: true });
    return true;
  }

  private async run(op: Operation): Promise<Result> {
    const space = this.engine.space(TOKENS_SPACE);
    if (!space) throw new SpacekvError('unavailable', 'the token records cannot be reached (their space is missing)');
    return this.engine.write({ ...op, spaceCreatedSeq: space.createdSeq } as Operation);
  }

  private async load(): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const op = { op: 'list', space: TOKENS_SPACE, range: {}, reverse: false, limit: this.limits.searchPageObjectsMax, ...(after === undefined ? {} : { after }) } as const;
      const page = await this.engine.read(op);
      if (!page.ok || page.kind !== 'page') throw new SpacekvError('internal', 'listing the token records failed');
      const objects = parseJson(page.objectsJson) as unknown as { key: string; attributes: StoredAttributes }[];
      for (const object of objects) this.apply(recordOf(String(object.key), object.attributes));
      if (page.cursor === undefined) return;
      after = String(objects[objects.length - 1]?.key);
    }
  }

  private onEvent(text: string): void {
    const event = parseJson(text) as unknown as { key: string; op: string; attributes: StoredAttributes | null };
    if (event.op === 'add_space' || event.op === 'rm_space' || event.attributes === null) return;
    this.apply(recordOf(String(event.key), event.attributes));
  }

  private apply(record: TokenRecord): void {
    const known = this.records.get(record.id);
    // A revoked record stays revoked, whatever order the notifications come in.
    const merged = known?.revoked && !record.revoked ? { ...record, revoked: true } : record;
    this.records.set(record.id, merged);
    for (const listener of this.listeners) listener(merged);
  }
}
