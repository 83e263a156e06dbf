/**
 * A benchmark section: one self-contained measurement with its own console lines and its own part
 * of the Markdown report. run.ts keeps the registry (an ordered list of sections); a new benchmark
 * is a module exporting a Section and one line in that list. `--only <ids>` picks sections by id;
 * a section that is not `byDefault` (a long one, such as scaling) runs only when named or enabled
 * by its own flag.
 */
import type { BenchOptions } from './options.js';
import type { MarkdownReport } from './markdown.js';

export interface SectionContext {
  /** This run's temporary directory (removed at exit); each section makes its own subdirectory. */
  readonly root: string;
  readonly options: BenchOptions;
  /** Whatever makes a figure untrustworthy (an error, a wrong result, an unclean shutdown) goes here; any entry fails the run. */
  readonly problems: string[];
  /** The Markdown report: tables, prose and charts. */
  readonly report: MarkdownReport;
}

export interface Section {
  /** Stable id for --only and for the report's anchors, e.g. 'ycsb'. */
  readonly id: string;
  readonly title: string;
  /** Runs when no --only is given; false for sections behind a flag. */
  readonly byDefault: boolean;
  run(context: SectionContext): Promise<void>;
  /**
   * Rough seconds the section will take with the context's options (printed at the start, so a long run
   * with many variants and rounds is no surprise); sections without one are listed as unestimated.
   */
  estimateSeconds?(context: SectionContext): number;
}

/** How many times a step runs per round: once, or once per variant on each side of its pairs. */
export function runsPerRound(variants: number): number {
  return variants === 0 ? 1 : 2 * variants;
}

/** The sections to run, in registry order: those named by --only, else the default ones plus those enabled by flags. */
export function selectSections(registry: readonly Section[], only: ReadonlySet<string> | undefined, enabled: ReadonlySet<string>): Section[] {
  if (only !== undefined) {
    const unknown = [...only].filter((id) => !registry.some((s) => s.id === id));
    if (unknown.length > 0) throw new Error(`--only names no section '${unknown.join("', '")}'; sections: ${registry.map((s) => s.id).join(', ')}`);
    return registry.filter((s) => only.has(s.id));
  }
  return registry.filter((s) => s.byDefault || enabled.has(s.id));
}
