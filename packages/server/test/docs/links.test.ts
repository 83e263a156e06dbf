// Proves the documentation stands alone: every relative link in README.md, docs/*.md and the other
// READMEs resolves to a file or folder in the repository, and a link with an anchor to a heading of
// that file (GitHub's heading slugs); and no user-facing text (docs, READMEs, published sources,
// --help) sends the reader outside the repository, to a DESIGN.md or ../shared they do not have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT, repoPath } from './repo.js';

const DOC_FILES = [
  'README.md', 'examples/README.md', 'bench/README.md',
  ...readdirSync(repoPath('docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`),
];

/** Markdown outside fenced code blocks and inline code spans, where links are links. */
function proseOf(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, 'code');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  const anchors = new Set<string>();
  for (const match of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = headingSlug(match[1]!);
    let slug = base;
    for (let n = 1; anchors.has(slug); n++) slug = `${base}-${n}`;
    anchors.add(slug);
  }
  return anchors;
}

function relativeLinks(markdown: string): string[] {
  const prose = proseOf(markdown.replace(/\[`([^`\]]*)`\]/g, '[$1]'));
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

test('the heading slugs follow GitHub: numbers kept, dots and parentheses dropped', () => {
  assert.equal(headingSlug('4.3 Per-key order'), '43-per-key-order');
  assert.equal(headingSlug('3. Operations (the command model)'), '3-operations-the-command-model');
});

test('every relative link in the README and docs resolves inside the repository, with its anchor', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const doc of DOC_FILES) {
    const from = repoPath(doc);
    for (const link of relativeLinks(readFileSync(from, 'utf8'))) {
      checked++;
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? from : join(dirname(from), decodeURIComponent(path));
      if (relative(REPO_ROOT, target).startsWith('..')) broken.push(`${doc}: ${link} leaves the repository`);
      else if (!existsSync(target)) broken.push(`${doc}: ${link} names no file`);
      else if (anchor !== undefined && (statSync(target).isDirectory() || !anchorsOf(target).has(anchor))) {
        broken.push(`${doc}: ${link} names no heading of ${relative(REPO_ROOT, target)}`);
      }
    }
  }
  assert.ok(checked >= 20, `only ${checked} links found: the link pattern no longer matches the docs`);
  assert.deepEqual(broken, []);
});

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : filesUnder(path, suffix);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

test('no README, doc or published source refers the reader to DESIGN.md or ../shared', () => {
  const userFacing = [
    ...DOC_FILES.map((doc) => repoPath(doc)),
    ...['core', 'server', 'client'].flatMap((pkg) => filesUnder(repoPath('packages', pkg, 'src'), '.ts')),
  ];
  const outside = userFacing.filter((file) => /DESIGN\.md|\.\.\/shared/.test(readFileSync(file, 'utf8')));
  assert.deepEqual(outside.map((file) => relative(REPO_ROOT, file)), []);
});
