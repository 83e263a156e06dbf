// Proves the PostgreSQL store keeps every contract of the conformance suite (suite.ts), with no
// skips, under the sessions' default isolation (postgres-conformance.ts).
import { postgresConformance } from './postgres-conformance.js';

await postgresConformance();
