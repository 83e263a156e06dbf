/**
 * The server's background tasks as one group: started after the fronts, stopped in order on
 * drain (the relay last, so it publishes what the sweeper's final deletions logged), reported in
 * /healthz and /metrics.
 */
import client from 'prom-client';
import type { BackgroundTask, TaskStatus } from './task.js';

export class TaskSet {
  constructor(private readonly tasks: readonly BackgroundTask[], registry: client.Registry) {
    const registers = [registry];
    const statuses = (): [string, TaskStatus][] => this.tasks.map((t) => [t.name, t.status()]);
    new client.Gauge({
      name: 'spacekv_task_up', help: 'Whether a background task is running (1), degraded (0.5) or failing/stopped (0)', labelNames: ['task'], registers,
      collect() {
        for (const [task, s] of statuses()) this.set({ task }, s.state === 'running' ? 1 : s.state === 'degraded' ? 0.5 : 0);
      },
    });
    new client.Gauge({
      name: 'spacekv_task_restarts', help: 'Times a background task failed and was restarted', labelNames: ['task'], registers,
      collect() {
        for (const [task, s] of statuses()) this.set({ task }, s.restarts);
      },
    });
    new client.Gauge({
      name: 'spacekv_task_items', help: 'Work a background task has done (events published, objects swept, changes pruned)', labelNames: ['task'], registers,
      collect() {
        for (const [task, s] of statuses()) this.set({ task }, s.items);
      },
    });
  }

  start(): void {
    for (const task of this.tasks) task.start();
  }

  /** Stop each task in turn, in the order given. */
  async stop(): Promise<void> {
    for (const task of this.tasks) await task.stop();
  }

  health(): Record<string, TaskStatus> {
    return Object.fromEntries(this.tasks.map((t) => [t.name, t.status()]));
  }

  /** Whether any task is failing or degraded. */
  get degraded(): boolean {
    return this.tasks.some((t) => t.status().state === 'backoff' || t.status().state === 'degraded');
  }
}
