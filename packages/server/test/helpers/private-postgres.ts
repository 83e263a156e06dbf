/**
 * A private PostgreSQL cluster for fault tests (stop, crash, restart), so they never disturb the
 * machine's shared server: initdb in a temp directory, listening on a free loopback port, durable
 * defaults (fsync and synchronous_commit on). PostgreSQL refuses to run as root, so under root the
 * binaries run as the `postgres` user. Binaries: SPACEKV_TEST_PG_BIN, else `pg_config --bindir`,
 * else /usr/lib/postgresql/<newest>/bin.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

function binDir(): string | undefined {
  const fromEnv = process.env['SPACEKV_TEST_PG_BIN'];
  if (fromEnv) return fromEnv;
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    // no pg_config on PATH (Debian keeps it per version)
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((x, y) => Number(y) - Number(x));
  return versions.length > 0 ? join(root, versions[0] as string, 'bin') : undefined;
}

/** Why a private cluster cannot be made here, or undefined when it can. */
/**
 * Where processes run as the postgres user start: not the test's own directory, which that user
 * may not enter (a clone in a 0700 `mktemp -d` directory: Patroni then failed at its first chdir).
 */
export const POSTGRES_CWD = '/';

export function privatePostgresMissing(): string | undefined {
  const bin = binDir();
  if (!bin || !existsSync(join(bin, 'initdb'))) return 'no PostgreSQL server binaries (initdb) found; set SPACEKV_TEST_PG_BIN to run the PostgreSQL fault tests';
  return postgresUserMissing();
}

/** PostgreSQL refuses to run as root: why there is no `postgres` user to run it as, or undefined. */
export function postgresUserMissing(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'running as root without a postgres user to run a private PostgreSQL cluster as';
  }
}

/** Under root, the `postgres` user's ids, to give it the directories it runs in; else undefined. */
export function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
  };
}

export class PrivatePostgres {
  private constructor(private readonly bin: string, private readonly dir: string, readonly port: number) {}

  /** postgres://postgres@127.0.0.1:<port>/postgres */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(): Promise<PrivatePostgres> {
    const bin = binDir() as string;
    const dir = mkdtempSync(join(tmpdir(), 'spacekv-pg-'));
    chmodSync(dir, 0o700);
    const owner = postgresOwner();
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const cluster = new PrivatePostgres(bin, dir, await freePort());
    cluster.run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    cluster.start();
    return cluster;
  }

  start(): void {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=on -c synchronous_commit=on`;
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-o', options, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start']);
  }

  /** `immediate` is a crash (no checkpoint, recovery on the next start); `fast` a clean stop. */
  stop(mode: 'immediate' | 'fast'): void {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', '-t', '60', 'stop']);
  }

  /** Stop (if running) and remove everything. */
  destroy(): void {
    try {
      this.stop('immediate');
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(tool: string, args: readonly string[]): void {
    const command = join(this.bin, tool);
    const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, [...args]];
    execFileSync(file, argv as string[], { stdio: 'pipe', timeout: 90_000, cwd: POSTGRES_CWD });
  }
}
