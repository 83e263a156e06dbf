// Shared by the layout tests and the purge child process: an engine over a SqliteStore whose purge
// the test drives by hand (no server, so no background task runs it behind the test's back), and
// small readers of the data file through a connection of the test's own.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { type Limits, type Result, parseJson, parseOperation, stringifyJson } from '@spacekv/core';
import { Engine } from '../../src/engine/engine.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** What purge-child.ts does before it waits for its SIGKILL. */
export const PURGE_CHILD = { rows: 2000, sliceRows: 100, steps: 3 } as const;

/** An engine over a SqliteStore in `dir`, fed wire JSON as a front feeds it. */
export class LayoutFixture {
  private constructor(readonly store: SqliteStore, readonly engine: Engine, private readonly limits: Limits) {}

  static async open(dir: string, limits: Limits): Promise<LayoutFixture> {
    const store = new SqliteStore(dir, limits);
    const engine = new Engine({ store, limits });
    await engine.start();
    return new LayoutFixture(store, engine, limits);
  }

  run(wire: { readonly op: string; readonly [field: string]: unknown }): Promise<Result> {
    try {
      return this.engine.session().execute(parseOperation(parseJson(stringifyJson(wire)), (name) => this.engine.space(name), this.limits));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Purge until nothing is left; returns the number of slices it took. */
  async purgeAll(): Promise<number> {
    let slices = 0;
    for (let more = true; more; slices++) more = (await this.store.purgeRemoved()).more;
    return slices;
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

/** Put `n` objects `k<i>` (attribute `n` = i) into `space`, in txs of `perTx`. */
export async function fill(fx: LayoutFixture, space: string, n: number, perTx = 1000): Promise<void> {
  for (let from = 0; from < n; from += perTx) {
    const ops = Array.from({ length: Math.min(perTx, n - from) }, (_, i) => ({ op: 'put', space, key: `k${from + i}`, attributes: { n: from + i } }));
    const result = await fx.run({ op: 'tx', ops });
    assert.ok(result.ok, `fill ${space}: ${JSON.stringify(result)}`);
  }
}

/** A read of the data file on a connection of its own (the store's readers are not the test's to use). */
export function inFile<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Rows left of space id `id`: objects and index entries; and the purges pending. */
export function leftOf(path: string, id: number): { objects: number; entries: number; purges: number } {
  return inFile(path, (db) => ({
    objects: db.prepare('SELECT count(*) FROM objects WHERE space_id = ?').pluck().get(id) as number,
    entries: db.prepare('SELECT count(*) FROM index_entries WHERE space_id = ?').pluck().get(id) as number,
    purges: db.prepare('SELECT count(*) FROM purges').pluck().get() as number,
  }));
}

export function spaceIdOf(path: string, name: string): number {
  return inFile(path, (db) => db.prepare('SELECT id FROM spaces WHERE name = ?').pluck().get(name) as number);
}

export function countOf(result: Result): number {
  if (!result.ok || result.kind !== 'count') return assert.fail(`expected a count, got ${JSON.stringify(result)}`);
  return result.count;
}
