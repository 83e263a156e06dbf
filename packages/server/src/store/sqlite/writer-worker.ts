/**
 * The writer thread: owns the only write connection to the data file, so fsync and long commits
 * never run on the event loop (docs/architecture.md §4.5). It answers one message at a time; the engine keeps
 * one batch in flight and fills the next meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type Limits, SpacekvError } from '@spacekv/core';
import { BatchExecutor } from './batch-executor.js';
import { ChangeLogWriter } from './change-log-writer.js';
import { IndexBuilder } from './index-builder.js';
import { migrate } from './layout.js';
import { unpackMembers } from './member-packing.js';
import { packOutcomes } from './outcome-packing.js';
import { Purger } from './purger.js';
import { configureStaging, configureWriter } from './pragmas.js';
import { LargeValueWriter } from './large-value-writer.js';
import type { FromWriter, IndexStepAnswer, ToWriter } from './writer-messages.js';

const { path, limits } = workerData as { path: string; limits: Limits };
const port = parentPort;
if (!port) throw new Error('writer-worker must run in a worker thread');

function post(message: FromWriter): void {
  port?.postMessage(message);
}

let db: Database.Database;
let executor: BatchExecutor;
let log: ChangeLogWriter;
let builder: IndexBuilder;
let purger: Purger;
let large: LargeValueWriter;
try {
  db = new Database(path);
  configureWriter(db);
  migrate(db);
  log = new ChangeLogWriter(db);
  executor = new BatchExecutor(db, limits, log);
  purger = new Purger(db);
  purger.abandonBuilds();
  builder = new IndexBuilder(db, executor.catalog, purger, log);
  const staging = new Database(path);
  configureStaging(staging);
  large = new LargeValueWriter(staging, (space, key) => executor.catalog.get(space)?.rows.read(key) ?? null);
  post({ type: 'ready', spaces: executor.catalog.list() });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
  process.exit(1);
}

/** Run a change-log request; a storage error answers that request alone and the writer goes on. */
function attempt(id: number, run: () => Omit<Extract<FromWriter, { type: 'done' }>, 'type' | 'id'>): FromWriter {
  try {
    return { type: 'done', id, ...run() };
  } catch (err) {
    return { type: 'done', id, error: (err as Error).message };
  }
}

port.on('message', (message: ToWriter) => {
  switch (message.type) {
    case 'batch': {
      const members = unpackMembers(message.members);
      post({ type: 'outcomes', id: message.id, outcomes: packOutcomes(members, executor.run(members)) });
      break;
    }
    case 'save_cursor':
      post(attempt(message.id, () => {
        log.saveCursor(message.name, message.seq);
        return {};
      }));
      break;
    case 'prune':
      post(attempt(message.id, () => ({ pruned: log.prune(message.rule, message.limit) })));
      break;
    case 'purge':
      post(attempt(message.id, () => ({ purged: purger.step(limits.purgeBatchRowsMax) })));
      break;
    case 'large':
      post(attempt(message.id, () => ({ gone: large.run(message.request) })));
      break;
    case 'index':
      post(indexStep(message));
      break;
    case 'close':
      large.close();
      db.close();
      post({ type: 'closed' });
      port.close();
      break;
  }
});

function indexStep(message: ToWriter & { type: 'index' }): FromWriter {
  const { id, space, createdSeq, attribute, request } = message;
  try {
    let answer: IndexStepAnswer;
    if (request.step === 'start') answer = { step: 'start', state: builder.start(space, createdSeq, attribute, limits.purgeBatchRowsMax) };
    else if (request.step === 'fill') answer = { step: 'fill', ...builder.fill(space, createdSeq, attribute, request.after, limits.indexBuildBatchRowsMax) };
    else if (request.step === 'finish') answer = { step: 'finish', schema: builder.finish(space, createdSeq, attribute) };
    else {
      builder.abort(space, attribute);
      answer = { step: 'abort' };
    }
    return { type: 'index', id, answer };
  } catch (err) {
    const fault = err instanceof SpacekvError ? err.toWire() : { code: 'unavailable' as const, message: `the index build failed: ${(err as Error).message}` };
    return { type: 'index_fault', id, fault };
  }
}
