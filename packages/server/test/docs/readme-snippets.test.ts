// Proves the README's snippets run as pasted, against a real `spacekv serve` on a fresh data
// directory, in README order (later snippets use the spaces earlier ones create, as a reader would):
// - each `sh` block runs in bash (`set -eu`), command by command, with `$B` set as the first block
//   sets it in the reader's terminal; where a command carries a comment,
//   every fragment of it (separated by ` · `) appears in that command's output, so an annotated
//   status, ETag or error code is one the reader actually sees;
// - each `ts` block compiles with strict tsc against the built client and runs to completion.
// The only blocks not run here are the install blocks, each proven elsewhere (listed below).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { repoPath } from './repo.js';

const run = promisify(execFile);
const README_URL = 'http://127.0.0.1:7640';
const STEP_TIMEOUT_MS = 90_000;
/** Install blocks, by their first command, and what runs them for real. */
const INSTALL_BLOCKS: Readonly<Record<string, string>> = {
  'npm ci && npm start': '.ci/run (npm ci, npm test) and test/process/npm-start.test.ts (npm start)',
  'npm ci && npm run pack': 'npm test (test/pack/tarball-install.test.ts)',
};

interface Block {
  readonly lang: 'sh' | 'ts';
  readonly code: string;
  readonly line: number;
}

function readmeBlocks(): Block[] {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const blocks: Block[] = [];
  for (const match of readme.matchAll(/^```(sh|ts)\n([\s\S]*?)^```$/gm)) {
    blocks.push({ lang: match[1] as 'sh' | 'ts', code: match[2]!, line: readme.slice(0, match.index).split('\n').length });
  }
  return blocks;
}

interface Command {
  readonly text: string;
  /** Fragments the output must contain. */
  readonly expects: readonly string[];
}

/** Commands of a shell block: continued lines joined; a trailing `  # a · b` comment is what it prints. */
function commandsOf(code: string): Command[] {
  const joined = code.replace(/\\\n/g, ' ');
  return joined.split('\n').filter((line) => line.trim() !== '').map((line) => {
    const annotated = /^(.*?\S)\s{2,}# (.*)$/.exec(line);
    if (!annotated) return { text: line, expects: [] };
    return { text: annotated[1]!, expects: annotated[2]!.split(' · ').map((fragment) => fragment.trim()) };
  });
}

const isInstallBlock = (block: Block): boolean => block.lang === 'sh' && /^npm /.test(block.code);

let server: ServerProcess;
let work: string;
before(async () => {
  work = makeTempDir('readme');
  server = await spawnServer(['--port', '0', '--data', join(work, 'data')]);
});
after(async () => {
  await killAllChildren();
  removeDir(work);
});

test('the README has runnable sh and ts blocks, and every install block is one proven elsewhere', () => {
  const blocks = readmeBlocks();
  assert.ok(blocks.filter((b) => b.lang === 'sh' && !isInstallBlock(b)).length >= 2, 'the REST examples are found');
  assert.ok(blocks.filter((b) => b.lang === 'ts').length >= 2, 'the TypeScript examples are found');
  for (const block of blocks.filter(isInstallBlock)) {
    const first = block.code.split('\n')[0]!.replace(/\s+#.*$/, '').trim();
    assert.ok(first in INSTALL_BLOCKS, `README line ${block.line}: the block starting '${first}' is run by nothing; make it runnable or prove it`);
  }
});

async function runShell(block: Block): Promise<void> {
  const commands = commandsOf(block.code.replaceAll(README_URL, server.url));
  const END = '@@spacekv-readme-command-end@@';
  const script = ['set -eu', ...commands.map((c) => `${c.text}\nprintf '\\n%s\\n' '${END}'`)].join('\n');
  const { stdout } = await run('bash', ['-c', script], { env: { ...process.env, B: server.url }, timeout: STEP_TIMEOUT_MS }).catch((err: { stdout?: string; stderr?: string }) => {
    assert.fail(`README line ${block.line}: the block failed:\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  });
  const outputs = stdout.split(`\n${END}\n`);
  commands.forEach((command, i) => {
    for (const fragment of command.expects) {
      assert.ok(outputs[i]?.includes(fragment), `README line ${block.line}: \`${command.text.slice(0, 60)}…\` should print ${fragment}; it printed:\n${outputs[i]}`);
    }
  });
}

/** Every ts block as a file inside the repository (so '@spacekv/client' resolves to the built workspace package), compiled in one tsc run. */
async function compileTypeScript(blocks: readonly Block[], dir: string): Promise<Map<Block, string>> {
  mkdirSync(dir, { recursive: true });
  const files = new Map<Block, string>();
  blocks.forEach((block) => {
    const file = join(dir, `readme-line-${block.line}.mts`);
    writeFileSync(file, block.code.replaceAll(README_URL, server.url));
    files.set(block, file);
  });
  const tsc = repoPath('node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '--ignoreConfig', '--strict', '--module', 'nodenext', '--target', 'es2022', '--types', 'node', ...files.values()];
  await run(process.execPath, args, { cwd: dir, timeout: STEP_TIMEOUT_MS })
    .catch((err: { stdout?: string }) => assert.fail(`a TypeScript block of the README does not compile (file names carry its line):\n${err.stdout ?? String(err)}`));
  return files;
}

async function runTypeScript(block: Block, file: string): Promise<void> {
  await run(process.execPath, [file.replace(/\.mts$/, '.mjs')], { timeout: STEP_TIMEOUT_MS })
    .catch((err: { stderr?: string }) => assert.fail(`README line ${block.line}: the TypeScript failed when run:\n${err.stderr ?? String(err)}`));
}

test('every shell and TypeScript snippet of the README runs as pasted, and prints what its comments say', async () => {
  const blocks = readmeBlocks().filter((block) => !isInstallBlock(block));
  const dir = repoPath('.tmp', `readme-${process.pid}`);
  try {
    const compiled = await compileTypeScript(blocks.filter((block) => block.lang === 'ts'), dir);
    for (const block of blocks) {
      if (block.lang === 'sh') await runShell(block);
      else await runTypeScript(block, compiled.get(block)!);
    }
  } finally {
    removeDir(dir);
  }
  assert.ok(blocks.length >= 4, `${blocks.length} blocks ran`);
});
