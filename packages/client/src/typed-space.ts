/**
 * The typed layer: a space declared with `defineSpace` gives `get/put/mutate/...` whose attribute
 * names and value types the compiler checks. It is a thin veneer over SpacekvClient: the same
 * operations, the same wire, only typed.
 *
 * @example
 * const friends = await db.space(friendlists);          // creates or checks the space
 * await friends.put('jsmith1', { first: 'John' });
 * await friends.mutate('jsmith1', [{ set_add: { friends: 'jd' } }]);
 * const john = await friends.get('jsmith1');            // john.attributes.friends: string[]
 */
import type { GroupOutcome, SearchOptions, SearchPage, SearchPageOptions, SortedSearchOptions, SpacekvClient, WriteOptions } from './client.js';
import type { AttributesOf, KeyOf, SpaceDefinition, TypeSpec, WritableAttributesOf } from './model.js';
import type { Deleted, Mutated, SpaceObject, Written, WrittenWithPrevious } from './results.js';
import type { DocumentPathsOf, PathValue, PathWrites, PathsOfType } from './document-paths.js';

type Specs<D extends SpaceDefinition> = D['attributes'];
type Values<D extends SpaceDefinition> = AttributesOf<D>;
type Writes<D extends SpaceDefinition> = WritableAttributesOf<D>;
/** Attribute names of `D` whose type kind is one of `Kinds`. */
type NamesOf<D extends SpaceDefinition, Kinds extends string> = {
  [A in keyof Specs<D>]: Specs<D>[A] extends TypeSpec<infer K> ? (K extends Kinds ? A : never) : never;
}[keyof Specs<D>];
type ElementOf<V> = V extends readonly (infer E)[] ? E : V extends Record<string, infer E> ? E : never;
/**
 * The operand object of a mutation over the attributes of the given kinds. When the space has no
 * such attribute it is `Record<string, never>`, not `{}`: an empty mapped type would accept any
 * object and let `{ add: { name: 1 } }` compile on a space without numbers.
 */
type Operands<D extends SpaceDefinition, Kinds extends string, Operand extends 'value' | 'element' | 'elements' | 'keys'> =
  [NamesOf<D, Kinds>] extends [never] ? Readonly<Record<string, never>> : {
    readonly [A in NamesOf<D, Kinds>]?: Operand extends 'value' ? Writes<D>[A]
      : Operand extends 'element' ? ElementOf<Writes<D>[A]>
      : Operand extends 'elements' ? Writes<D>[A]
      : string | readonly string[];
  };

type NumericOp = 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'min' | 'max';
type BitwiseOp = 'and' | 'or' | 'xor';

/** One mutation, typed by the attributes it may touch. */
export type TypedMutation<D extends SpaceDefinition> =
  | { readonly set: Partial<Writes<D>> & PathWrites<D> }
  | { readonly unset: { readonly [A in keyof Specs<D>]?: true } }
  | { readonly [Op in NumericOp]: { readonly [K in Op]: Operands<D, 'int' | 'float', 'value'> } }[NumericOp]
  | { readonly [Op in BitwiseOp]: { readonly [K in Op]: Operands<D, 'int', 'value'> } }[BitwiseOp]
  | { readonly append: Operands<D, 'string' | 'list', 'elements'> }
  | { readonly prepend: Operands<D, 'string' | 'list', 'elements'> }
  | { readonly lpush: Operands<D, 'list', 'element'> }
  | { readonly rpush: Operands<D, 'list', 'element'> }
  | { readonly set_add: Operands<D, 'set', 'element'> }
  | { readonly set_remove: Operands<D, 'set', 'element'> }
  | { readonly set_union: Operands<D, 'set', 'elements'> }
  | { readonly set_intersect: Operands<D, 'set', 'elements'> }
  | { readonly map_set: Operands<D, 'map', 'elements'> }
  | { readonly map_remove: Operands<D, 'map', 'keys'> }
  | { readonly [Op in NumericOp | BitwiseOp as `map_${Op}`]: { readonly [K in `map_${Op}`]: Operands<D, 'map', 'elements'> } }[`map_${NumericOp | BitwiseOp}`]
  | { readonly map_string_prepend: Operands<D, 'map', 'elements'> }
  | { readonly map_string_append: Operands<D, 'map', 'elements'> }
  | PathMutation<D>;

/**
 * The operand object of a mutation over document paths `P`, each taking `V<P>`. With no such path it
 * is `Record<string, never>` (as for Operands), so that it never accepts an attribute's operands.
 */
type PathOperands<P extends string, V> = [P] extends [never] ? Readonly<Record<string, never>> : { readonly [K in P]?: V };
type ListPaths<D extends SpaceDefinition> = PathsOfType<D, readonly unknown[]>;
type ElementAt<D extends SpaceDefinition, P extends string> = unknown extends PathValue<D, P> ? unknown : ElementOf<PathValue<D, P>>;

/** A mutation on document paths, typed by the declared shape (document-paths.ts). */
export type PathMutation<D extends SpaceDefinition> =
  | { readonly set: PathOperands<DocumentPathsOf<D>, unknown> & PathWrites<D> }
  | { readonly [Op in NumericOp | BitwiseOp]: { readonly [K in Op]: PathOperands<PathsOfType<D, number | bigint>, number | bigint> } }[NumericOp | BitwiseOp]
  | { readonly [Op in 'append' | 'prepend']: { readonly [K in Op]: PathOperands<PathsOfType<D, string | readonly unknown[]>, string | readonly unknown[]> } }['append' | 'prepend']
  | { readonly [Op in 'lpush' | 'rpush' | 'set_add' | 'set_remove']: { readonly [K in Op]: { readonly [P in ListPaths<D>]?: ElementAt<D, P> } & PathOperands<ListPaths<D>, unknown> } }['lpush' | 'rpush' | 'set_add' | 'set_remove']
  | { readonly [Op in 'unset' | 'document_unset']: { readonly [K in Op]: PathOperands<DocumentPathsOf<D>, true> } }['unset' | 'document_unset']
  | { readonly document_rename: PathOperands<DocumentPathsOf<D>, DocumentPathsOf<D>> };

type ContainsOperand<V> = V extends readonly (infer E)[] ? E : V extends string ? string : V extends Record<string, unknown> ? string : never;

/** Predicate operators on a value of type V. */
export interface PredicateOperators<V> {
  readonly eq?: V;
  readonly ne?: V;
  readonly lt?: V;
  readonly lte?: V;
  readonly gt?: V;
  readonly gte?: V;
  readonly prefix?: string;
  readonly regex?: string;
  /** An element of a list or set, a key of a map, a substring of a string. */
  readonly contains?: ContainsOperand<V>;
  readonly length_eq?: number;
  readonly length_lte?: number;
  readonly length_gte?: number;
}

/** A condition on a space's attributes and document paths: equality by value, operators by object, `or` lists. */
export type TypedCondition<D extends SpaceDefinition> = {
  readonly [A in keyof Values<D>]?: Values<D>[A] | PredicateOperators<Values<D>[A]>;
} & {
  readonly [P in DocumentPathsOf<D>]?: PathValue<D, P> | PredicateOperators<PathValue<D, P>>;
} & { readonly or?: readonly TypedCondition<D>[] };

export interface TypedMutateOptions<D extends SpaceDefinition> extends WriteOptions {
  readonly if?: TypedCondition<D>;
}

export class TypedSpace<D extends SpaceDefinition> {
  constructor(private readonly client: SpacekvClient, readonly definition: D) {}

  get name(): D['name'] {
    return this.definition.name;
  }

  get(key: KeyOf<D>): Promise<SpaceObject<Values<D>, KeyOf<D>> | null> {
    return this.client.get(this.name, key) as Promise<SpaceObject<Values<D>, KeyOf<D>> | null>;
  }

  getPartial<A extends keyof Values<D> & string>(key: KeyOf<D>, attributes: readonly A[]): Promise<SpaceObject<Pick<Values<D>, A>, KeyOf<D>> | null> {
    return this.client.getPartial(this.name, key, attributes) as Promise<SpaceObject<Pick<Values<D>, A>, KeyOf<D>> | null>;
  }

  put(key: KeyOf<D>, attributes: Partial<Writes<D>> & PathWrites<D>, options?: WriteOptions): Promise<Written<KeyOf<D>>> {
    return this.client.put(this.name, key, attributes, options) as Promise<Written<KeyOf<D>>>;
  }

  putIfNotExist(key: KeyOf<D>, attributes: Partial<Writes<D>> & PathWrites<D>, options?: WriteOptions): Promise<Written<KeyOf<D>>> {
    return this.client.putIfNotExist(this.name, key, attributes, options) as Promise<Written<KeyOf<D>>>;
  }

  condPut(key: KeyOf<D>, condition: TypedCondition<D>, attributes: Partial<Writes<D>> & PathWrites<D>, options?: WriteOptions): Promise<Written<KeyOf<D>>> {
    return this.client.condPut(this.name, key, condition, attributes, options) as Promise<Written<KeyOf<D>>>;
  }

  /** Create if absent; if present, put only when the condition holds (HyperDex's cond_put_or_create). */
  condPutOrCreate(key: KeyOf<D>, condition: TypedCondition<D>, attributes: Partial<Writes<D>> & PathWrites<D>, options?: WriteOptions): Promise<Written<KeyOf<D>>> {
    return this.client.condPutOrCreate(this.name, key, condition, attributes, options) as Promise<Written<KeyOf<D>>>;
  }

  getAndPut(key: KeyOf<D>, attributes: Partial<Writes<D>> & PathWrites<D>, options?: WriteOptions): Promise<WrittenWithPrevious<Values<D>, KeyOf<D>>> {
    return this.client.getAndPut(this.name, key, attributes, options) as Promise<WrittenWithPrevious<Values<D>, KeyOf<D>>>;
  }

  compareAndSwap(key: KeyOf<D>, version: number, attributes: Partial<Writes<D>> & PathWrites<D>, options?: WriteOptions): Promise<Written<KeyOf<D>>> {
    return this.client.compareAndSwap(this.name, key, version, attributes, options) as Promise<Written<KeyOf<D>>>;
  }

  del(key: KeyOf<D>, options?: { readonly version?: number }): Promise<Deleted<Values<D>, KeyOf<D>>> {
    return this.client.del(this.name, key, options) as Promise<Deleted<Values<D>, KeyOf<D>>>;
  }

  condDel(key: KeyOf<D>, condition: TypedCondition<D>): Promise<Deleted<Values<D>, KeyOf<D>>> {
    return this.client.condDel(this.name, key, condition) as Promise<Deleted<Values<D>, KeyOf<D>>>;
  }

  getAndDel(key: KeyOf<D>): Promise<Deleted<Values<D>, KeyOf<D>>> {
    return this.client.getAndDel(this.name, key) as Promise<Deleted<Values<D>, KeyOf<D>>>;
  }

  mutate(key: KeyOf<D>, mutations: readonly TypedMutation<D>[], options: TypedMutateOptions<D> = {}): Promise<Mutated<Values<D>, KeyOf<D>>> {
    return this.client.mutate(this.name, key, mutations as never, options) as Promise<Mutated<Values<D>, KeyOf<D>>>;
  }

  /** Every object satisfying `where` (typed by attribute), in key order, paged transparently. */
  search(where: TypedCondition<D> = {}, options?: SearchOptions): AsyncGenerator<SpaceObject<Values<D>, KeyOf<D>>> {
    return this.client.search(this.name, where, options) as AsyncGenerator<SpaceObject<Values<D>, KeyOf<D>>>;
  }

  searchPage(where: TypedCondition<D> = {}, options?: SearchPageOptions): Promise<SearchPage<SpaceObject<Values<D>, KeyOf<D>>>> {
    return this.client.searchPage(this.name, where, options) as Promise<SearchPage<SpaceObject<Values<D>, KeyOf<D>>>>;
  }

  /** The first objects by an ordered attribute (a string, int, float, bool, timestamp or bytes). */
  sortedSearch(where: TypedCondition<D>, sortBy: (NamesOf<D, 'string' | 'int' | 'float' | 'bool' | 'timestamp' | 'bytes'> & string) | DocumentPathsOf<D>, options?: SortedSearchOptions): Promise<readonly SpaceObject<Values<D>, KeyOf<D>>[]> {
    return this.client.sortedSearch(this.name, where, sortBy, options) as Promise<readonly SpaceObject<Values<D>, KeyOf<D>>[]>;
  }

  count(where: TypedCondition<D> = {}): Promise<number> {
    return this.client.count(this.name, where);
  }

  groupDel(where: TypedCondition<D>): Promise<GroupOutcome> {
    return this.client.groupDel(this.name, where);
  }

  groupMutate(where: TypedCondition<D>, mutations: readonly TypedMutation<D>[]): Promise<GroupOutcome> {
    return this.client.groupMutate(this.name, where, mutations as never);
  }
}
