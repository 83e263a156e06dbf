/**
 * A background task with a small lifecycle (start, stop, health, metrics), run in the server's one
 * event loop beside the fronts (the seed's single-thread asynchronous model). A task's body runs
 * until its signal aborts; a body that throws is restarted after an exponential backoff, and its
 * error shows in /healthz until it runs again. A body may also report itself degraded while it
 * runs (the AMQP relay while the broker is unreachable).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface TaskContext {
  /** Aborted when the task is stopped: the body finishes what it holds and returns. */
  readonly signal: AbortSignal;
  /** Say how the task is doing: `healthy` false shows it degraded in /healthz, `detail` says why. */
  report(healthy: boolean, detail: string): void;
  /** Count work done (objects swept, changes pruned, events published), for /metrics. */
  count(items: number): void;
}

export type TaskBody = (ctx: TaskContext) => Promise<void>;

export interface TaskStatus {
  /** `starting` until the body first reports itself healthy (an AMQP task: until it is connected). */
  readonly state: 'starting' | 'running' | 'degraded' | 'backoff' | 'stopped';
  readonly detail: string;
  readonly restarts: number;
  readonly items: number;
}

export interface TaskLogger {
  warn(fields: object, message: string): void;
}

export interface BackoffOptions {
  /** First pause after a failure; doubles up to `backoffMaxMs`. */
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { backoffMs: 100, backoffMaxMs: 10_000 };

export class BackgroundTask {
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private state: TaskStatus['state'] = 'stopped';
  private detail = 'not started';
  private restarts = 0;
  private items = 0;

  constructor(
    readonly name: string,
    private readonly body: TaskBody,
    private readonly logger: TaskLogger,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {}

  start(): void {
    if (this.running) return;
    const controller = new AbortController();
    this.controller = controller;
    this.running = this.supervise(controller.signal);
  }

  /** Abort the body and wait until it has returned. */
  async stop(): Promise<void> {
    this.controller?.abort();
    await this.running;
    this.running = undefined;
    this.state = 'stopped';
    this.detail = 'stopped';
  }

  status(): TaskStatus {
    return { state: this.state, detail: this.detail, restarts: this.restarts, items: this.items };
  }

  private async supervise(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      this.state = 'starting';
      this.detail = 'starting';
      try {
        await this.body(this.context(signal, () => {
          failures = 0; // it ran well after a failure: the next one starts the backoff afresh
        }));
        if (signal.aborted) return;
        throw new Error('the task returned before it was stopped');
      } catch (err) {
        if (signal.aborted) return;
        const pauseMs = Math.min(this.backoff.backoffMaxMs, this.backoff.backoffMs * 2 ** failures++);
        this.state = 'backoff';
        this.detail = `failed: ${(err as Error).message}; restarting in ${pauseMs} ms`;
        this.restarts++;
        this.logger.warn({ task: this.name, err, pauseMs }, 'a background task failed; restarting');
        await sleep(pauseMs, undefined, { signal }).catch(() => {});
      }
    }
  }

  private context(signal: AbortSignal, healthy: () => void): TaskContext {
    return {
      signal,
      report: (ok, detail) => {
        if (signal.aborted) return;
        this.state = ok ? 'running' : 'degraded';
        this.detail = detail;
        if (ok) healthy();
      },
      count: (items) => {
        this.items += items;
      },
    };
  }
}

/**
 * A body that runs `step` every `intervalMs` until stopped; a step that throws fails the task (and
 * it restarts with backoff). `step` answers whether there is more to do at once (a full batch), so
 * a backlog is worked off without waiting an interval between batches.
 */
export function periodic(intervalMs: number, step: (ctx: TaskContext) => Promise<boolean>): TaskBody {
  return async (ctx) => {
    while (!ctx.signal.aborted) {
      const more = await step(ctx);
      ctx.report(true, 'running');
      if (!more) await sleep(intervalMs, undefined, { signal: ctx.signal }).catch(() => {});
    }
  };
}
