/**
 * Real server processes: `node dist/src/cli/main.js serve ...`, with the URL read from the JSON log
 * line `spacekv serving`. Every child is tracked so that a test's `after` can kill what is left,
 * by its own handle; every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './timeout.js';

/** The compiled CLI, next to this compiled helper: dist/test/helpers → dist/src/cli/main.js. */
export const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const START_TIMEOUT_MS = 20_000;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** Everything it wrote so far, stdout then stderr, for failure messages. */
  output(): string;
  /** The parsed JSON log lines so far. */
  logLines(): readonly LogLine[];
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL unless it has exited already, and wait for the exit. */
  kill(): Promise<Exit>;
}

export interface LogLine {
  readonly msg?: string;
  readonly url?: string;
  readonly dataDir?: string;
  readonly level?: number;
  readonly [field: string]: unknown;
}

const live = new Set<ChildProcess>();

/** Environment for a child: ours without any SPACEKV_* variable, plus `extra`. */
export function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('SPACEKV_')) env[name] = value;
  return { ...env, ...extra };
}

function track(child: ChildProcess): Promise<Exit> {
  live.add(child);
  return new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
}

function parseLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}

/**
 * Start `spacekv serve` with `args` (e.g. ['--port', '0', '--data', dir]) and wait until it serves.
 * `script` replaces the CLI with another entry that logs `spacekv serving` the same way (the
 * reliability harness's server over a deliberately broken store); `args` then go to it alone.
 */
export async function spawnServer(
  args: readonly string[], env: NodeJS.ProcessEnv = childEnv(), script?: string, launcher: readonly string[] = [],
): Promise<ServerProcess> {
  // `launcher` runs node under another command that execs it (e.g. unshare, to give it a small file system).
  return spawnServing([...launcher, process.execPath, ...(script === undefined ? [MAIN_JS, 'serve'] : [script]), ...args], env);
}

/**
 * Start any command that serves as `spacekv serve` does (e.g. `npx spacekv serve` in an installed
 * project, `cwd`; `npm start`, which builds first), and wait until it logs `spacekv serving`.
 */
export async function spawnServing(argv: readonly string[], env: NodeJS.ProcessEnv, cwd?: string, startTimeoutMs = START_TIMEOUT_MS): Promise<ServerProcess> {
  const child = spawn(argv[0]!, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = track(child);
  let stdout = '';
  let stderr = '';
  let pending = '';
  const lines: LogLine[] = [];
  const serving = new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const parsed = parseLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
        if (!parsed) continue;
        lines.push(parsed);
        if (parsed.msg === 'spacekv serving' && typeof parsed.url === 'string') resolve(parsed.url);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    void exited.then((exit) => reject(new Error(`the server exited before serving (${JSON.stringify(exit)}):`)));
  });
  const kill = async (): Promise<Exit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return withTimeout(exited, 10_000, `process ${child.pid} to die`);
  };
  let url: string;
  try {
    url = await withTimeout(serving, startTimeoutMs, `'spacekv serving' from ${argv.join(' ')}`);
  } catch (err) {
    await kill();
    // What it wrote says why it did not serve (e.g. a store it could not open).
    throw new Error(`${(err as Error).message}\n${stdout}${stderr}`);
  }
  return {
    url,
    pid: child.pid ?? -1,
    exited,
    output: () => `${stdout}${stderr}`,
    logLines: () => lines,
    signal: (signal) => {
      child.kill(signal);
    },
    kill,
  };
}

export interface CliRun extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the CLI to completion (e.g. `serve --help`), killing it if it outlives `timeoutMs`. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = childEnv(), timeoutMs = 15_000): Promise<CliRun> {
  return runNode([MAIN_JS, ...args], `spacekv ${args.join(' ')}`, env, timeoutMs);
}

/** Run `node <argv>` to completion with its output collected, killing it if it outlives `timeoutMs`. */
export async function runNode(argv: readonly string[], name: string, env: NodeJS.ProcessEnv = childEnv(), timeoutMs = 15_000): Promise<CliRun> {
  const child = spawn(process.execPath, [...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = track(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  try {
    const exit = await withTimeout(exited, timeoutMs, `${name} to exit`);
    return { ...exit, stdout, stderr };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** Whether a process is still running (e.g. a server whose launcher, npm or npx, has exited). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The server's own pid from its `spacekv serving` log line: under npm or npx it is not the child's. */
export function servingPid(launcher: ServerProcess): number {
  const pid = launcher.logLines().find((line) => line.msg === 'spacekv serving')?.['pid'];
  if (typeof pid !== 'number') throw new Error(`the serving log line carries no pid:\n${launcher.output()}`);
  return pid;
}

/** SIGKILL every child these helpers started that is still running (for `after` hooks). */
export async function killAllChildren(): Promise<void> {
  const waits = [...live].map((child) => {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    return withTimeout(gone, 10_000, `process ${child.pid} to die`).catch(() => undefined);
  });
  await Promise.all(waits);
}
