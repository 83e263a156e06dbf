/**
 * A write load for the process tests: `writers` concurrent loops, each writing, as fast as answers
 * come, a distinct key per iteration (`<prefix>-w<n>-<i>`, value i) and its own "latest" key
 * (`<prefix>-w<n>-latest`, value i). It records what was acknowledged (2xx), what was refused
 * (an answer other than 2xx), and what has an unknown outcome (a connection error), so that a test
 * can check, after a crash or a drain, exactly what the contract promises and nothing more.
 */
import http from 'node:http';
import { type RawReply, TimeoutError, objectPath, rawRequest } from './http.js';

export interface WriterRecord {
  readonly latestKey: string;
  /** Value of the last acknowledged write of the latest key. */
  lastAcked: number | undefined;
  /** Value of a latest-key write whose outcome is unknown (connection error); the writer stopped there. */
  unknown: number | undefined;
}

export interface LoadResult {
  /** key → value, for every write answered 2xx. */
  readonly acked: Map<string, number>;
  /** Distinct keys whose only write was answered with a failure status. */
  readonly refused: Map<string, RawReply>;
  /** Every answer other than 2xx, distinct and latest keys alike. */
  readonly refusals: RawReply[];
  readonly writers: readonly WriterRecord[];
  /** Requests that got neither an answer nor a connection error in time. */
  readonly hung: string[];
  readonly connectionErrors: string[];
  readonly statuses: Map<number, number>;
}

export interface RunningLoad {
  /** Writes acknowledged so far. */
  ackedCount(): number;
  /** Ask the writers to stop after their current request, and wait for them. */
  stop(): Promise<LoadResult>;
}

export function startLoad(url: string, space: string, prefix: string, writerCount: number, agent: http.Agent): RunningLoad {
  let running = true;
  const result: LoadResult = { acked: new Map(), refused: new Map(), refusals: [], writers: [], hung: [], connectionErrors: [], statuses: new Map() };

  type Outcome = { readonly kind: 'acked' } | { readonly kind: 'refused'; readonly reply: RawReply } | { readonly kind: 'unknown' };
  const put = async (key: string, value: number): Promise<Outcome> => {
    try {
      const reply = await rawRequest(`${url}${objectPath(space, key)}`, { method: 'PUT', agent, body: { n: value }, timeoutMs: 10_000 });
      result.statuses.set(reply.status, (result.statuses.get(reply.status) ?? 0) + 1);
      if (reply.status < 200 || reply.status >= 300) result.refusals.push(reply);
      return reply.status >= 200 && reply.status < 300 ? { kind: 'acked' } : { kind: 'refused', reply };
    } catch (err) {
      if (err instanceof TimeoutError) result.hung.push(`${key}: ${err.message}`);
      else result.connectionErrors.push(`${key}: ${(err as Error).message}`);
      return { kind: 'unknown' };
    }
  };

  const writer = async (w: number): Promise<void> => {
    const record: WriterRecord = { latestKey: `${prefix}-w${w}-latest`, lastAcked: undefined, unknown: undefined };
    (result.writers as WriterRecord[]).push(record);
    for (let i = 1; running; i++) {
      const key = `${prefix}-w${w}-${i}`;
      const outcome = await put(key, i);
      if (outcome.kind === 'unknown') return;
      if (outcome.kind === 'acked') result.acked.set(key, i);
      else result.refused.set(key, outcome.reply);
      const latest = await put(record.latestKey, i);
      if (latest.kind === 'acked') record.lastAcked = i;
      if (latest.kind === 'unknown') {
        record.unknown = i;
        return;
      }
    }
  };

  const done = Promise.all(Array.from({ length: writerCount }, (_, w) => writer(w)));
  return {
    ackedCount: () => result.acked.size,
    async stop() {
      running = false;
      await done;
      return result;
    },
  };
}

export interface ReadBack {
  /** key → value read (undefined when the object is absent). */
  readonly values: Map<string, number | undefined>;
  readonly failures: string[];
}

/** GET every key (32 at a time) and return its `n`, or undefined when the object is absent. */
export async function readBack(url: string, space: string, keys: readonly string[], agent: http.Agent): Promise<ReadBack> {
  const values = new Map<string, number | undefined>();
  const failures: string[] = [];
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const reply = await rawRequest(`${url}${objectPath(space, key)}`, { method: 'GET', agent, timeoutMs: 10_000 });
      if (reply.status === 404) values.set(key, undefined);
      else if (reply.status === 200) values.set(key, (JSON.parse(reply.text) as { attributes: { n: number } }).attributes.n);
      else failures.push(`${key}: HTTP ${reply.status} ${reply.text}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, reader));
  return { values, failures };
}
