/**
 * Document paths in the typed layer (docs/hyperdex.md): a `document` attribute declared with a
 * shape, `t.document<{ name: string; visits: number }>()`, gives the paths `info.name` and
 * `info.visits` with their value types, for put, conditions and mutations; a document declared
 * without a shape (`t.document()`) takes any path, its values `unknown`. Types only: the wire is
 * the same as the untyped client's.
 *
 * @example
 * await people.put('ada', { 'info.name': 'Ada' });                 // checked: info.name is a string
 * await people.mutate('ada', [{ add: { 'info.visits': 1 } }]);     // checked: info.visits is a number
 * for await (const p of people.search({ 'info.visits': { gte: 1 } })) console.log(p.key);
 */
import type { AttributesOf, SpaceDefinition, TypeSpec } from './model.js';

/** How deep path types go (the server's own bound, documentPathDepthMax, is larger). */
type Depth = [never, 0, 1, 2, 3, 4];

/** The paths below a shape: `a`, `a.b`, … (not into lists). */
export type PathsOf<T, N extends number = 4> = [N] extends [never] ? never
  : T extends readonly unknown[] ? never
  : T extends object ? { [K in keyof T & string]: K | `${K}.${PathsOf<NonNullable<T[K]>, Depth[N]>}` }[keyof T & string]
  : never;

/** The type at `P` below a shape. */
export type ValueAtPath<T, P extends string> = P extends `${infer H}.${infer R}`
  ? (H extends keyof T ? ValueAtPath<NonNullable<T[H]>, R> : never)
  : (P extends keyof T ? T[P] : never);

type Values<D extends SpaceDefinition> = AttributesOf<D>;
type DocumentNames<D extends SpaceDefinition> = {
  [A in keyof D['attributes']]: D['attributes'][A] extends TypeSpec<'document'> ? A : never;
}[keyof D['attributes']] & string;

/** Every document path of a space: `${attribute}.${path}`; any path below a document without a shape. */
export type DocumentPathsOf<D extends SpaceDefinition> = {
  [A in DocumentNames<D>]: unknown extends Values<D>[A] ? `${A}.${string}` : `${A}.${PathsOf<Values<D>[A]>}`;
}[DocumentNames<D>];

/** The value type at a document path of a space (`unknown` below a document without a shape). */
export type PathValue<D extends SpaceDefinition, P extends string> = P extends `${infer A}.${infer R}`
  ? (A extends keyof Values<D> ? (unknown extends Values<D>[A] ? unknown : ValueAtPath<Values<D>[A], R>) : never)
  : never;

/** Paths whose declared type is among `V` (`unknown` paths always qualify). */
export type PathsOfType<D extends SpaceDefinition, V> = {
  [P in DocumentPathsOf<D>]: unknown extends PathValue<D, P> ? P : PathValue<D, P> extends V ? P : never;
}[DocumentPathsOf<D>];

/** Values to put at document paths. */
export type PathWrites<D extends SpaceDefinition> = { readonly [P in DocumentPathsOf<D>]?: PathValue<D, P> };
