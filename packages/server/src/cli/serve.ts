/** `spacekv serve`: run a server until SIGTERM/SIGINT, then drain and exit. */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { LIMIT_MS_MAX, makeLimits } from '@spacekv/core';
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

/**
 * A duration that becomes a Node timer: at most LIMIT_MS_MAX, the bound the limits take too. Past
 * Node's largest timer, Node does not wait longer: it warns and fires after 1 ms, so a sweep or a
 * heartbeat "every month" would run without pause.
 */
function timer(parse: (value: string) => number): (value: string) => number {
  return (value) => {
    const n = parse(value);
    if (n > LIMIT_MS_MAX) throw new Error(`'${value}' is more than ${LIMIT_MS_MAX} ms (about 24.8 days, the longest Node timer)`);
    return n;
  };
}

/** `name=value` (one --limit flag, or one comma-separated item of SPACEKV_LIMITS), added to those before it. */
function limitOverride(value: string, previous: Readonly<Record<string, number>> = {}): Record<string, number> {
  const overrides: Record<string, number> = { ...previous };
  for (const item of value.split(',').filter((part) => part.trim() !== '')) {
    const match = /^\s*([A-Za-z]+)\s*=\s*(\d+)\s*$/.exec(item);
    if (!match) throw new Error(`invalid limit '${item}' (name=value, e.g. sendBufferBytesMax=1048576)`);
    overrides[match[1] as string] = Number(match[2]);
  }
  makeLimits(overrides); // refuses an unknown name or a value that is not a positive integer, now
  return overrides;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port '${value}'`);
  return n;
}

interface ServeOptions {
  host: string; port: number; data: string; store: string; logLevel: string; drainTimeoutMs: number;
  amqp?: string; amqpRpcQueue: string; amqpExchange: string; amqpPrefetch: number;
  sweepIntervalMs: number; logRetentionMs: number; logRetentionSeqs: number; heartbeatIntervalMs: number;
  limit?: Record<string, number>;
  auth: 'auto' | 'on' | 'off'; insecureNoAuth?: boolean; tlsCert?: string; tlsKey?: string; rateLimit: 'auto' | 'on' | 'off'; allowedHost: string[]; corsOrigin: string[]; publicMetrics?: boolean;
}

/** The certificate and key files, read now: a missing or unreadable one stops the start with its name. */
function tlsOf(options: ServeOptions): Pick<ServerConfig, 'tls'> {
  if (options.tlsCert === undefined && options.tlsKey === undefined) return {};
  if (options.tlsCert === undefined || options.tlsKey === undefined) throw new Error('--tls-cert and --tls-key go together');
  const read = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} '${file}': ${(err as Error).message}`);
    }
  };
  return { tls: { cert: read(options.tlsCert, 'certificate'), key: read(options.tlsKey, 'key') } };
}

/** A comma-separated list option, repeatable: `--cors-origin a,b --cors-origin c`. */
function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('start a spacekv server (REST under /v1, WebSocket protocol at /v1/ws, change events at /v1/events, the web console at /console, AMQP with --amqp) on the embedded SQLite store or on PostgreSQL')
    .addOption(new Option('--host <host>', 'address to listen on').env('SPACEKV_HOST').default(DEFAULT_CONFIG.host))
    .addOption(new Option('--port <port>', 'TCP port (0 picks a free one)').env('SPACEKV_PORT').default(DEFAULT_CONFIG.port).argParser(port))
    .addOption(new Option('--data <dir>', 'directory of the embedded store').env('SPACEKV_DATA').default(DEFAULT_CONFIG.dataDir))
    .addOption(new Option('--store <store>', "storage engine: 'sqlite' (embedded, in --data) or postgres://user@host:5432/db?schema=name (shared by any number of servers; schema defaults to spacekv; several hosts, h1:5432,h2:5432, with target_session_attrs=primary follow a failover)").env('SPACEKV_STORE').default(DEFAULT_CONFIG.store))
    .addOption(
      new Option('--drain-timeout-ms <ms>', 'on SIGTERM, how long to wait for in-flight requests before closing their connections')
        .env('SPACEKV_DRAIN_TIMEOUT_MS').default(DEFAULT_CONFIG.drainTimeoutMs).argParser(timer(milliseconds)),
    )
    .addOption(new Option('--amqp <url>', 'enable the AMQP front on this broker: RPC on --amqp-rpc-queue, events to --amqp-exchange (e.g. amqp://guest:guest@127.0.0.1:5672)').env('SPACEKV_AMQP_URL'))
    .addOption(new Option('--amqp-rpc-queue <name>', 'durable queue AMQP RPC requests arrive on').env('SPACEKV_AMQP_RPC_QUEUE').default(DEFAULT_CONFIG.amqpRpcQueue))
    .addOption(new Option('--amqp-exchange <name>', 'topic exchange change events are published to (routing key <space>.<operation>)').env('SPACEKV_AMQP_EXCHANGE').default(DEFAULT_CONFIG.amqpExchange))
    .addOption(new Option('--amqp-prefetch <n>', 'AMQP RPC requests taken before answering any (backpressure)').env('SPACEKV_AMQP_PREFETCH').default(DEFAULT_CONFIG.amqpPrefetch).argParser(positive(count)))
    .addOption(new Option('--sweep-interval-ms <ms>', 'how often the TTL sweeper deletes expired objects').env('SPACEKV_SWEEP_INTERVAL_MS').default(DEFAULT_CONFIG.sweepIntervalMs).argParser(timer(positive(milliseconds))))
    .addOption(new Option('--log-retention-ms <ms>', 'remove change-log entries older than this (0: no age rule)').env('SPACEKV_LOG_RETENTION_MS').default(DEFAULT_CONFIG.logRetentionMs).argParser(milliseconds))
    .addOption(new Option('--log-retention-seqs <n>', 'keep the change log of only the newest n seqs (0: no count rule)').env('SPACEKV_LOG_RETENTION_SEQS').default(DEFAULT_CONFIG.logRetentionSeqs).argParser(count))
    .addOption(new Option('--heartbeat-interval-ms <ms>', 'how often WebSocket peers are pinged; one that has not answered the previous ping is disconnected').env('SPACEKV_HEARTBEAT_INTERVAL_MS').default(DEFAULT_CONFIG.heartbeatIntervalMs).argParser(timer(positive(milliseconds))))
    .addOption(new Option('--limit <name=value>', 'override a bound of the limits module (repeatable; SPACEKV_LIMITS takes a comma-separated list), e.g. --limit sendBufferBytesMax=1048576; docs/limits.md lists them').env('SPACEKV_LIMITS').argParser(limitOverride))
    .addOption(new Option('--auth <mode>', "require tokens: 'auto' (required unless listening on loopback only), 'on', 'off' (refused beyond loopback without --insecure-no-auth); root secret: SPACEKV_ROOT_TOKEN")
      .env('SPACEKV_AUTH').default(DEFAULT_CONFIG.auth).choices(['auto', 'on', 'off']))
    .addOption(new Option('--insecure-no-auth', 'allow --auth off on a non-loopback address (warns on every start)').env('SPACEKV_INSECURE_NO_AUTH'))
    .addOption(new Option('--allowed-host <names>', "Host names answered besides loopback and the listen address (comma-separated, repeatable; '*': any, behind a proxy that checks Host)")
      .env('SPACEKV_ALLOWED_HOSTS').argParser(list).default([]))
    .addOption(new Option('--cors-origin <origins>', "web origins allowed to call the server from a browser (REST with CORS, WebSocket, SSE), e.g. https://app.example.com (comma-separated, repeatable; '*': any)")
      .env('SPACEKV_CORS_ORIGINS').argParser(list).default([]))
    .addOption(new Option('--rate-limit <mode>', "limit requests per second per client (token, or address without tokens) to the limits' clientRequestsPerSecondMax: 'auto' (on unless listening on loopback only), 'on', 'off'")
      .env('SPACEKV_RATE_LIMIT').default(DEFAULT_CONFIG.rateLimit).choices(['auto', 'on', 'off']))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS and WSS on the port (with --tls-key)').env('SPACEKV_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('SPACEKV_TLS_KEY'))
    .addOption(new Option('--public-metrics', 'serve /metrics without a token').env('SPACEKV_PUBLIC_METRICS'))
    .addOption(
      new Option('--log-level <level>', 'log level').env('SPACEKV_LOG_LEVEL').default(DEFAULT_CONFIG.logLevel)
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .action(async (options: ServeOptions) => {
      const config: ServerConfig = {
        ...DEFAULT_CONFIG,
        host: options.host, port: options.port, dataDir: options.data, store: options.store, logLevel: options.logLevel,
        drainTimeoutMs: options.drainTimeoutMs, heartbeatIntervalMs: options.heartbeatIntervalMs,
        limits: makeLimits(options.limit ?? {}),
        ...(options.amqp ? { amqpUrl: options.amqp } : {}),
        amqpRpcQueue: options.amqpRpcQueue, amqpExchange: options.amqpExchange, amqpPrefetch: options.amqpPrefetch,
        sweepIntervalMs: options.sweepIntervalMs, logRetentionMs: options.logRetentionMs, logRetentionSeqs: options.logRetentionSeqs,
        auth: options.auth, insecureNoAuth: options.insecureNoAuth === true, allowedHosts: options.allowedHost, corsOrigins: options.corsOrigin,
        metricsPublic: options.publicMetrics === true, rateLimit: options.rateLimit,
        ...(process.env.SPACEKV_ROOT_TOKEN ? { rootToken: process.env.SPACEKV_ROOT_TOKEN } : {}),
        ...tlsOf(options),
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
