/**
 * Server configuration: every setting has a CLI flag and an environment variable (docs/architecture.md §6);
 * flags win over the environment, which wins over these defaults.
 */
import { type Limits, DEFAULT_LIMITS } from '@spacekv/core';

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Directory of the embedded store's files. */
  readonly dataDir: string;
  /** `sqlite` (the embedded store in dataDir) or a `postgres://…` URL (`?schema=name`, default `spacekv`). */
  readonly store: string;
  readonly logLevel: string;
  /** How long a shutdown waits for in-flight requests before closing their connections. */
  readonly drainTimeoutMs: number;
  /** How often WebSocket peers are pinged; one that misses a ping is dropped. */
  readonly heartbeatIntervalMs: number;
  readonly limits: Limits;
  /** The AMQP front's broker (`amqp://user:pass@host:port/vhost`); absent: no AMQP front. */
  readonly amqpUrl?: string;
  /** The durable queue AMQP RPC requests arrive on. */
  readonly amqpRpcQueue: string;
  /** The topic exchange change events are published to (routing key `<space>.<op>`). */
  readonly amqpExchange: string;
  /** RPC requests one server takes from the queue before answering any (AMQP prefetch: backpressure). */
  readonly amqpPrefetch: number;
  /** How often the TTL sweeper looks for expired objects. */
  readonly sweepIntervalMs: number;
  /** Change-log retention: changes older than this may be removed (0: no age rule). */
  readonly logRetentionMs: number;
  /** Change-log retention: changes of every seq but the newest this many may be removed (0: no count rule). */
  readonly logRetentionSeqs: number;
  /** How often log retention runs. */
  readonly retentionIntervalMs: number;
  /** Whether requests need a token: `auto` requires them unless the server listens on loopback only. */
  readonly auth: 'auto' | 'on' | 'off';
  /** Allow `auth: off` beyond loopback (a warning on every start). */
  readonly insecureNoAuth: boolean;
  /** An operator-chosen root secret (SPACEKV_ROOT_TOKEN, at least 32 characters) that grants everything; never stored. */
  readonly rootToken?: string;
  /** Host names answered besides loopback names and the listen address (`*`: any). */
  readonly allowedHosts: readonly string[];
  /** Web origins allowed (CORS, and WebSocket and SSE from browsers) besides the server's own (`*`: any). */
  readonly corsOrigins: readonly string[];
  /** Serve /metrics without a token. */
  readonly metricsPublic: boolean;
  /** Requests per second per client (limits.clientRequestsPerSecondMax): `auto` limits them unless listening on loopback only. */
  readonly rateLimit: 'auto' | 'on' | 'off';
  /** PEM certificate chain and private key: serve HTTPS and WSS on the port (both or neither). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 7640,
  dataDir: './spacekv-data',
  store: 'sqlite',
  logLevel: 'info',
  heartbeatIntervalMs: 30_000,
  drainTimeoutMs: 5_000,
  limits: DEFAULT_LIMITS,
  amqpRpcQueue: 'spacekv.rpc',
  amqpExchange: 'spacekv.events',
  amqpPrefetch: 64,
  sweepIntervalMs: 1_000,
  logRetentionMs: 7 * 24 * 3600 * 1000,
  logRetentionSeqs: 10_000_000,
  retentionIntervalMs: 60_000,
  auth: 'auto',
  insecureNoAuth: false,
  allowedHosts: [],
  corsOrigins: [],
  metricsPublic: false,
  rateLimit: 'auto',
};
