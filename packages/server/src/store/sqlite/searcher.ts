/**
 * The engine's thread's handle on the search threads (search-worker.ts): posts plans, matches
 * answers to requests by id. There are SEARCH_THREADS of them, each with its own read-only
 * connection, and a request goes to the one with the least outstanding, so one long scan or count
 * does not hold every other search behind it. A thread that dies fails what it was running
 * (`unavailable`) and is started again for the next request.
 */
import { Worker } from 'node:worker_threads';
import { type EncodedSearchPage, type Limits, type SearchPage, type SearchPlan, SpacekvError } from '@spacekv/core';
import { ThreadClock } from '../thread-clock.js';
import type { FromSearcher, ToSearcher } from './search-messages.js';

/** Enough that a long scan leaves another thread for everyone else; scans are CPU-bound, so no more. */
const SEARCH_THREADS = 2;

interface Pending {
  readonly resolve: (answer: FromSearcher) => void;
  readonly reject: (err: Error) => void;
}

class SearchThread {
  private worker: Worker | undefined;
  readonly pending = new Map<number, Pending>();
  readonly clock = new ThreadClock();

  constructor(private readonly path: string, private readonly limits: Limits) {}

  post(message: ToSearcher & { id: number }, pending: Pending): void {
    this.pending.set(message.id, pending);
    this.started().postMessage(message);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToSearcher);
    await exited;
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
      this.clock.retire(worker);
      for (const pending of this.pending.values()) pending.reject(new SpacekvError('unavailable', `the search thread stopped: ${err.message}`));
      this.pending.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`exit code ${code}`)));
    this.worker = worker;
    this.clock.track(worker);
    return worker;
  }
}

export class Searcher {
  private readonly threads: SearchThread[];
  private nextId = 1;

  constructor(path: string, limits: Limits) {
    this.threads = Array.from({ length: SEARCH_THREADS }, () => new SearchThread(path, limits));
  }

  async search(plan: SearchPlan): Promise<SearchPage> {
    const answer = await this.ask('search', plan);
    if (answer.type !== 'page') throw new SpacekvError('internal', `the search thread answered a search with ${answer.type}`);
    return answer.page;
  }

  /** A search whose objects the search thread writes as the reply's text (store.ts `searchEncoded`). */
  async searchEncoded(plan: SearchPlan): Promise<EncodedSearchPage> {
    const answer = await this.ask('search_encoded', plan);
    if (answer.type !== 'encoded_page') throw new SpacekvError('internal', `the search thread answered an encoded search with ${answer.type}`);
    return answer.page;
  }

  async count(plan: SearchPlan): Promise<number> {
    const answer = await this.ask('count', plan);
    if (answer.type !== 'count') throw new SpacekvError('internal', `the search thread answered a count with ${answer.type}`);
    return answer.count;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.close()));
  }

  /** How long the search threads have been busy since open, in ms, summed. */
  busyMs(): number {
    return this.threads.reduce((sum, thread) => sum + thread.clock.busyMs(), 0);
  }

  private ask(type: 'search' | 'search_encoded' | 'count', plan: SearchPlan): Promise<FromSearcher> {
    const id = this.nextId++;
    const thread = this.threads.reduce((best, t) => (t.pending.size < best.pending.size ? t : best));
    return new Promise<FromSearcher>((resolve, reject) => thread.post({ type, id, plan }, { resolve, reject })).then((answer) => {
      if (answer.type === 'fault') throw new SpacekvError(answer.fault.code, answer.fault.message, answer.fault);
      return answer;
    });
  }
}
