/**
 * Server configuration: every setting has a CLI flag and an environment variable (DESIGN.md §6);
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
};
