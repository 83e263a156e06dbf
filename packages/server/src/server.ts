/**
 * Assembles one server process: store, engine, change feed, fronts (REST, WebSocket, AMQP),
 * background tasks and metrics, all in one event loop; and takes it down in order (stop accepting,
 * finish in-flight operations, stop the tasks, commit, close) so SIGTERM loses nothing.
 */
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { SpacekvError } from '@spacekv/core';
import type { ServerConfig } from './config.js';
import { Engine } from './engine/engine.js';
import { ChangeFeed } from './events/change-feed.js';
import { type CommitSignal, commitSignal } from './events/commit-signal.js';
import { type Health, buildHttpApp } from './front/http/app.js';
import { WsFront } from './front/ws/ws-front.js';
import { OutputBudget } from './front/output-budget.js';
import { RELAY_CURSOR, amqpRelay } from './front/amqp/relay.js';
import { amqpRpc } from './front/amqp/rpc.js';
import { redactUrl } from './front/amqp/broker.js';
import { SERVER_VERSION } from './version.js';
import { Metrics } from './metrics.js';
import type { Store } from './store/store.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { BackgroundTask } from './tasks/task.js';
import { TaskSet } from './tasks/task-set.js';
import { logRetention } from './tasks/log-retention.js';
import { purgeRemoved } from './tasks/purge.js';
import { ttlSweeper } from './tasks/ttl-sweeper.js';
import { largeValueSweeper } from './tasks/large-value-sweeper.js';
import { LargeUploads } from './large/uploads.js';
import { authRequired, setUpAuth } from './auth/bootstrap.js';
import type { Authenticator } from './auth/authenticator.js';
import { BrowserGuard, isLoopbackHost } from './front/browser-guard.js';
import { RateLimiter } from './front/rate-limiter.js';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:7640 */
  readonly url: string;
  readonly port: number;
  readonly engine: Engine;
  readonly logger: Logger;
  /** Drain and stop; safe to call more than once. */
  close(): Promise<void>;
}

/** How often readers of a store shared by several servers look for the others' changes. */
const SHARED_STORE_POLL_MS = 100;

/** Expired objects deleted per sweeper batch, and changes removed per retention step. */
const SWEEP_BATCH_MAX = 256;
/** How often the purge looks for rows of removed spaces and indexes when it has none left (with some, it goes on at once). */
const PURGE_INTERVAL_MS = 1000;
const PRUNE_BATCH_MAX = 4096;

export function openStore(config: ServerConfig): Store {
  if (config.store === 'sqlite') return new SqliteStore(config.dataDir, config.limits);
  if (/^postgres(ql)?:\/\//.test(config.store)) return new PostgresStore(config.store, config.limits);
  throw new SpacekvError('bad_request', `unknown store '${redactUrl(config.store)}': use 'sqlite' (the embedded store) or a postgres://… URL`);
}

/**
 * The background tasks, in the order a drain stops them: the AMQP RPC consumer first (it takes
 * requests), the relay last (it publishes what the sweeper's last deletions logged).
 */
function backgroundTasks(
  config: ServerConfig, store: Store, engine: Engine, feed: ChangeFeed, commits: CommitSignal, logger: Logger, metrics: Metrics,
  auth: Authenticator | undefined, limiter: RateLimiter | undefined, uploads: LargeUploads,
): TaskSet {
  const amqpUrl = config.amqpUrl;
  const rpcOptions = { url: amqpUrl ?? '', queue: config.amqpRpcQueue, prefetch: config.amqpPrefetch, ...(auth ? { auth } : {}), ...(limiter ? { limiter } : {}) };
  const tasks = [
    ...(amqpUrl ? [new BackgroundTask('amqp_rpc', amqpRpc(engine, feed, metrics, rpcOptions), logger)] : []),
    ...(store.purgeRemoved ? [new BackgroundTask('purge', purgeRemoved(store.purgeRemoved.bind(store), PURGE_INTERVAL_MS), logger)] : []),
    new BackgroundTask('ttl_sweeper', ttlSweeper(store, engine, { intervalMs: config.sweepIntervalMs, batchMax: SWEEP_BATCH_MAX }), logger),
    ...(store.largeValues
      ? [new BackgroundTask('large_value_sweeper', largeValueSweeper(store.largeValues, uploads, config.limits, { intervalMs: config.sweepIntervalMs, batchMax: SWEEP_BATCH_MAX }), logger)]
      : []),
    new BackgroundTask('log_retention', logRetention(store, {
      intervalMs: config.retentionIntervalMs,
      ...(config.logRetentionMs > 0 ? { maxAgeMs: config.logRetentionMs } : {}),
      ...(config.logRetentionSeqs > 0 ? { keepSeqs: config.logRetentionSeqs } : {}),
      cursors: amqpUrl ? [RELAY_CURSOR] : [],
      batchMax: PRUNE_BATCH_MAX,
    }), logger),
    ...(amqpUrl
      ? [new BackgroundTask('amqp_relay', amqpRelay(store, commits, { url: amqpUrl, exchange: config.amqpExchange }), logger)]
      : []),
  ];
  return new TaskSet(tasks, metrics.registry);
}

/** Whether requests are rate limited per client: `auto` does so unless the server listens on loopback only. */
function rateLimited(config: ServerConfig): boolean {
  return config.rateLimit === 'on' || (config.rateLimit === 'auto' && !isLoopbackHost(config.host));
}

/** /healthz: the server serves while its store does; a failing task or an unreachable broker shows as degraded. */
async function healthOf(config: ServerConfig, store: Store, tasks: TaskSet, feed: ChangeFeed): Promise<Health> {
  const states = tasks.health();
  const amqp = config.amqpUrl === undefined ? 'off'
    : [states.amqp_rpc, states.amqp_relay].every((s) => s?.state === 'running') ? 'ok' : 'degraded';
  const degraded = tasks.degraded;
  // A store that can lose its connection (PostgreSQL) is asked; without it the server cannot serve.
  const storeHealth = (await store.health?.()) ?? { ok: true, detail: `store ${redactUrl(config.store)}` };
  return {
    ok: storeHealth.ok,
    detail: degraded ? `${storeHealth.detail}; degraded: ${Object.entries(states).filter(([, s]) => s.state !== 'running').map(([name]) => name).join(', ')}` : storeHealth.detail,
    parts: { amqp, tasks: states, watch: { watchers: feed.watchers, fallbackPages: feed.fallbackPages, mostLogPagesInOneTurn: feed.mostLogPagesInOneTurn } },
  };
}

/**
 * Start a server. `store` replaces the one `config` names; it is the one seam for tests that wrap a
 * real store (the reliability harness's deliberately broken stores); production passes nothing.
 */
export async function startServer(
  config: ServerConfig, logger: Logger = pino({ level: config.logLevel }), store: Store = openStore(config),
): Promise<RunningServer> {
  const requireTokens = authRequired(config, logger); // before anything opens: a refused start leaves nothing behind
  let engine: Engine | undefined;
  const output = new OutputBudget(config.limits.replyBufferBytesMax);
  const metrics = new Metrics(() => engine?.writeQueueDepth ?? 0, () => output.bytes, () => store.serializationRetries ?? 0, () => store.lockHold, () => store.threadsBusyMs?.());
  engine = new Engine({ store, limits: config.limits, observer: metrics, logger });
  await engine.start();
  const running = engine;
  // The embedded store has one writer, this process; any other store may have several servers.
  // Other servers' commits on a shared store: notified by the store at once, and polled for in case a notification was lost.
  const commits = commitSignal((listener) => {
    const offForeign = store.onForeignCommit?.(listener);
    const offLocal = running.onCommit(listener);
    return () => {
      offForeign?.();
      offLocal();
    };
  }, config.store === 'sqlite' ? 0 : SHARED_STORE_POLL_MS);
  const feed = new ChangeFeed(store, config.limits, logger);
  await feed.start(commits);
  const auth = requireTokens ? await setUpAuth(config, running, feed, logger) : undefined;
  const limiter = rateLimited(config) ? new RateLimiter(config.limits) : undefined;
  const largeUploads = new LargeUploads(config.limits);
  const tasks = backgroundTasks(config, store, running, feed, commits, logger, metrics, auth?.authenticator, limiter, largeUploads);
  const health = () => healthOf(config, store, tasks, feed);
  const guard = new BrowserGuard({ listenHost: config.host, allowedHosts: config.allowedHosts, corsOrigins: config.corsOrigins });
  const gate = { guard, metricsPublic: config.metricsPublic, ...(auth ? { auth: auth.authenticator } : {}), ...(limiter ? { limiter } : {}) };
  const { app, stopAccepting } = buildHttpApp({
    engine, metrics, feed, logger, health, output, gate, largeUploads, ...(auth ? { tokens: auth.registry } : {}), ...(config.tls ? { tls: config.tls } : {}),
  });
  const ws = new WsFront(app.server, {
    engine, feed, metrics, output, serverVersion: `spacekv/${SERVER_VERSION}`, heartbeatIntervalMs: config.heartbeatIntervalMs, guard, auth: auth?.authenticator, limiter,
  });
  await app.listen({ host: config.host, port: config.port });
  tasks.start();
  const port = (app.server.address() as AddressInfo).port;
  const url = `${config.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, store: redactUrl(config.store), dataDir: config.dataDir, amqp: config.amqpUrl ? redactUrl(config.amqpUrl) : 'off', tls: config.tls !== undefined }, 'spacekv serving');

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
      auth?.registry.close();
      feed.close({ code: 'shutting_down', message: 'the server is shutting down; resume from the last seq you saw' });
      await ws.close(); // answers every accepted WebSocket request, then closes with 1001
      await app.close(); // waits for in-flight requests to be answered
      clearTimeout(deadline);
      await tasks.stop(); // their last writes commit before the engine closes
      await running.close();
      logger.info('closed');
    })();
    return closing;
  };
  return { url, port, engine: running, logger, close };
}
