/**
 * The model of a space: its name, its key and its typed attributes (docs/architecture.md §2). Produced by the
 * DSL parser (`dsl.ts`) or from the JSON form (`schema-json.ts`); both validate fully, so code that
 * holds a `SpaceSchema` may trust it.
 */
import type { AttributeType, KeyTypeName } from './types.js';

export interface AttributeSchema {
  readonly name: string;
  readonly type: AttributeType;
}

export interface SpaceSchema {
  readonly name: string;
  readonly key: { readonly name: string; readonly type: KeyTypeName };
  readonly attributes: readonly AttributeSchema[];
  /** Default `expire_in` for writes into this space that name none (the DSL's `ttl` clause). */
  readonly ttlSeconds?: number;
  /**
   * Attributes with a secondary index (the DSL's `index` clauses), in declared order. Searches on
   * them are answered from the index; an index never changes what a search returns, only how fast.
   */
  readonly indexes?: readonly string[];
}

/** Names a space or attribute may take: an identifier, as in HyperDex. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Words that cannot name an attribute because the wire forms give them a meaning. */
export const RESERVED_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(['or']);

/** Lookup structure built once per space, used on every request. */
export class Space {
  readonly schema: SpaceSchema;
  /**
   * The seq at which this incarnation of the space was created (0 for a space not yet stored).
   * A space removed and re-added under the same name is a different space; writes validated
   * against the old one must not land in the new one, and this number tells them apart.
   */
  readonly createdSeq: number;
  private readonly byName: ReadonlyMap<string, AttributeSchema>;

  constructor(schema: SpaceSchema, createdSeq = 0) {
    this.schema = schema;
    this.createdSeq = createdSeq;
    this.byName = new Map(schema.attributes.map((a) => [a.name, a]));
  }

  get name(): string {
    return this.schema.name;
  }

  attribute(name: string): AttributeSchema | undefined {
    return this.byName.get(name);
  }

  get attributes(): readonly AttributeSchema[] {
    return this.schema.attributes;
  }

  /** The schema without the index on `name` (unchanged when there is none). */
  withoutIndex(name: string): SpaceSchema {
    const indexes = (this.schema.indexes ?? []).filter((n) => n !== name);
    const { indexes: _old, ...rest } = this.schema;
    return indexes.length === 0 ? rest : { ...rest, indexes };
  }

  /** Whether `name` has a (complete) secondary index. */
  isIndexed(name: string): boolean {
    return this.schema.indexes?.includes(name) ?? false;
  }
}
