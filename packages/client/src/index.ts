/**
 * @spacekv/client: the async TypeScript client of spacekv, for Node 20+ and browsers.
 *
 * @example
 * import { connect, defineSpace, t } from '@spacekv/client';
 * const db = await connect('http://127.0.0.1:7640');
 * const friendlists = await db.space(defineSpace('friendlists', {
 *   key: 'username',
 *   attributes: { first: t.string(), last: t.string(), friends: t.set(t.string()) },
 * }));
 * await friendlists.put('jsmith1', { first: 'John', last: 'Smith' });
 */
export { connect, SpacekvClient } from './client.js';
export type {
  ClientOptions, Condition, GroupOutcome, ListOptions, MutateOptions, MutationList, SchemaInput, SearchOptions, SearchPage, SearchPageOptions,
  SearchPlan, SortedSearchOptions, SpaceDescription, TxCheckInput, TxOutcome, WriteOptions,
} from './client.js';
export { Transaction, TypedTransactionSpace, isConflict } from './transaction.js';
export type { TransactionOptions, TxFailure } from './transaction.js';
export type { Completion } from './completions.js';
export type { ConnectionOptions } from './connection.js';
export * from './errors.js';
export { defineSpace, schemaJsonOf, t } from './model.js';
export type { AttributesOf, KeyOf, SpaceDefinition, TypeSpec, ValueOf, WritableAttributesOf, WriteOf } from './model.js';
export type { Deleted, Mutated, PreviousObject, SpaceObject, Written, WrittenWithPrevious } from './results.js';
export { TypedSpace } from './typed-space.js';
export type { PathMutation, PredicateOperators, TypedCondition, TypedMutateOptions, TypedMutation } from './typed-space.js';
export type { DocumentPathsOf, PathValue, PathWrites, PathsOf, ValueAtPath } from './document-paths.js';
export { window } from './window.js';
export type { GetLargeOptions, LargeBody, LargeValueRead, PutLargeOptions } from './large-values.js';
export { Watch } from './watch.js';
export type { ChangeEvent, WatchOptions } from './watch.js';
export type { WindowFailure, WindowOptions, WindowResult } from './window.js';
