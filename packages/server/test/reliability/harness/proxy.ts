/**
 * A TCP proxy on loopback between the clients and the server (or between spacekv and PostgreSQL),
 * which the fault injector controls: it can cut every connection at once (a network fault the
 * client sees as a dropped socket), blackhole them for a while (a partition that heals: nothing
 * passes, nothing is closed), and follow the server to a new port after a restart, so clients
 * keep one URL across crashes.
 */
import net from 'node:net';
import { sleep } from '../../helpers/timeout.js';

/**
 * A test process that cut connections with `resetAndDestroy` was seen to pass every test and then
 * never exit: 100% CPU in Node's exit-time handle cleanup (Environment::CleanupHandles, after the
 * event loop had drained), which hung the whole suite. Once the loop drains, the process exits
 * explicitly instead, a moment later so the test runner's report is written first; the exit code
 * the runner set is kept. process.exit does not go through that cleanup.
 */
process.once('beforeExit', () => {
  setTimeout(() => process.exit(), 200);
});

export class FaultProxy {
  private readonly pairs = new Set<{ readonly client: net.Socket; readonly upstream: net.Socket }>();
  private targetPort: number;
  private listening: net.Server;
  /** Connections cut so far by `dropAll`. */
  dropped = 0;

  private suspendedPort: number | undefined;
  /** While blackholed: connections accepted meanwhile, joined to the server when it ends. */
  private held: net.Socket[] | undefined;
  readonly port: number;

  private constructor(server: net.Server, targetPort: number, port: number) {
    this.listening = server;
    this.targetPort = targetPort;
    this.port = port;
  }

  static async start(targetPort: number): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new FaultProxy(server, targetPort, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  retarget(port: number): void {
    this.targetPort = port;
  }

  /** Reset every open connection, both ways. */
  dropAll(): void {
    for (const { client, upstream } of this.pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
      this.dropped++;
    }
    this.pairs.clear();
  }

  /**
   * Blackhole every connection, open and new, for `ms`: no byte passes either way and nothing is
   * closed, as when the network between the two drops packets; then everything flows again.
   */
  async blackhole(ms: number): Promise<void> {
    this.held ??= [];
    const stalled = [...this.pairs];
    for (const { client, upstream } of stalled) {
      client.unpipe(upstream).pause();
      upstream.unpipe(client).pause();
    }
    await sleep(ms);
    for (const { client, upstream } of stalled) {
      client.pipe(upstream);
      upstream.pipe(client);
    }
    const held = this.held;
    this.held = undefined;
    for (const client of held) this.accept(client);
  }

  /** Stop listening (new connections are refused, so a client knows nothing was sent) and cut the open ones. */
  async suspend(): Promise<void> {
    const port = (this.listening.address() as net.AddressInfo).port;
    this.suspendedPort = port;
    await new Promise<void>((resolve) => this.listening.close(() => resolve()));
    this.dropAll();
  }

  /** Listen again, on the same port. */
  async resume(): Promise<void> {
    const port = this.suspendedPort;
    if (port === undefined) return;
    this.suspendedPort = undefined;
    this.listening = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.listening.once('error', reject);
      this.listening.listen(port, '127.0.0.1', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.suspendedPort !== undefined) return this.dropAll();
    this.dropAll();
    await new Promise<void>((resolve) => this.listening.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.held) {
      client.pause().on('error', () => client.destroy());
      this.held.push(client);
      return;
    }
    if (client.destroyed) return; // gave up while it was held
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
