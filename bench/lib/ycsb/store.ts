/**
 * What every YCSB peer implements: the four operations of YCSB's DB interface (read, update, insert,
 * scan), a bulk load, and where its work runs (the server processes whose CPU and memory count, or
 * none when it runs inside the bench process). The workload code drives every peer through this and
 * nothing else, so no peer gets a cheaper loop than another.
 */
import type { ServerCounters } from '../rest-fixtures.js';
import type { Fields } from './workload.js';

export interface YcsbStore {
  /** Versions and durability settings as the peer reports them, for the report. */
  readonly detail: string;
  /** Processes doing the store's work, for CPU and RSS; empty when it runs in the bench process. */
  serverPids(): Promise<readonly number[]>;
  /** Why this peer cannot run workload E's scans, or undefined when it can. */
  readonly scanUnsupported: string | undefined;
  /** Write these records (not measured); may batch as the peer does best. */
  load(records: readonly (readonly [string, Fields])[]): Promise<void>;
  /** The record's fields, or null when absent. */
  read(key: string): Promise<Fields | null>;
  /** Write one field of an existing record. */
  update(key: string, field: string, value: string): Promise<void>;
  insert(key: string, fields: Fields): Promise<void>;
  /** Read up to `count` records in key order from `startKey` on; resolves with how many came back. */
  scan(startKey: string, count: number): Promise<number>;
  /**
   * Only for a peer with group commit (spacekv): writes and durable commits so far, and how long
   * each server thread has been busy so far, in seconds, by thread; from one reading of its metrics.
   */
  serverCounters?(): Promise<ServerCounters>;
  /**
   * Only for a peer run under a profiler: end the current profiles (named for `label`, e.g. the
   * workload just run) and start new ones, keeping the data; resolves with the profiles' paths,
   * one per thread of the server, the main thread first.
   */
  cutProfile?(label: string): Promise<readonly string[]>;
  /** Drop what this run created and stop what it started. */
  close(): Promise<void>;
}

export interface YcsbPeer {
  /** Short stable id for --peers and the report ("spacekv", "redis", ...). */
  readonly id: string;
  /** How tables and charts name it. */
  readonly name: string;
  /** Where the store runs and what a write waits for, in a few words. */
  readonly durability: string;
  /** Start or connect; `dir` is this peer's own empty directory for any files. A peer that cannot run here says why. */
  open(dir: string): Promise<YcsbStore | { readonly skipped: string }>;
}

export function isSkipped(opened: YcsbStore | { readonly skipped: string }): opened is { readonly skipped: string } {
  return 'skipped' in opened;
}

/** The first line of an error's message, for a skip reason or a problem line. */
export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n', 1)[0] ?? message;
}
