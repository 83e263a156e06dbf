// Proves the embedded SQLite store keeps every contract of the conformance suite (suite.ts).
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { conformanceSuite } from './suite.js';

conformanceSuite('sqlite', (dir, limits) => new SqliteStore(dir, limits));
