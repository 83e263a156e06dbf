#!/usr/bin/env node
// Packs the four published packages into installable tarballs, the way a user outside this
// repository installs spacekv: `npm install ./packs/*.tgz`. Run after `npm run build` (npm run pack
// does both). Prints the tarball paths, one a line. `--out <dir>` chooses the folder (default ./packs).
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { execFileSync } from 'node:child_process';

const PACKAGES = ['packages/core', 'packages/client', 'packages/console', 'packages/server'];

const outFlag = process.argv.indexOf('--out');
const out = resolve(outFlag >= 0 ? process.argv[outFlag + 1] ?? 'packs' : 'packs');
mkdirSync(out, { recursive: true });
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const args = ['pack', '--json', '--pack-destination', out, ...PACKAGES.flatMap((dir) => ['--workspace', dir])];
const packed = JSON.parse(execFileSync(npm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
for (const { filename } of packed) console.log(resolve(out, filename));
