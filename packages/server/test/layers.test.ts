// Proves the layers of docs/architecture.md §1 point one way: core imports nothing of ours; a store never
// imports the engine or a front; the engine never imports a front; the client never imports the
// server, nor a Node built-in outside the modules its package.json maps away for browsers. A
// violation fails here, naming the file and the import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
}

/**
 * Client modules that only Node runs (the client's own `ca` through node:https): package.json's
 * "browser" field maps them away, so a browser bundle has none of them (browser.test.ts proves it).
 */
const BROWSER_EXCLUDED = new Set(Object.entries((JSON.parse(readFileSync(join(root, 'packages/client/package.json'), 'utf8')) as { browser?: Record<string, unknown> }).browser ?? {})
  .filter(([path, target]) => path.startsWith('./dist/src/') && target === false)
  .map(([path]) => `packages/client/src/${path.slice('./dist/src/'.length).replace(/\.js$/, '.ts')}`));

interface Rule {
  readonly dir: string;
  readonly forbidden: (specifier: string, file: string) => boolean;
  readonly why: string;
}

const rules: Rule[] = [
  { dir: 'packages/core/src', forbidden: (s) => s.startsWith('@spacekv/') || s === 'spacekv' || s.startsWith('node:'), why: 'core is pure: no I/O, nothing of ours' },
  { dir: 'packages/server/src/store', forbidden: (s) => /\/(engine|front)\//.test(s) || s.startsWith('../../engine') || s.startsWith('../../front'), why: 'a store never imports the engine or a front' },
  { dir: 'packages/server/src/engine', forbidden: (s) => s.includes('/front/'), why: 'the engine never imports a front' },
  {
    dir: 'packages/client/src',
    forbidden: (s, file) => s === 'spacekv' || s.includes('packages/server') || (s.startsWith('node:') && !BROWSER_EXCLUDED.has(relative(root, file))),
    why: 'the client is pure TypeScript and never imports the server',
  },
];

for (const rule of rules) {
  test(`layer rule: ${rule.why}`, () => {
    let files: string[];
    try {
      files = sources(join(root, rule.dir));
    } catch {
      files = [];
    }
    const violations = files.flatMap((file) => imports(file).filter((s) => rule.forbidden(s, file)).map((s) => `${relative(root, file)} imports ${s}`));
    assert.deepEqual(violations, []);
  });
}
