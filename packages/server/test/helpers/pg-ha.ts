/**
 * A real high-availability PostgreSQL on loopback, for the failover tests: a private etcd (Patroni's
 * store of who leads) and two PostgreSQL 15 nodes run by Patroni with `synchronous_mode` on, so
 * while both run a commit is acknowledged only once the synchronous standby has flushed it, and
 * only a synchronous standby may be promoted. Everything is private: a temp directory, ports
 * the kernel picks, its own scope in etcd; the machine's own PostgreSQL is never touched.
 *
 * PostgreSQL refuses to run as root, so under root Patroni runs as the `postgres` user (setpriv,
 * which execs: the pid we hold is Patroni's own) in directories it owns. Clients find the primary
 * with a multi-host URL and `target_session_attrs=read-write` (`url`), as docs/postgres.md says.
 *
 * `primary_start_timeout: 0` makes Patroni fail over at once when the primary's PostgreSQL dies,
 * rather than restart it in place; `loop_wait: 1` makes it notice within a second. The killed node
 * comes back as a standby by itself (pg_rewind, or a fresh copy when rewinding fails).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { POSTGRES_CWD, postgresOwner, postgresUserMissing } from './private-postgres.js';
import { makeTempDir } from './temp.js';
import { sleep, withTimeout } from './timeout.js';

const PATRONI = process.env['SPACEKV_TEST_PATRONI'] ?? '/usr/bin/patroni';
const ETCD = process.env['SPACEKV_TEST_ETCD'] ?? '/usr/bin/etcd';
const PG_BIN = process.env['SPACEKV_TEST_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';
/** How long a cluster may take to elect a leader and have a streaming synchronous standby. */
const HEALTHY_TIMEOUT_MS = 90_000;
/**
 * Patroni's once-a-loop status lines. Left in, a slow bootstrap's failure message shows only
 * "bootstrap in progress" fifteen times; taken out, it shows initdb's, PostgreSQL's and Patroni's own lines.
 */
const LOOP_CHATTER = /no action\. I am|bootstrap (from leader '[^']*' )?in progress|Lock owner: |not healthy enough for leader race|waiting for leader to bootstrap/;

/** Why an HA cluster cannot be made here, or undefined when it can. */
export function pgHaMissing(): string | undefined {
  for (const [what, path] of [['patroni', PATRONI], ['etcd', ETCD], ['PostgreSQL (initdb)', join(PG_BIN, 'initdb')]] as const) {
    if (!existsSync(path)) return `no ${what} at ${path}: the PostgreSQL failover tests need patroni, etcd-server and PostgreSQL 15 (.ci/run installs them)`;
  }
  return postgresUserMissing();
}

/** One member as Patroni's REST API lists it. */
export interface HaMember {
  readonly name: string;
  readonly role: string;
  readonly state: string;
  readonly port: number;
}

interface Node {
  readonly name: string;
  readonly pgPort: number;
  readonly restPort: number;
  readonly dataDir: string;
  patroni: ChildProcess;
}

export class PgHaCluster {
  /** Failovers caused so far by `killPrimary`. */
  failovers = 0;

  private constructor(
    private readonly dir: string,
    private readonly etcd: ChildProcess,
    private readonly nodes: readonly Node[],
  ) {}

  /** The nodes' PostgreSQL ports (e.g. for proxies in front of them). */
  get ports(): readonly number[] {
    return this.nodes.map((n) => n.pgPort);
  }

  /** The store URL of `schema` on this cluster, reaching whichever node is the primary. */
  storeUrl(schema: string): string {
    return haStoreUrl(this.ports, schema);
  }

  /**
   * A new cluster, set up once more (new directory, new ports) if the first never became healthy:
   * twice on a loaded suite a Patroni found its REST port taken as it started ("Address already in
   * use"), which says nothing about spacekv. The first attempt's failure is written out, and a
   * second failure fails the test.
   */
  static async create(): Promise<PgHaCluster> {
    try {
      return await PgHaCluster.createOnce();
    } catch (err) {
      console.error(`# the HA cluster did not come up; setting it up once more. The first attempt:\n${(err as Error).message}`);
      return PgHaCluster.createOnce();
    }
  }

  private static async createOnce(): Promise<PgHaCluster> {
    const dir = makeTempDir('pg-ha');
    const owner = postgresOwner();
    chmodSync(dir, 0o755);
    const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
    mkdirSync(join(dir, 'etcd'), { mode: 0o700 });
    const etcdLog = openSync(join(dir, 'etcd.log'), 'a');
    const etcd = spawn(ETCD, [
      '--name', 'spacekv-test', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `spacekv-test=http://127.0.0.1:${etcdPeer}`,
    ], { stdio: ['ignore', 'ignore', etcdLog] });
    closeSync(etcdLog); // etcd holds its own copy
    const nodes: Node[] = [];
    for (const name of ['pg1', 'pg2']) {
      const nodeDir = join(dir, name);
      mkdirSync(nodeDir, { mode: 0o700 });
      if (owner) chownSync(nodeDir, owner.uid, owner.gid);
      const node = { name, pgPort: await freePort(), restPort: await freePort(), dataDir: join(nodeDir, 'data') };
      const config = join(dir, `${name}.yml`);
      writeFileSync(config, patroniConfig({ ...node, nodeDir, etcdClient, scope: `spacekv-${process.pid}-${dir.slice(-6)}` }));
      nodes.push({ ...node, patroni: spawnPatroni(config, join(nodeDir, 'patroni.log')) });
    }
    const cluster = new PgHaCluster(dir, etcd, nodes);
    try {
      await cluster.waitHealthy();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /** The members and their roles, from the first Patroni that answers. */
  async members(): Promise<readonly HaMember[]> {
    for (const node of this.nodes) {
      try {
        const reply = await fetch(`http://127.0.0.1:${node.restPort}/cluster`, { signal: AbortSignal.timeout(2_000) });
        const body = (await reply.json()) as { members?: { name: string; role: string; state: string; port: number }[] };
        return (body.members ?? []).map(({ name, role, state, port }) => ({ name, role, state, port }));
      } catch {
        // that Patroni is down or busy: ask the other
      }
    }
    return [];
  }

  /** Wait until there is a running leader and a running synchronous standby, and return the leader. */
  async waitHealthy(timeoutMs = HEALTHY_TIMEOUT_MS): Promise<HaMember> {
    let last: readonly HaMember[] = [];
    let waiting = true; // the poll ends with the wait, so a timed-out wait leaves nothing running
    const leader = (async () => {
      while (waiting) {
        last = await this.members();
        const lead = last.find((m) => m.role === 'leader' && m.state === 'running');
        if (lead && last.some((m) => m.role === 'sync_standby' && (m.state === 'running' || m.state === 'streaming'))) return lead;
        await sleep(200);
      }
      return undefined as never;
    })();
    try {
      return await withTimeout(leader, timeoutMs, 'a Patroni leader with a synchronous standby');
    } catch (err) {
      throw new Error(`${(err as Error).message}; members: ${JSON.stringify(last)}\n${this.logs()}`);
    } finally {
      waiting = false;
    }
  }

  /**
   * kill -9 every process of the primary's PostgreSQL at once, as a crashed machine would leave it;
   * Patroni then fails over to the synchronous standby. Returns the killed member's name.
   *
   * Killing the postmaster alone left its backends alive for a moment, long enough for the
   * primary's Patroni to read from its own backend that the standby's walsender had gone: it
   * then took the standby out of the synchronous set, and with no synchronous standby left to
   * promote it restarted the killed primary in place (one failover in about 60 of a long run).
   */
  async killPrimary(): Promise<string> {
    const leader = await this.waitHealthy();
    const node = this.nodes.find((n) => n.name === leader.name);
    if (!node) throw new Error(`unknown leader ${leader.name}`);
    const postmaster = Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(postmaster, 'SIGSTOP'); // it forks no new backend while we list and kill its children
    for (const child of childrenOf(postmaster)) killIfAlive(child);
    process.kill(postmaster, 'SIGKILL');
    this.failovers++;
    return node.name;
  }

  /** Wait until a member other than `old` leads (Patroni promoted the standby). */
  async waitNewLeader(old: string, timeoutMs = HEALTHY_TIMEOUT_MS): Promise<HaMember> {
    let last: readonly HaMember[] = [];
    let waiting = true; // as in waitHealthy: a timed-out wait leaves no poll running
    const promoted = (async () => {
      while (waiting) {
        last = await this.members();
        const lead = last.find((m) => m.role === 'leader' && m.state === 'running' && m.name !== old);
        if (lead) return lead;
        await sleep(100);
      }
      return undefined as never;
    })();
    try {
      return await withTimeout(promoted, timeoutMs, `a leader other than ${old}`);
    } catch (err) {
      throw new Error(`${(err as Error).message}; members: ${JSON.stringify(last)}\n${this.logs()}`);
    } finally {
      waiting = false;
    }
  }

  /** The tail of each Patroni's log (its loop's status lines left out) and of etcd's, for failure messages. */
  logs(): string {
    const tail = (file: string, lines: number): string => existsSync(file) ? lastLines(readFileSync(file, 'utf8'), lines) : '';
    return [
      ...this.nodes.map((n) => `--- ${n.name} (patroni log, last lines)\n${tail(join(this.dir, n.name, 'patroni.log'), 15)}`),
      `--- etcd (last lines)\n${tail(join(this.dir, 'etcd.log'), 5)}`,
    ].join('\n');
  }

  /** Stop Patroni (which stops PostgreSQL), then etcd, and remove every file. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map(async (node) => {
      await stopProcess(node.patroni, 'SIGTERM', 30_000);
      this.stopPostgres(node); // a Patroni killed before it stopped PostgreSQL leaves it running
    }));
    await stopProcess(this.etcd, 'SIGTERM', 10_000);
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private stopPostgres(node: Node): void {
    if (!existsSync(join(node.dataDir, 'postmaster.pid'))) return;
    try {
      asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', node.dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    } catch {
      // not running after all
    }
  }
}

/** The pids of `parent`'s children (a postmaster's backends, walsenders and auxiliary processes). */
function childrenOf(parent: number): number[] {
  const list = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
  return list === '' ? [] : list.split(' ').map(Number);
}

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // it exited meanwhile
  }
}

/** The last `count` lines of a Patroni or etcd log, without Patroni's loop status lines. */
export function lastLines(log: string, count: number): string {
  return log.split('\n').filter((line) => !LOOP_CHATTER.test(line)).slice(-count).join('\n');
}

/**
 * A multi-host store URL over loopback `ports` that always reaches the primary
 * (`target_session_attrs=read-write`). test/helpers/postgres.ts's storeUrl takes one host only.
 */
export function haStoreUrl(ports: readonly number[], schema: string): string {
  const hosts = ports.map((port) => `127.0.0.1:${port}`).join(',');
  return `postgres://postgres@${hosts}/postgres?target_session_attrs=read-write&schema=${schema}`;
}

/** `command` as the postgres user when we are root (setpriv execs, so the pid is the command's). */
function asPostgresArgv(command: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, [...args]];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

function asPostgres(command: string, args: readonly string[]): void {
  const [file, argv] = asPostgresArgv(command, args);
  execFileSync(file, argv, { stdio: 'pipe', timeout: 60_000, cwd: POSTGRES_CWD });
}

function spawnPatroni(config: string, log: string): ChildProcess {
  const [file, argv] = asPostgresArgv(PATRONI, [config]);
  const child = spawn('sh', ['-c', `exec "$0" "$@" >>'${log}' 2>&1`, file, ...argv], { stdio: 'ignore', cwd: POSTGRES_CWD, env: { ...process.env, HOME: '/tmp' } });
  return child;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  try {
    await withTimeout(gone, graceMs, `process ${child.pid} to stop`);
  } catch {
    child.kill('SIGKILL');
    await withTimeout(gone, 10_000, `process ${child.pid} to die`).catch(() => undefined);
  }
}

interface NodeSettings {
  readonly name: string;
  readonly pgPort: number;
  readonly restPort: number;
  readonly dataDir: string;
  readonly nodeDir: string;
  readonly etcdClient: number;
  readonly scope: string;
}

/** Patroni's YAML (JSON is YAML): fast failure detection, synchronous replication, durable settings. */
function patroniConfig(s: NodeSettings): string {
  const config = {
    scope: s.scope,
    namespace: '/spacekv-test/',
    name: s.name,
    log: { level: 'INFO' },
    restapi: { listen: `127.0.0.1:${s.restPort}`, connect_address: `127.0.0.1:${s.restPort}` },
    etcd3: { hosts: [`127.0.0.1:${s.etcdClient}`] },
    bootstrap: {
      dcs: {
        ttl: 10,
        loop_wait: 1,
        retry_timeout: 3,
        primary_start_timeout: 0,
        maximum_lag_on_failover: 1_048_576,
        synchronous_mode: true,
        // Not strict: after a failover the new primary takes writes at once instead of waiting for the
        // killed node to rejoin (about 15 s here). Nothing acknowledged can be lost either way:
        // Patroni promotes only a node that was synchronous. Strict adds that every acknowledged
        // commit is on two machines even while one node is down (docs/postgres.md).
        synchronous_mode_strict: false,
        postgresql: {
          use_pg_rewind: true,
          remove_data_directory_on_rewind_failure: true,
          remove_data_directory_on_diverged_timelines: true,
          parameters: {
            wal_level: 'replica', hot_standby: 'on', wal_log_hints: 'on', max_wal_senders: 10, max_replication_slots: 10,
            fsync: 'on', synchronous_commit: 'on', max_connections: 100, shared_buffers: '32MB',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { 'auth-local': 'trust' }, { 'auth-host': 'trust' }],
    },
    postgresql: {
      listen: `127.0.0.1:${s.pgPort}`,
      connect_address: `127.0.0.1:${s.pgPort}`,
      data_dir: s.dataDir,
      bin_dir: PG_BIN,
      pgpass: join(s.nodeDir, 'pgpass'),
      authentication: {
        superuser: { username: 'postgres', password: 'postgres' },
        replication: { username: 'postgres', password: 'postgres' },
      },
      parameters: { unix_socket_directories: s.nodeDir },
      pg_hba: ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host replication all 127.0.0.1/32 trust'],
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
