/** spacekv server, for embedding in a Node process (tests, custom launchers). */
export { startServer, openStore, type RunningServer } from './server.js';
export { DEFAULT_CONFIG, type ServerConfig } from './config.js';
export { Engine, type CommitListener } from './engine/engine.js';
export { Session } from './engine/session.js';
export type { Store, StoredSpace, BatchMember, MemberOutcome } from './store/store.js';
export { SqliteStore } from './store/sqlite/sqlite-store.js';
