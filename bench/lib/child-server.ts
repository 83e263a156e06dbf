/**
 * Servers under test run in child processes, so the load generator never shares their event loop
 * or CPU accounting. A child announces itself with a JSON line carrying `url` on stdout (pino's
 * format, which the bare server imitates). Every child is tracked so it is killed whatever happens
 * to the benchmark: an error, a signal, or a plain exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ChildServer {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Milliseconds from spawn to the ready line. */
  readonly startupMs: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves with how the child ended. */
  stop(): Promise<ChildExit>;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The child's last stderr lines, to explain an unclean exit. */
  readonly stderrTail: string;
}

export interface SpawnSpec {
  readonly name: string;
  /** The program; node (this one) unless given. */
  readonly command?: string;
  readonly args: readonly string[];
  /** Which stream carries the ready line (etcd logs on stderr); stdout unless given. */
  readonly readyOn?: 'stdout' | 'stderr';
  /** Returns the URL when a parsed stdout line is the ready line. */
  readonly readyUrl: (line: Readonly<Record<string, unknown>>) => string | undefined;
  readonly startupTimeoutMs?: number;
  /** Environment variables besides this process's own. */
  readonly env?: Readonly<Record<string, string>>;
}

const STOP_GRACE_MS = 10_000;
const TAIL_LINES = 20;
const live = new Set<ChildProcess>();

/** Kill every child still running; synchronous so it can run in an 'exit' handler. */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export function startChild(spec: SpawnSpec): Promise<ChildServer> {
  const started = performance.now();
  const child = spawn(spec.command ?? process.execPath, [...spec.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...spec.env } });
  live.add(child);
  const stderrTail: string[] = [];
  const exited = new Promise<ChildExit>((resolve) => {
    // 'close', not 'exit': it comes once stderr is read to its end, so the tail is complete.
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, stderrTail: stderrTail.join('\n') });
    });
  });
  // Both pipes are read to the end: pino writes synchronously, so a full pipe would stall the server.
  const errors = createInterface({ input: child.stderr });
  errors.on('line', (line) => keepTail(stderrTail, line));
  const lines = spec.readyOn === 'stderr' ? errors : createInterface({ input: child.stdout });
  if (spec.readyOn === 'stderr') child.stdout.resume();

  return new Promise<ChildServer>((resolve, reject) => {
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${spec.name} printed no ready line within ${spec.startupTimeoutMs ?? 15_000} ms\n${stderrTail.join('\n')}`));
    }, spec.startupTimeoutMs ?? 15_000);
    let ready = false;
    lines.on('line', (line) => {
      if (ready) return;
      const url = spec.readyUrl(parseLine(line));
      if (url === undefined) return;
      ready = true;
      clearTimeout(timeout);
      // A child that printed a line was spawned, so it has a pid.
      resolve({ name: spec.name, url, pid: child.pid as number, startupMs: performance.now() - started, stop: () => stop(child, exited) });
    });
    void exited.then((exit) => {
      if (ready) return;
      clearTimeout(timeout);
      reject(new Error(`${spec.name} exited before it was ready (code ${exit.code}, signal ${exit.signal})\n${exit.stderrTail}`));
    });
    child.once('error', (err) => {
      clearTimeout(timeout);
      reject(err);
    });
  });
}

async function stop(child: ChildProcess, exited: Promise<ChildExit>): Promise<ChildExit> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    return await exited;
  } finally {
    clearTimeout(grace);
  }
}

function parseLine(line: string): Readonly<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {}; // not every line a child prints is JSON; only the ready line matters
  }
}

function keepTail(tail: string[], line: string): void {
  tail.push(line);
  if (tail.length > TAIL_LINES) tail.shift();
}

/** The ceiling: a bare node:http server answering a fixed body (bare-server.ts). */
export function startBareServer(): Promise<ChildServer> {
  return startChild({
    name: 'bare node:http server',
    args: [fileURLToPath(new URL('./bare-server.js', import.meta.url))],
    readyUrl: (line) => (line.msg === 'bare serving' && typeof line.url === 'string' ? line.url : undefined),
  });
}

/** How a spacekv server is started: which build's CLI, and what goes before and after `serve`. */
export interface SpacekvLaunch {
  /** Arguments to node before the script (e.g. `--cpu-prof` to profile the server under load). */
  readonly nodeArgs?: readonly string[];
  /** Arguments after `serve` (e.g. `--store <url>`). */
  readonly serveArgs?: readonly string[];
  /** Environment variables besides this process's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** The CLI script (`.../packages/server/dist/src/cli/main.js`); this checkout's unless given. */
  readonly cli?: string;
}

/** This checkout's CLI: it sits beside the package entry point, so resolving through the package keeps this independent of the layout. */
export function thisBuildCli(): string {
  return fileURLToPath(new URL('./cli/main.js', import.meta.resolve('spacekv')));
}

/** `spacekv serve` on a fresh port over `dataDir`, exactly as an operator would start it. */
export function startSpacekvServer(dataDir: string, launch: SpacekvLaunch = {}): Promise<ChildServer> {
  return startChild({
    name: 'spacekv server',
    args: [...(launch.nodeArgs ?? []), launch.cli ?? thisBuildCli(), 'serve', '--port', '0', '--data', dataDir, '--log-level', 'info', ...(launch.serveArgs ?? [])],
    readyUrl: (line) => (line.msg === 'spacekv serving' && typeof line.url === 'string' ? line.url : undefined),
    env: launch.env ?? {},
  });
}
