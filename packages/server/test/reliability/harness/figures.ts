/**
 * The counts a run reaches (histories checked, faults injected, requests fuzzed), appended as one
 * JSON line per test to the file named by SPACEKV_FIGURES, which `npm run test:jepsen` sets and
 * sums up at the end (scripts/jepsen.js). Without the variable the counts only go to diagnostics.
 */
import { appendFileSync } from 'node:fs';

export function recordFigures(test: string, counts: Readonly<Record<string, number>>): void {
  const file = process.env.SPACEKV_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify({ test, ...counts })}\n`);
}
