/**
 * Declaring spaces in TypeScript. `defineSpace` captures a space's schema as a value the server
 * can create or check, and as types from which the typed layer (typed-space.ts) infers attribute
 * names and value types.
 *
 * @example
 * const friendlists = defineSpace('friendlists', {
 *   key: 'username',
 *   attributes: { first: t.string(), last: t.string(), friends: t.set(t.string()) },
 *   indexes: ['last', 'friends'],
 * });
 */

/**
 * A declared attribute type: `V` is the TypeScript type of its values as read, `W` what a write
 * may give (wider where the server accepts more forms, as epoch milliseconds for a timestamp).
 */
export interface TypeSpec<Kind extends string = string, V = unknown, W = V> {
  readonly kind: Kind;
  /** The DSL spelling, e.g. `set(string)`, as the server describes it. */
  readonly text: string;
  /** Phantoms: carry V and W for inference; never set. */
  readonly __value?: V;
  readonly __write?: W;
}

export type ScalarSpec<V = unknown, W = V> = TypeSpec<'string' | 'int' | 'float' | 'bool' | 'bytes' | 'timestamp', V, W>;
export type MapKeySpec = TypeSpec<'string' | 'int' | 'float'>;

function spec<Kind extends string, V, W = V>(kind: Kind, text: string = kind): TypeSpec<Kind, V, W> {
  return { kind, text };
}

/** Attribute type builders, one per type of docs/architecture.md §2. */
export const t = {
  string: () => spec<'string', string>('string'),
  /** 64-bit; values beyond 2^53 arrive as bigint. */
  int: () => spec<'int', number | bigint>('int'),
  float: () => spec<'float', number>('float'),
  bool: () => spec<'bool', boolean>('bool'),
  /** Base64 text. */
  bytes: () => spec<'bytes', string>('bytes'),
  /** ISO 8601 UTC text on reads; ISO text or epoch milliseconds on writes. */
  timestamp: () => spec<'timestamp', string, string | number>('timestamp'),
  document: <D = unknown>() => spec<'document', D>('document'),
  list: <E, EW>(of: ScalarSpec<E, EW>) => spec<'list', E[], EW[]>('list', `list(${of.text})`),
  set: <E, EW>(of: ScalarSpec<E, EW>) => spec<'set', E[], EW[]>('set', `set(${of.text})`),
  /** Map keys travel as JSON object keys, so they are strings on the wire whatever their type. */
  map: <V, VW>(key: MapKeySpec, value: ScalarSpec<V, VW>) =>
    spec<'map', Record<string, V>, Record<string, VW>>('map', `map(${key.text}, ${value.text})`),
} as const;

export type AttributeSpecs = Readonly<Record<string, TypeSpec>>;
export type KeyKind = 'string' | 'int' | 'float';
/** An int key past 2^53 arrives as a bigint; a float key is always a (finite) number. */
export type KeyValue<K extends KeyKind> = K extends 'int' ? number | bigint : K extends 'float' ? number : string;

export interface SpaceDefinition<
  Name extends string = string,
  KeyName extends string = string,
  Key extends KeyKind = KeyKind,
  Attrs extends AttributeSpecs = AttributeSpecs,
> {
  readonly name: Name;
  readonly key: { readonly name: KeyName; readonly type: Key };
  readonly attributes: Attrs;
  readonly ttlSeconds?: number;
  /** Attributes with a secondary index (checked against Attrs by defineSpace); `db.space()` builds any the server lacks. */
  readonly indexes?: readonly string[];
}

/** The TypeScript type of a space's attributes, as read. */
export type AttributesOf<D extends SpaceDefinition> = { -readonly [A in keyof D['attributes']]: ValueOf<D['attributes'][A]> };
/** What a write may give for a space's attributes. */
export type WritableAttributesOf<D extends SpaceDefinition> = { -readonly [A in keyof D['attributes']]: WriteOf<D['attributes'][A]> };
export type ValueOf<S> = S extends TypeSpec<string, infer V, unknown> ? V : never;
export type WriteOf<S> = S extends TypeSpec<string, unknown, infer W> ? W : never;
export type KeyOf<D extends SpaceDefinition> = KeyValue<D['key']['type']>;

export function defineSpace<
  const Name extends string,
  const KeyName extends string,
  const Attrs extends AttributeSpecs,
  const Key extends KeyKind = 'string',
>(
  name: Name,
  definition: {
    readonly key: KeyName; readonly keyType?: Key; readonly attributes: Attrs; readonly ttlSeconds?: number; readonly indexes?: readonly (keyof Attrs & string)[];
  },
): SpaceDefinition<Name, KeyName, Key, Attrs> {
  return {
    name,
    key: { name: definition.key, type: (definition.keyType ?? 'string') as Key },
    attributes: definition.attributes,
    ...(definition.ttlSeconds === undefined ? {} : { ttlSeconds: definition.ttlSeconds }),
    ...(definition.indexes === undefined ? {} : { indexes: definition.indexes }),
  };
}

/** The JSON form of the schema (what `add_space` takes and `describe_space` returns). */
export function schemaJsonOf(definition: SpaceDefinition): {
  name: string;
  key: { name: string; type: string };
  attributes: { name: string; type: string }[];
  ttl_seconds?: number;
  indexes?: string[];
} {
  return {
    name: definition.name,
    key: { name: definition.key.name, type: definition.key.type },
    attributes: Object.entries(definition.attributes).map(([name, type]) => ({ name, type: type.text })),
    ...(definition.ttlSeconds === undefined ? {} : { ttl_seconds: definition.ttlSeconds }),
    ...(definition.indexes === undefined || definition.indexes.length === 0 ? {} : { indexes: [...definition.indexes] }),
  };
}
