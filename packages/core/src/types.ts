/**
 * Attribute types of docs/architecture.md §2 and the canonical in-memory form of their values.
 *
 * Canonical values are plain JSON-compatible data so that they can be stored and sent as JSON
 * text without a conversion step, with one exception: an `int` outside JavaScript's safe integer
 * range is a `bigint` (never a rounded number).
 *
 * | type        | canonical value                                                    |
 * |-------------|--------------------------------------------------------------------|
 * | string      | string                                                             |
 * | int         | number (safe integer) or bigint (outside ±2^53, inside int64)      |
 * | float       | finite number                                                      |
 * | bool        | boolean                                                            |
 * | bytes       | string, canonical base64                                           |
 * | timestamp   | string, ISO 8601 UTC with milliseconds (`1970-01-01T00:00:00.000Z`) |
 * | document    | any JSON value (an unset document reads as `{}`, as in HyperDex)   |
 * | list(T)     | array of T                                                         |
 * | set(T)      | array of T, sorted ascending, without duplicates                   |
 * | map(K,V)    | object with canonical keys (K's value written as a string), sorted |
 */
export const SCALAR_TYPE_NAMES = ['string', 'int', 'float', 'bool', 'bytes', 'timestamp'] as const;
export type ScalarTypeName = (typeof SCALAR_TYPE_NAMES)[number];

/** Types allowed as a map key: those whose values have an exact string form. */
export const MAP_KEY_TYPE_NAMES = ['string', 'int', 'float'] as const;
export type MapKeyTypeName = (typeof MAP_KEY_TYPE_NAMES)[number];

/**
 * Types allowed as a space key: HyperDex's hashable types. A timestamp key is held as its canonical
 * text, whose code-point order is time order (fixed width, years 0000-9999). A float key is a
 * finite number (never NaN or ±Infinity; -0 is the key 0), ordered by value.
 */
export const KEY_TYPE_NAMES = ['string', 'int', 'float', 'timestamp'] as const;
export type KeyTypeName = (typeof KEY_TYPE_NAMES)[number];

export type ScalarType = { readonly kind: ScalarTypeName };
export type AttributeType =
  | ScalarType
  | { readonly kind: 'document' }
  | { readonly kind: 'list'; readonly of: ScalarType }
  | { readonly kind: 'set'; readonly of: ScalarType }
  | { readonly kind: 'map'; readonly key: { readonly kind: MapKeyTypeName }; readonly value: ScalarType };

export type Json = null | boolean | number | bigint | string | readonly Json[] | { readonly [k: string]: Json };
export type Value = Json;
/** An object's attributes in canonical form: every declared attribute is present. */
export type Attributes = { readonly [name: string]: Value };
export type Key = string | number | bigint;

export function isScalarTypeName(name: string): name is ScalarTypeName {
  return (SCALAR_TYPE_NAMES as readonly string[]).includes(name);
}

/** The DSL spelling of a type: `set(string)`, `map(string, int)`. */
export function typeToString(type: AttributeType): string {
  switch (type.kind) {
    case 'list':
    case 'set':
      return `${type.kind}(${type.of.kind})`;
    case 'map':
      return `map(${type.key.kind}, ${type.value.kind})`;
    default:
      return type.kind;
  }
}

export function isCollection(type: AttributeType): type is Extract<AttributeType, { of: ScalarType }> {
  return type.kind === 'list' || type.kind === 'set';
}

export function isNumeric(type: AttributeType): boolean {
  return type.kind === 'int' || type.kind === 'float';
}

const EPOCH = '1970-01-01T00:00:00.000Z';

/** The value a missing attribute reads as (HyperDex semantics). */
export function defaultValue(type: AttributeType): Value {
  switch (type.kind) {
    case 'string':
    case 'bytes':
      return '';
    case 'int':
    case 'float':
      return 0;
    case 'bool':
      return false;
    case 'timestamp':
      return EPOCH;
    case 'document':
      return {}; // HyperDex: an empty document is an object
    case 'list':
    case 'set':
      return [];
    case 'map':
      return {};
  }
}
