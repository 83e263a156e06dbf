/**
 * Prometheus metrics (served at /metrics): requests by operation, front and outcome, their
 * latency, group-commit batch sizes and durations, the write queue depth, the reply bytes
 * buffered for clients, and how busy the event loop and the store's threads are. Each server owns its
 * own registry so several servers in one process (tests) do not collide.
 */
import client from 'prom-client';
import type { CommitObserver } from './engine/group-commit.js';
import { RequestMetrics } from './request-metrics.js';

export class Metrics implements CommitObserver {
  readonly registry = new client.Registry();
  private readonly requests: RequestMetrics;
  private readonly batchSize: client.Histogram;
  private readonly batchSeconds: client.Histogram;
  private readonly indexBuild: client.Gauge;

  constructor(
    writeQueueDepth: () => number, replyBufferBytes: () => number = () => 0, storeRetries: () => number = () => 0,
    storeLockHold: () => { readonly batches: number; readonly heldMs: number } | undefined = () => undefined,
    storeThreadsBusyMs: () => Readonly<Record<string, number>> | undefined = () => undefined,
  ) {
    const registers = [this.registry];
    this.requests = new RequestMetrics(this.registry);
    this.batchSize = new client.Histogram({
      name: 'spacekv_commit_batch_size', help: 'Writes per group-commit batch', registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    });
    this.batchSeconds = new client.Histogram({
      name: 'spacekv_commit_duration_seconds', help: 'Time to commit one batch durably', registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
    this.indexBuild = new client.Gauge({
      name: 'spacekv_index_build_objects', help: 'Objects indexed so far by the latest online index build of each space and attribute', registers,
      labelNames: ['space', 'attribute'],
    });
    new client.Gauge({
      name: 'spacekv_write_queue_depth', help: 'Writes waiting for the next batch', registers,
      collect() {
        this.set(writeQueueDepth());
      },
    });
    new client.Gauge({
      name: 'spacekv_reply_buffer_bytes', help: 'Bytes of replies and events held for clients that have not read them yet (bounded by replyBufferBytesMax)', registers,
      collect() {
        this.set(replyBufferBytes());
      },
    });
    new client.Counter({
      name: 'spacekv_store_retries_total',
      help: 'Write batches the store ran again (PostgreSQL): given up by the database to keep transactions serializable (SQLSTATE 40001/40P01), beaten to creating a key, or overtaken by a catalog change',
      registers,
      collect() {
        this.reset();
        this.inc(storeRetries());
      },
    });
    new client.Counter({
      name: 'spacekv_store_lock_held_seconds_total',
      help: 'Time committed write batches held the lock that orders commits across server processes, from its grant to COMMIT (PostgreSQL: the meta row)',
      registers,
      collect() {
        this.reset();
        this.inc((storeLockHold()?.heldMs ?? 0) / 1000);
      },
    });
    new client.Counter({
      name: 'spacekv_store_locked_batches_total', help: 'Write batches committed under that lock (PostgreSQL)', registers,
      collect() {
        this.reset();
        this.inc(storeLockHold()?.batches ?? 0);
      },
    });
    new client.Counter({
      name: 'spacekv_thread_busy_seconds_total',
      help: "Time each of the server's threads spent running rather than waiting for work: the event loop, and the store's own threads "
        + '(SQLite: its writer, whose time includes its fsyncs, and its search threads, summed). Its rate is the share of the time the '
        + 'thread was busy: a writer near 1 is what bounds write throughput, an event loop near 1 is what bounds everything else',
      labelNames: ['thread'], registers,
      collect() {
        this.reset();
        // The process's main thread since it started: in a process that runs several servers (tests), theirs is one event loop.
        this.inc({ thread: 'event_loop' }, performance.eventLoopUtilization().active / 1000);
        for (const [thread, ms] of Object.entries(storeThreadsBusyMs() ?? {})) this.inc({ thread }, ms / 1000);
      },
    });
    // The event-loop-delay monitor samples every 10 ms by default, which alone keeps an idle
    // server at ~1% CPU; sampling every 100 ms keeps the metric and lets the process sleep.
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  /** Count one answered request; `startedAt` is a performance.now() reading. */
  request(front: string, op: string, outcome: string, startedAt: number): void {
    this.requests.record(front, op, outcome, (performance.now() - startedAt) / 1000);
  }

  indexProgress(space: string, attribute: string, indexedObjects: number): void {
    this.indexBuild.set({ space, attribute }, indexedObjects);
  }

  batchCommitted(size: number, seconds: number): void {
    this.batchSize.observe(size);
    this.batchSeconds.observe(seconds);
  }
}
