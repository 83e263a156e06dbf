/**
 * The engine's thread's handle on the search thread (search-worker.ts): posts plans, matches
 * answers to requests by id. A search thread that dies fails what it was running (`unavailable`)
 * and is started again for the next request.
 */
import { Worker } from 'node:worker_threads';
import { type Limits, type SearchPage, type SearchPlan, SpacekvError } from '@spacekv/core';
import type { FromSearcher, ToSearcher } from './search-messages.js';

interface Pending {
  readonly resolve: (answer: FromSearcher) => void;
  readonly reject: (err: Error) => void;
}

export class Searcher {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly path: string, private readonly limits: Limits) {}

  async search(plan: SearchPlan): Promise<SearchPage> {
    const answer = await this.ask('search', plan);
    if (answer.type !== 'page') throw new SpacekvError('internal', 'the search thread answered a search with a count');
    return answer.page;
  }

  async count(plan: SearchPlan): Promise<number> {
    const answer = await this.ask('count', plan);
    if (answer.type !== 'count') throw new SpacekvError('internal', 'the search thread answered a count with a page');
    return answer.count;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToSearcher);
    await exited;
  }

  private ask(type: 'search' | 'count', plan: SearchPlan): Promise<FromSearcher> {
    const id = this.nextId++;
    const answered = new Promise<FromSearcher>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.started().postMessage({ type, id, plan } satisfies ToSearcher);
    return answered.then((answer) => {
      if (answer.type === 'fault') throw new SpacekvError(answer.fault.code, answer.fault.message, answer.fault);
      return answer;
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./search-worker.js', import.meta.url), { workerData: { path: this.path, limits: this.limits } });
    worker.on('message', (answer: FromSearcher) => {
      const pending = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      pending?.resolve(answer);
    });
    const lost = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const pending of this.pending.values()) pending.reject(new SpacekvError('unavailable', `the search thread stopped: ${err.message}`));
      this.pending.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`exit code ${code}`)));
    this.worker = worker;
    return worker;
  }
}
