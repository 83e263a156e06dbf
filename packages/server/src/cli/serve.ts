/** `spacekv serve`: run a server until SIGTERM/SIGINT, then drain and exit. */
import { Command, Option } from 'commander';
import { DEFAULT_CONFIG, type ServerConfig } from '../config.js';
import { startServer } from '../server.js';

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`invalid duration '${value}' (milliseconds)`);
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`invalid count '${value}'`);
  return n;
}

function positive(parse: (value: string) => number): (value: string) => number {
  return (value) => {
    const n = parse(value);
    if (n === 0) throw new Error(`'${value}' must be more than 0`);
    return n;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port '${value}'`);
  return n;
}

interface ServeOptions {
  host: string; port: number; data: string; store: string; logLevel: string; drainTimeoutMs: number;
  amqp?: string; amqpRpcQueue: string; amqpExchange: string; amqpPrefetch: number;
  sweepIntervalMs: number; logRetentionMs: number; logRetentionSeqs: number;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('start a spacekv server (REST under /v1, WebSocket protocol at /v1/ws, change events at /v1/events, the web console at /console, AMQP with --amqp) on the embedded SQLite store or on PostgreSQL')
    .addOption(new Option('--host <host>', 'address to listen on').env('SPACEKV_HOST').default(DEFAULT_CONFIG.host))
    .addOption(new Option('--port <port>', 'TCP port (0 picks a free one)').env('SPACEKV_PORT').default(DEFAULT_CONFIG.port).argParser(port))
    .addOption(new Option('--data <dir>', 'directory of the embedded store').env('SPACEKV_DATA').default(DEFAULT_CONFIG.dataDir))
    .addOption(new Option('--store <store>', "storage engine: 'sqlite' (embedded, in --data) or postgres://user@host:5432/db?schema=name (shared by any number of servers; schema defaults to spacekv)").env('SPACEKV_STORE').default(DEFAULT_CONFIG.store))
    .addOption(
      new Option('--drain-timeout-ms <ms>', 'on SIGTERM, how long to wait for in-flight requests before closing their connections')
        .env('SPACEKV_DRAIN_TIMEOUT_MS').default(DEFAULT_CONFIG.drainTimeoutMs).argParser(milliseconds),
    )
    .addOption(new Option('--amqp <url>', 'enable the AMQP front on this broker: RPC on --amqp-rpc-queue, events to --amqp-exchange (e.g. amqp://guest:guest@127.0.0.1:5672)').env('SPACEKV_AMQP_URL'))
    .addOption(new Option('--amqp-rpc-queue <name>', 'durable queue AMQP RPC requests arrive on').env('SPACEKV_AMQP_RPC_QUEUE').default(DEFAULT_CONFIG.amqpRpcQueue))
    .addOption(new Option('--amqp-exchange <name>', 'topic exchange change events are published to (routing key <space>.<operation>)').env('SPACEKV_AMQP_EXCHANGE').default(DEFAULT_CONFIG.amqpExchange))
    .addOption(new Option('--amqp-prefetch <n>', 'AMQP RPC requests taken before answering any (backpressure)').env('SPACEKV_AMQP_PREFETCH').default(DEFAULT_CONFIG.amqpPrefetch).argParser(positive(count)))
    .addOption(new Option('--sweep-interval-ms <ms>', 'how often the TTL sweeper deletes expired objects').env('SPACEKV_SWEEP_INTERVAL_MS').default(DEFAULT_CONFIG.sweepIntervalMs).argParser(positive(milliseconds)))
    .addOption(new Option('--log-retention-ms <ms>', 'remove change-log entries older than this (0: no age rule)').env('SPACEKV_LOG_RETENTION_MS').default(DEFAULT_CONFIG.logRetentionMs).argParser(milliseconds))
    .addOption(new Option('--log-retention-seqs <n>', 'keep the change log of only the newest n seqs (0: no count rule)').env('SPACEKV_LOG_RETENTION_SEQS').default(DEFAULT_CONFIG.logRetentionSeqs).argParser(count))
    .addOption(
      new Option('--log-level <level>', 'log level').env('SPACEKV_LOG_LEVEL').default(DEFAULT_CONFIG.logLevel)
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .action(async (options: ServeOptions) => {
      const config: ServerConfig = {
        ...DEFAULT_CONFIG,
        host: options.host, port: options.port, dataDir: options.data, store: options.store, logLevel: options.logLevel,
        drainTimeoutMs: options.drainTimeoutMs,
        ...(options.amqp ? { amqpUrl: options.amqp } : {}),
        amqpRpcQueue: options.amqpRpcQueue, amqpExchange: options.amqpExchange, amqpPrefetch: options.amqpPrefetch,
        sweepIntervalMs: options.sweepIntervalMs, logRetentionMs: options.logRetentionMs, logRetentionSeqs: options.logRetentionSeqs,
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
