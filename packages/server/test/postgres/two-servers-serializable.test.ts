// Two `spacekv serve` processes on one PostgreSQL schema keep docs/architecture.md §4 when every
// session runs SERIALIZABLE (CockroachDB's default): racing batches fail with 40001 and are retried,
// and the count is reported (two-servers-suite.ts).
import { twoServersSuite } from './two-servers-suite.js';

await twoServersSuite('serializable');
