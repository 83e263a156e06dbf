/**
 * An in-process server over a real SqliteStore, optionally wrapped in a deliberately broken store
 * (broken-stores.ts), for the fast seeded runs of the negative controls.
 */
import { pino } from 'pino';
import type { Limits } from '@spacekv/core';
import { DEFAULT_CONFIG } from '../../../src/config.js';
import { startServer, type RunningServer } from '../../../src/server.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '../../helpers/temp.js';
import { type BrokenStore, type Breakage, breakStore } from './broken-stores.js';

export interface InProcessServer {
  readonly url: string;
  readonly server: RunningServer;
  /** The broken store, when there is one. */
  readonly store: BrokenStore | undefined;
  stop(): Promise<void>;
}

export async function startInProcess(name: string, breakage?: Breakage, limits?: Limits): Promise<InProcessServer> {
  // In memory when the machine has a tmpfs: these runs check logic, not fsync, and fsync dominates them.
  const dataDir = existsSync('/dev/shm') ? mkdtempSync(join('/dev/shm', `spacekv-${name}-`)) : makeTempDir(name);
  const config = { ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent', limits: limits ?? DEFAULT_CONFIG.limits };
  const real = new SqliteStore(dataDir, config.limits);
  const store = breakage ? breakStore(real, breakage) : undefined;
  const server = await startServer(config, pino({ level: 'silent' }), store ?? real);
  return {
    url: server.url,
    server,
    store,
    async stop() {
      try {
        await server.close();
      } finally {
        removeDir(dataDir);
      }
    },
  };
}
