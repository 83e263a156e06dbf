/**
 * The search thread: runs search plans and counts on its own read-only connection, one message at
 * a time, so scans of any length stay off the event loop (docs/architecture.md §4.5). Point reads stay on the
 * main thread's reader (reader.ts), which a long scan here never delays.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type Limits, SpacekvError, encodeSearchPage } from '@spacekv/core';
import { configureReader } from './pragmas.js';
import { SearchExecutor } from './search-executor.js';
import type { FromSearcher, ToSearcher } from './search-messages.js';

const { path, limits } = workerData as { path: string; limits: Limits };
const port = parentPort;
if (!port) throw new Error('search-worker must run in a worker thread');

const db = new Database(path, { readonly: true, fileMustExist: true });
configureReader(db);
const executor = new SearchExecutor(db, limits);

function answer(message: Exclude<ToSearcher, { type: 'close' }>): FromSearcher {
  try {
    switch (message.type) {
      case 'search':
        return { type: 'page', id: message.id, page: executor.search(message.plan) };
      case 'search_encoded':
        return { type: 'encoded_page', id: message.id, page: encodeSearchPage(executor.search(message.plan)) };
      case 'count':
        return { type: 'count', id: message.id, count: executor.count(message.plan) };
    }
  } catch (err) {
    const fault = err instanceof SpacekvError ? err.toWire() : { code: 'internal' as const, message: `search failed: ${(err as Error).message}` };
    return { type: 'fault', id: message.id, fault };
  }
}

port.on('message', (message: ToSearcher) => {
  if (message.type === 'close') {
    db.close();
    port.close();
    return;
  }
  port.postMessage(answer(message));
});
