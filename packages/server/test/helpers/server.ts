/** An in-process server on a fresh data directory and a free loopback port, for the REST tests. */
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Limits } from '@spacekv/core';
import { DEFAULT_CONFIG, type ServerConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { Store } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeTempDir, removeDir } from './temp.js';

export interface TestServer {
  readonly url: string;
  readonly server: RunningServer;
  readonly dataDir: string;
  /** Drain the server and remove its data directory. */
  stop(): Promise<void>;
}

export interface TestServerOptions {
  readonly limits?: Limits;
  /** Wrap the real store (the reliability harness's deliberately broken stores). */
  readonly wrapStore?: (real: Store) => Store;
  /**
   * Keep the data in memory (a tmpfs, when the machine has one): for runs that check logic, not
   * fsync, and would otherwise spend most of their time in it.
   */
  readonly inMemory?: boolean;
  /** Settings past the defaults (auth, allowed hosts and origins, ...). */
  readonly config?: Partial<ServerConfig>;
}

export async function startTestServer(name: string, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.inMemory && existsSync('/dev/shm') ? mkdtempSync(join('/dev/shm', `spacekv-${name}-`)) : makeTempDir(name);
  const config = { ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', limits: options.limits ?? DEFAULT_CONFIG.limits, ...options.config };
  const real = new SqliteStore(dataDir, config.limits);
  const server = await startServer(config, pino({ level: 'silent' }), options.wrapStore ? options.wrapStore(real) : real);
  return {
    url: server.url,
    server,
    dataDir,
    async stop() {
      try {
        await server.close();
      } finally {
        removeDir(dataDir);
      }
    },
  };
}
