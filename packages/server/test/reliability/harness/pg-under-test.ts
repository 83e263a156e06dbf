/**
 * The system under test for the PostgreSQL runs: two `spacekv serve` processes (each behind its
 * own client-side FaultProxy, as ServerUnderTest) on one schema of a high-availability PostgreSQL
 * (helpers/pg-ha.ts), reaching its nodes through one FaultProxy per node, so the nemesis can cut or
 * blackhole the connections between spacekv and PostgreSQL. Its faults: kill -9 of one spacekv
 * server (and restart), every store connection cut, the store connections blackholed for a while,
 * and the primary's PostgreSQL killed with SIGKILL (Patroni fails over to the synchronous standby).
 */
import { type PgHaCluster, haStoreUrl } from '../../helpers/pg-ha.js';
import { FaultProxy } from './proxy.js';
import { type Nemesis, startFaultLoop } from './nemesis.js';
import { ServerUnderTest } from './server-under-test.js';
import type { Rng } from './seed.js';

export interface PgFaultCounts {
  kills: number;
  drops: number;
  blackholes: number;
  failovers: number;
}

export class PgSystemUnderTest {
  private readonly counts = { drops: 0, blackholes: 0 };

  private constructor(
    private readonly cluster: PgHaCluster,
    private readonly links: readonly FaultProxy[],
    readonly servers: readonly ServerUnderTest[],
  ) {}

  /** Two servers (or `script`, a test entry such as the broken server, with `extraArgs`) on `schema`. */
  static async launch(cluster: PgHaCluster, dataDir: string, schema: string, count = 2, script?: string, extraArgs: readonly string[] = []): Promise<PgSystemUnderTest> {
    const links = await Promise.all(cluster.ports.map((port) => FaultProxy.start(port)));
    const store = haStoreUrl(links.map((link) => link.port), schema);
    const servers: ServerUnderTest[] = [];
    for (let i = 0; i < count; i++) servers.push(await ServerUnderTest.launch(dataDir, script, ['--store', store, ...extraArgs]));
    return new PgSystemUnderTest(cluster, links, servers);
  }

  /** The URL of server `i` (its client-side proxy's). */
  url(i: number): string {
    return this.servers[i % this.servers.length]!.url;
  }

  get faults(): PgFaultCounts {
    return { kills: this.servers.reduce((n, s) => n + s.faults.kills, 0), ...this.counts, failovers: this.cluster.failovers };
  }

  /** Cut every connection between spacekv and PostgreSQL. */
  cutStore(): void {
    for (const link of this.links) link.dropAll();
    this.counts.drops++;
  }

  /** Let nothing pass between spacekv and PostgreSQL for `ms`, closing nothing. */
  async blackholeStore(ms: number): Promise<void> {
    await Promise.all(this.links.map((link) => link.blackhole(ms)));
    this.counts.blackholes++;
  }

  /** kill -9 the primary's PostgreSQL and wait until Patroni has promoted the standby. */
  async failover(): Promise<void> {
    const old = await this.cluster.killPrimary();
    await this.cluster.waitNewLeader(old);
  }

  /**
   * Each fault in turn at seeded intervals (a failover first waits for a synchronous standby again);
   * blackholes last 1 s to `blackholeMaxMs` (past 5 s, reads meet their deadline; past 15 s, batches).
   */
  nemesis(rng: Rng, meanIntervalMs: number, blackholeMaxMs: number): Nemesis {
    return startFaultLoop([
      () => this.servers[rng.int(this.servers.length)]!.crash(),
      async () => this.cutStore(),
      () => this.blackholeStore(1_000 + rng.int(blackholeMaxMs - 1_000)),
      () => this.failover(),
    ], rng, meanIntervalMs);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
    await Promise.all(this.links.map((link) => link.close()));
  }
}
