/**
 * The system under test for the process runs: one server process on a data directory, reached
 * through a FaultProxy, with the faults of a Jepsen nemesis: kill -9 and restart on the same data,
 * pause (SIGSTOP, then SIGCONT), and cutting every client connection.
 */
import { type ServerProcess, spawnServer, childEnv } from '../../helpers/process.js';
import { withTimeout, sleep } from '../../helpers/timeout.js';
import { FaultProxy } from './proxy.js';

export interface FaultCounts {
  kills: number;
  pauses: number;
  drops: number;
}

export class ServerUnderTest {
  readonly faults: FaultCounts = { kills: 0, pauses: 0, drops: 0 };

  private constructor(
    private server: ServerProcess,
    private readonly proxy: FaultProxy,
    private readonly start: () => Promise<ServerProcess>,
  ) {}

  /**
   * Start `spacekv serve` on `dataDir` (or `script`, a test entry taking `--data`), behind a proxy.
   */
  static async launch(dataDir: string, script?: string, extraArgs: readonly string[] = []): Promise<ServerUnderTest> {
    const start = (): Promise<ServerProcess> =>
      supervised(() => spawnServer(['--port', '0', '--data', dataDir, '--log-level', 'info', ...extraArgs], childEnv(), script));
    const server = await start();
    const proxy = await FaultProxy.start(portOf(server.url));
    return new ServerUnderTest(server, proxy, start);
  }

  /** The URL clients use: the proxy's. */
  get url(): string {
    return this.proxy.url;
  }

  /**
   * kill -9, then restart on the same data directory and point the proxy at it; `whileDown` runs
   * between the two (e.g. to check the files the dead process left).
   */
  async crash(whileDown?: () => void | Promise<void>): Promise<void> {
    this.server.signal('SIGKILL');
    const exit = await withTimeout(this.server.exited, 10_000, 'the killed server to exit');
    if (exit.signal !== 'SIGKILL') throw new Error(`the server died of ${JSON.stringify(exit)}, not of the SIGKILL:\n${this.server.output()}`);
    // The kernel resets the sockets of a dead process; while it is down, connections are refused.
    await this.proxy.suspend();
    this.faults.kills++;
    await whileDown?.();
    this.server = await this.start();
    this.proxy.retarget(portOf(this.server.url));
    await this.proxy.resume();
  }

  /** SIGSTOP for `ms`, then SIGCONT: requests wait, nothing is lost. */
  async pause(ms: number): Promise<void> {
    this.server.signal('SIGSTOP');
    try {
      await sleep(ms);
    } finally {
      this.server.signal('SIGCONT');
    }
    this.faults.pauses++;
  }

  dropConnections(): void {
    this.proxy.dropAll();
    this.faults.drops++;
  }

  /** Whether the server process is still the one we started (no unplanned exit). */
  async alive(): Promise<boolean> {
    const exited = await Promise.race([this.server.exited.then(() => true), sleep(0).then(() => false)]);
    return !exited;
  }

  output(): string {
    return this.server.output();
  }

  async stop(): Promise<void> {
    await this.proxy.close();
    await this.server.kill();
  }
}

/** How long a restart may keep failing because its PostgreSQL store cannot be opened yet. */
const STORE_OPEN_RETRY_MS = 60_000;

/**
 * A server whose PostgreSQL store cannot be opened (a failover in progress: no primary yet) exits
 * at once with a message saying so (docs/postgres.md); like the supervisor a deployment runs it
 * under, start it again until it serves. Any other failure to start is the test's failure.
 */
async function supervised(start: () => Promise<ServerProcess>): Promise<ServerProcess> {
  const deadline = performance.now() + STORE_OPEN_RETRY_MS;
  for (;;) {
    try {
      return await start();
    } catch (err) {
      if (!/cannot open the PostgreSQL store/.test((err as Error).message) || performance.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}
