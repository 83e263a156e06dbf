/** `spacekv serve`: run a server until SIGTERM/SIGINT, then drain and exit. */
import { Command, Option } from 'commander';
import { DEFAULT_CONFIG, type ServerConfig } from '../config.js';
import { startServer } from '../server.js';

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`invalid duration '${value}' (milliseconds)`);
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port '${value}'`);
  return n;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('start a spacekv server (REST under /v1, WebSocket protocol at /v1/ws) on the embedded SQLite store or on PostgreSQL')
    .addOption(new Option('--host <host>', 'address to listen on').env('SPACEKV_HOST').default(DEFAULT_CONFIG.host))
    .addOption(new Option('--port <port>', 'TCP port (0 picks a free one)').env('SPACEKV_PORT').default(DEFAULT_CONFIG.port).argParser(port))
    .addOption(new Option('--data <dir>', 'directory of the embedded store').env('SPACEKV_DATA').default(DEFAULT_CONFIG.dataDir))
    .addOption(new Option('--store <store>', "storage engine: 'sqlite' (embedded, in --data) or postgres://user@host:5432/db?schema=name (shared by any number of servers; schema defaults to spacekv)").env('SPACEKV_STORE').default(DEFAULT_CONFIG.store))
    .addOption(
      new Option('--drain-timeout-ms <ms>', 'on SIGTERM, how long to wait for in-flight requests before closing their connections')
        .env('SPACEKV_DRAIN_TIMEOUT_MS').default(DEFAULT_CONFIG.drainTimeoutMs).argParser(milliseconds),
    )
    .addOption(
      new Option('--log-level <level>', 'log level').env('SPACEKV_LOG_LEVEL').default(DEFAULT_CONFIG.logLevel)
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .action(async (options: { host: string; port: number; data: string; store: string; logLevel: string; drainTimeoutMs: number }) => {
      const config: ServerConfig = {
        ...DEFAULT_CONFIG,
        host: options.host, port: options.port, dataDir: options.data, store: options.store, logLevel: options.logLevel,
        drainTimeoutMs: options.drainTimeoutMs,
      };
      const server = await startServer(config);
      const stop = (signal: string): void => {
        server.logger.info({ signal }, 'stopping');
        server.close().then(() => process.exit(0), (err: unknown) => {
          server.logger.error({ err }, 'unclean shutdown');
          process.exit(1);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
