/**
 * `npm run bench`: spacekv beside its peers in one run on one machine (STYLE.md §14). The run is a
 * list of sections (SECTIONS below), each a module with its own console lines and its own part of
 * the Markdown report; `--only <ids>` picks some, `--report <path|auto>` writes the report with its
 * charts. A new benchmark is one module exporting a Section and one line in SECTIONS.
 *
 * The run prints figures and verdicts and exits 0 even when a target is missed (it is a report); it
 * exits non-zero only when something broke (an error, a wrong result, an unclean shutdown).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllChildren } from './lib/child-server.js';
import { catalogSection } from './lib/catalog.js';
import { clientVsRedisSection } from './lib/client-vs-redis.js';
import { codecSection } from './lib/codec.js';
import { eventsSection } from './lib/events.js';
import { httpSection } from './lib/http-section.js';
import { MarkdownReport } from './lib/markdown.js';
import { opsSection } from './lib/ops.js';
import { postgresSection } from './lib/postgres-section.js';
import { USAGE, parseOptions, reportPathOf } from './lib/options.js';
import { killRedisChildren } from './lib/redis-peer.js';
import { searchPostgresSection, searchSection } from './lib/search.js';
import { out, printLoad, printMachine, printedCount, printedSince, reportHeader } from './lib/report.js';
import { type Section, type SectionContext, selectSections } from './lib/section.js';
import { scalingSection, ycsbSection } from './lib/ycsb/sections.js';

/** Every section, in the order they run. */
const SECTIONS: readonly Section[] = [
  httpSection,
  clientVsRedisSection,
  codecSection,
  searchSection,
  searchPostgresSection,
  eventsSection,
  postgresSection,
  opsSection,
  catalogSection,
  ycsbSection,
  scalingSection,
];

const options = parseOptions(process.argv.slice(2), process.env);
if (options.help) {
  console.log(`${USAGE}\n\nsections (--only):\n${SECTIONS.map((s) => `  ${s.id.padEnd(22)} ${s.title}${s.byDefault ? '' : ' (not by default)'}`).join('\n')}`);
  process.exit(0);
}
const root = mkdtempSync(join(tmpdir(), 'spacekv-bench-'));

// Whatever ends the run, no server outlives it and no data is left behind.
function cleanUp(): void {
  killAllChildren();
  killRedisChildren();
  rmSync(root, { recursive: true, force: true });
}
process.on('exit', cleanUp);
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

async function main(): Promise<number> {
  const sections = selectSections(SECTIONS, options.only, options.enabled);
  const report = new MarkdownReport(reportPathOf(options.reportPath));
  /** Things that make a figure untrustworthy (errors, wrong results, an unclean shutdown); any one fails the run. */
  const problems: string[] = [];
  out(`spacekv bench${options.tiny ? ' (tiny)' : ''}: sections ${sections.map((s) => s.id).join(', ')}`);
  printMachine(tmpdir());
  printEstimate(sections, { root, options, problems, report });
  const startedAt = new Date();
  for (const section of sections) {
    out();
    const firstLine = printedCount();
    const before = report.length;
    await section.run({ root, options, problems, report });
    // A section that only prints gets its console lines in the report, under its title; so does one
    // that adds only tables without a heading (its variants' pairs), before them.
    if (!report.headedFrom(before)) report.insert(before, `## ${section.title}\n\n\`\`\`text\n${printedSince(firstLine).join('\n').trim()}\n\`\`\``);
  }
  out();
  printLoad('after');
  if (problems.length > 0) {
    out();
    out('BROKEN: these figures cannot be trusted:');
    for (const problem of problems) out(`  - ${problem}`);
    report.add(`## BROKEN\n\nThese figures cannot be trusted:\n\n${problems.map((p) => `- ${p.split('\n')[0]}`).join('\n')}`);
  }
  report.prepend(reportHeader(startedAt, new Date(), process.argv.slice(2), options.tiny, options.note));
  for (const file of await report.write()) out(`report: ${file}`);
  return problems.length === 0 ? 0 : 1;
}

/** The run's rough duration, from the sections that can estimate theirs, so a long run of variants and rounds is no surprise. */
function printEstimate(sections: readonly Section[], context: SectionContext): void {
  const estimated = sections.filter((s) => s.estimateSeconds !== undefined);
  const seconds = estimated.reduce((sum, s) => sum + (s.estimateSeconds?.(context) ?? 0), 0);
  const others = sections.filter((s) => s.estimateSeconds === undefined).map((s) => s.id);
  const minutes = seconds < 90 ? `${Math.ceil(seconds)} s` : `${Math.ceil(seconds / 60)} min`;
  out(`estimate: about ${minutes}${estimated.length === 0 ? '' : ` for ${estimated.map((s) => s.id).join(', ')}`}${others.length === 0 ? '' : ` (not estimated: ${others.join(', ')})`}`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench failed:', err);
    process.exit(1);
  },
);
