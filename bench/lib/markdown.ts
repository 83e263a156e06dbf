/**
 * The Markdown report (`--report <path>`): the machine and versions first, then each section's
 * tables and prose, charts as SVG files beside the report (vega-lite specs compiled and rendered by
 * vega's headless SVG renderer, no canvas), and last the console output of the sections that
 * print rather than tabulate.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vega from 'vega';
import { type TopLevelSpec, compile } from 'vega-lite';

export class MarkdownReport {
  private readonly parts: string[] = [];
  private readonly charts: { readonly file: string; readonly spec: TopLevelSpec }[] = [];
  private readonly chartPrefix: string;

  constructor(private readonly path: string | undefined) {
    this.chartPrefix = path === undefined ? 'chart' : basename(path).replace(/\.md$/, '');
  }

  /** Append Markdown (a paragraph, a table, a heading). */
  add(markdown: string): void {
    this.parts.push(markdown.trimEnd());
  }

  /** Put Markdown before everything added so far (the head, written once the run is over). */
  prepend(markdown: string): void {
    this.parts.unshift(markdown.trimEnd());
  }

  /** Put Markdown before the part at `index` (a section's heading before what it added). */
  insert(index: number, markdown: string): void {
    this.parts.splice(index, 0, markdown.trimEnd());
  }

  /** Parts added so far: a section that adds none is one that only prints. */
  get length(): number {
    return this.parts.length;
  }

  /** Whether the parts from `index` on open with a heading of their own (`## ...`). */
  headedFrom(index: number): boolean {
    return this.parts[index]?.startsWith('## ') === true;
  }

  /** A chart: rendered to `<report>-<name>.svg` beside the report, linked here. */
  chart(name: string, title: string, spec: TopLevelSpec): void {
    const file = `${this.chartPrefix}-${name}.svg`;
    this.charts.push({ file, spec });
    this.add(`![${title}](./${file})`);
  }

  /** Write the report and render its charts; nothing when no path was given. Returns the files written. */
  async write(): Promise<string[]> {
    if (this.path === undefined) return [];
    const written: string[] = [];
    mkdirSync(dirname(this.path), { recursive: true });
    for (const { file, spec } of this.charts) {
      const svg = await renderSvg(spec);
      const target = join(dirname(this.path), file);
      writeFileSync(target, svg);
      written.push(target);
    }
    writeFileSync(this.path, `${this.parts.join('\n\n')}\n`);
    written.push(this.path);
    return written;
  }
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A Markdown table: the first `textColumns` columns left-aligned, the figures after them right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], textColumns = 1): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const rule = `|${header.map((_, i) => (i < textColumns ? ' --- ' : ' ---: ')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
