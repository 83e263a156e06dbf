/**
 * Durable puts without HTTP: spacekv's Engine over its SqliteStore (group commit vs one commit per
 * write), beside raw better-sqlite3 doing the same upserts into the same table shape with the same
 * durability (WAL, synchronous=FULL). The raw figures are the peer: what SQLite itself can do here,
 * so the engine's overhead and group commit's gain are both visible.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_LIMITS, type Operation, parseSchemaDsl } from '@spacekv/core';
import { Engine, SqliteStore } from 'spacekv';
import { SCHEMA_DSL, SPACE, VALUE_JSON, keyName } from './rest-fixtures.js';
import { mean, percentile } from './stats.js';

export interface WriteFigure {
  readonly writes: number;
  readonly opsPerSec: number;
  /** Per-write latency as a writer sees it; absent where writes are not awaited one by one. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Writes per commit: observed for the engine, chosen for raw SQLite. */
  readonly meanBatch: number;
}

export interface EngineFigures {
  readonly groupCommit: WriteFigure;
  readonly commitPerWrite: WriteFigure;
}

const FIELD0 = (JSON.parse(VALUE_JSON) as { field0: string }).field0;

function putOp(keys: number): Operation {
  return { op: 'put', space: SPACE, key: keyName(Math.floor(Math.random() * keys)), attributes: { field0: FIELD0 } };
}

/**
 * `writers` closed-loop writers, each with its own session awaiting its put before sending the next,
 * share `groupWrites` puts; then one writer awaits `serialWrites` puts one at a time.
 */
export async function engineWorkloads(dir: string, groupWrites: number, writers: number, serialWrites: number): Promise<EngineFigures> {
  const batches: number[] = [];
  const engine = new Engine({
    store: new SqliteStore(dir, DEFAULT_LIMITS),
    limits: DEFAULT_LIMITS,
    observer: { batchCommitted: (size) => batches.push(size) },
  });
  await engine.start();
  try {
    const created = await engine.session().execute({ op: 'add_space', schema: parseSchemaDsl(SCHEMA_DSL, DEFAULT_LIMITS) });
    if (!created.ok) throw new Error(`add_space failed: ${created.code} ${created.message}`);
    batches.length = 0;
    const groupCommit = await timedWriters(engine, groupWrites, writers, groupWrites);
    const groupBatches = batches.splice(0);
    const commitPerWrite = await timedWriters(engine, serialWrites, 1, groupWrites);
    return {
      groupCommit: { ...groupCommit, meanBatch: mean(groupBatches) },
      commitPerWrite: { ...commitPerWrite, meanBatch: mean(batches) },
    };
  } finally {
    await engine.close();
  }
}

async function timedWriters(engine: Engine, writes: number, writers: number, keys: number): Promise<Omit<WriteFigure, 'meanBatch'>> {
  const latencies = new Float64Array(writes);
  let next = 0;
  const writer = async (): Promise<void> => {
    const session = engine.session();
    while (next < writes) {
      const i = next++;
      const sent = performance.now();
      const result = await session.execute(putOp(keys));
      latencies[i] = performance.now() - sent;
      if (!result.ok) throw new Error(`put failed: ${result.code} ${result.message}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  const seconds = (performance.now() - started) / 1000;
  return { writes, opsPerSec: writes / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

export interface RawFigures {
  readonly transactionPerWrite: WriteFigure;
  readonly batched: WriteFigure;
}

/** The same upserts straight into better-sqlite3: one autocommit transaction each, then `batch` per transaction. */
export function rawSqliteWorkloads(dir: string, batchWrites: number, batch: number, serialWrites: number): RawFigures {
  return {
    transactionPerWrite: rawUpserts(join(dir, 'raw-per-write.db'), serialWrites, 1, batchWrites),
    batched: rawUpserts(join(dir, 'raw-batched.db'), batchWrites, batch, batchWrites),
  };
}

/** `writes` upserts of random keys among `keys`, `batch` per transaction. */
function rawUpserts(path: string, writes: number, batch: number, keys: number): WriteFigure {
  const db = new Database(path);
  try {
    // Set explicitly, as spacekv's writer does (store/sqlite/pragmas.ts): these two decide what a commit costs.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // The table of a space with a string key (store/sqlite/layout.ts).
    db.exec('CREATE TABLE s (key TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, expires_at INTEGER, attrs TEXT NOT NULL) STRICT, WITHOUT ROWID');
    const upsert = db.prepare('INSERT OR REPLACE INTO s (key, version, expires_at, attrs) VALUES (?, ?, NULL, ?)');
    const runBatch = db.transaction((first: number, count: number) => {
      for (let i = first; i < first + count; i++) upsert.run(keyName(Math.floor(Math.random() * keys)), i + 1, VALUE_JSON);
    });
    const started = performance.now();
    for (let first = 0; first < writes; first += batch) {
      const count = Math.min(batch, writes - first);
      if (count === 1) upsert.run(keyName(Math.floor(Math.random() * keys)), first + 1, VALUE_JSON); // autocommit: its own durable transaction
      else runBatch(first, count);
    }
    const seconds = (performance.now() - started) / 1000;
    return { writes, opsPerSec: writes / seconds, meanBatch: batch };
  } finally {
    db.close();
  }
}
