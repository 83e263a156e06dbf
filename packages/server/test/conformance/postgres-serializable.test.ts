// Proves the PostgreSQL store keeps every contract of the conformance suite (suite.ts) when every
// session runs SERIALIZABLE (CockroachDB's default): its correctness does not rest on READ
// COMMITTED, and what fails with 40001 is retried (the count is reported; postgres-conformance.ts).
import { postgresConformance } from './postgres-conformance.js';

await postgresConformance('serializable');
