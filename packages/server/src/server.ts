/**
 * Assembles one server process: store, engine, fronts, metrics; and takes it down in order
 * (stop accepting, finish in-flight operations, commit, close) so SIGTERM loses nothing.
 */
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { SpacekvError } from '@spacekv/core';
import type { ServerConfig } from './config.js';
import { Engine } from './engine/engine.js';
import { buildHttpApp } from './front/http/app.js';
import { WsFront } from './front/ws/ws-front.js';
import { SERVER_VERSION } from './version.js';
import { Metrics } from './metrics.js';
import type { MaybePromise, Store, StoreHealth } from './store/store.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:7640 */
  readonly url: string;
  readonly port: number;
  readonly engine: Engine;
  readonly logger: Logger;
  /** Drain and stop; safe to call more than once. */
  close(): Promise<void>;
}

export function openStore(config: ServerConfig): Store {
  if (config.store === 'sqlite') return new SqliteStore(config.dataDir, config.limits);
  if (/^postgres(ql)?:\/\//.test(config.store)) return new PostgresStore(config.store, config.limits);
  throw new SpacekvError('bad_request', `unknown store '${storeName(config.store)}': use 'sqlite' (the embedded store) or a postgres://… URL`);
}

/** The store as logs and /healthz name it: a URL without its password. */
export function storeName(store: string): string {
  try {
    const url = new URL(store);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return store;
  }
}

export async function startServer(config: ServerConfig, logger: Logger = pino({ level: config.logLevel })): Promise<RunningServer> {
  const store = openStore(config);
  let engine: Engine | undefined;
  const metrics = new Metrics(() => engine?.writeQueueDepth ?? 0);
  engine = new Engine({ store, limits: config.limits, observer: metrics, logger });
  await engine.start();
  const health = (): MaybePromise<StoreHealth> => store.health?.() ?? { ok: true, detail: `store ${config.store}` };
  const { app, stopAccepting } = buildHttpApp({ engine, metrics, logger, health });
  const ws = new WsFront(app.server, { engine, metrics, serverVersion: `spacekv/${SERVER_VERSION}`, heartbeatIntervalMs: config.heartbeatIntervalMs });
  await app.listen({ host: config.host, port: config.port });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, store: storeName(config.store), dataDir: config.dataDir }, 'spacekv serving');

  const running = engine;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('draining');
      stopAccepting();
      // A client that stalls mid-request must not hold the process forever.
      const deadline = setTimeout(() => {
        logger.warn({ drainTimeoutMs: config.drainTimeoutMs }, 'drain deadline passed; closing the remaining connections');
        app.server.closeAllConnections();
      }, config.drainTimeoutMs);
      await ws.close(); // answers every accepted WebSocket request, then closes with 1001
      await app.close(); // waits for in-flight requests to be answered
      clearTimeout(deadline);
      await running.close();
      logger.info('closed');
    })();
    return closing;
  };
  return { url, port, engine: running, logger, close };
}
