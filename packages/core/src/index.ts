/** @spacekv/core: the pure domain of spacekv, shared by the server and the client. No I/O. */
export * from './errors.js';
export * from './limits.js';
export * from './types.js';
export * from './schema.js';
export * from './values.js';
export * from './json.js';
export * from './utf8.js';
export * from './operations.js';
export * from './predicates.js';
export * from './mutations.js';
export * from './dsl.js';
export * from './schema-json.js';
export * from './apply.js';
export * from './fields.js';
export * from './tx.js';
export * from './wire.js';
export * from './protocol.js';
