// Two `spacekv serve` processes on one PostgreSQL schema keep docs/architecture.md §4 under the
// sessions' default isolation (two-servers-suite.ts).
import { twoServersSuite } from './two-servers-suite.js';

await twoServersSuite();
