/**
 * Declaring spaces in TypeScript. `defineSpace` captures a space's schema as a value the server
 * can create or check, and as types from which the typed layer (typed-space.ts) infers attribute
 * names and value types.
 *
 * @example
 * const friendlists = defineSpace('friendlists', {
 *   key: 'username',
 *   attributes: { first: t.string(), last: t.string(), friends: t.set(t.string()) },
 * });
 */

/** A declared attribute type; `V` is the TypeScript type of its values. */
export interface TypeSpec<Kind extends string = string, V = unknown> {
  readonly kind: Kind;
  /** The DSL spelling, e.g. `set(string)`, as the server describes it. */
  readonly text: string;
  /** Phantom: carries V for inference; never set. */
  readonly __value?: V;
}

export type ScalarSpec<V = unknown> = TypeSpec<'string' | 'int' | 'float' | 'bool' | 'bytes' | 'timestamp', V>;
export type MapKeySpec<V = unknown> = TypeSpec<'string' | 'int' | 'float', V>;

function spec<Kind extends string, V>(kind: Kind, text: string = kind): TypeSpec<Kind, V> {
  return { kind, text };
}

/** Attribute type builders, one per type of DESIGN.md §2. */
export const t = {
  string: () => spec<'string', string>('string'),
  /** 64-bit; values beyond 2^53 arrive as bigint. */
  int: () => spec<'int', number | bigint>('int'),
  float: () => spec<'float', number>('float'),
  bool: () => spec<'bool', boolean>('bool'),
  /** Base64 text. */
  bytes: () => spec<'bytes', string>('bytes'),
  /** ISO 8601 UTC text on reads; ISO text or epoch milliseconds on writes. */
  timestamp: () => spec<'timestamp', string>('timestamp'),
  document: <D = unknown>() => spec<'document', D>('document'),
  list: <E>(of: ScalarSpec<E>) => spec<'list', E[]>('list', `list(${of.text})`),
  set: <E>(of: ScalarSpec<E>) => spec<'set', E[]>('set', `set(${of.text})`),
  /** Map keys travel as JSON object keys, so they are strings on the wire whatever their type. */
  map: <V>(key: MapKeySpec, value: ScalarSpec<V>) => spec<'map', Record<string, V>>('map', `map(${key.text}, ${value.text})`),
} as const;

export type AttributeSpecs = Readonly<Record<string, TypeSpec>>;
export type KeyKind = 'string' | 'int';
export type KeyValue<K extends KeyKind> = K extends 'int' ? number | bigint : string;

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
}

/** The TypeScript type of a space's attributes. */
export type AttributesOf<D extends SpaceDefinition> = { -readonly [A in keyof D['attributes']]: ValueOf<D['attributes'][A]> };
export type ValueOf<S> = S extends TypeSpec<string, infer V> ? V : never;
export type KeyOf<D extends SpaceDefinition> = KeyValue<D['key']['type']>;

export function defineSpace<
  const Name extends string,
  const KeyName extends string,
  const Attrs extends AttributeSpecs,
  const Key extends KeyKind = 'string',
>(
  name: Name,
  definition: { readonly key: KeyName; readonly keyType?: Key; readonly attributes: Attrs; readonly ttlSeconds?: number },
): SpaceDefinition<Name, KeyName, Key, Attrs> {
  return {
    name,
    key: { name: definition.key, type: (definition.keyType ?? 'string') as Key },
    attributes: definition.attributes,
    ...(definition.ttlSeconds === undefined ? {} : { ttlSeconds: definition.ttlSeconds }),
  };
}

/** The JSON form of the schema (what `add_space` takes and `describe_space` returns). */
export function schemaJsonOf(definition: SpaceDefinition): {
  name: string;
  key: { name: string; type: string };
  attributes: { name: string; type: string }[];
  ttl_seconds?: number;
} {
  return {
    name: definition.name,
    key: { name: definition.key.name, type: definition.key.type },
    attributes: Object.entries(definition.attributes).map(([name, type]) => ({ name, type: type.text })),
    ...(definition.ttlSeconds === undefined ? {} : { ttl_seconds: definition.ttlSeconds }),
  };
}
