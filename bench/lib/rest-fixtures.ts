/**
 * The data of the REST steps: one space `bench` with one string attribute, keys `k0000000`...,
 * and values whose attributes JSON is exactly 100 bytes (the size of the bare server's body).
 */
import { Agent, request } from 'node:http';
import type autocannon from 'autocannon';

export const SPACE = 'bench';
export const SCHEMA_DSL = `space ${SPACE} key k attributes string field0`;
export const VALUE_BYTES = 100;

/** `{"field0":"vvv…"}`, exactly VALUE_BYTES long. */
export const VALUE_JSON = (() => {
  const shell = JSON.stringify({ field0: '' });
  return JSON.stringify({ field0: 'v'.repeat(VALUE_BYTES - shell.length) });
})();

/** Requests per connection before it starts its list over; enough that connections rarely collide on a key. */
const REQUESTS_PER_CLIENT = 256;
const JSON_HEADERS = { 'content-type': 'application/json' };

export function keyName(i: number): string {
  return `k${String(i).padStart(7, '0')}`;
}

function objectPath(i: number): string {
  return `/v1/spaces/${SPACE}/objects/${keyName(i)}`;
}

function randomKeyIndex(keys: number): number {
  return Math.floor(Math.random() * keys);
}

/** The Authorization header of `token`, or none. */
export function authHeaders(token?: string): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

export function randomGets(keys: number, token?: string): autocannon.Request[] {
  const headers = authHeaders(token);
  return Array.from({ length: REQUESTS_PER_CLIENT }, () => ({ method: 'GET', path: objectPath(randomKeyIndex(keys)), headers }));
}

export function randomPuts(keys: number, token?: string): autocannon.Request[] {
  const headers = { ...JSON_HEADERS, ...authHeaders(token) };
  return Array.from({ length: REQUESTS_PER_CLIENT }, () => ({
    method: 'PUT', path: objectPath(randomKeyIndex(keys)), headers, body: VALUE_JSON,
  }));
}

export async function createSpace(url: string, token?: string): Promise<void> {
  const response = await fetch(`${url}/v1/spaces`, {
    method: 'POST', headers: { ...JSON_HEADERS, ...authHeaders(token) }, body: JSON.stringify({ schema: SCHEMA_DSL }),
  });
  if (!response.ok) throw new Error(`creating space '${SPACE}' answered ${response.status}: ${await response.text()}`);
}

/**
 * Put keys 0..keys-1 through the REST front, `concurrency` requests at a time (so it group-commits).
 * node:http with a keep-alive agent rather than fetch: on Node 20 fetch costs the client several
 * times more per request, which made pre-loading take longer than the measured steps.
 */
export async function preload(url: string, keys: number, concurrency: number, token?: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys) {
      const i = next++;
      const { status, body } = await send(agent, `${url}${objectPath(i)}`, 'PUT', VALUE_JSON, token);
      if (status !== 200 && status !== 201) throw new Error(`pre-loading ${keyName(i)} answered ${status}: ${body}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
}

function send(agent: Agent, url: string, method: string, body: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...JSON_HEADERS, ...authHeaders(token), 'content-length': String(Buffer.byteLength(body)) };
    const outgoing = request(url, { method, agent, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.once('error', reject);
    });
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

export interface CommitCounters {
  /** Writes committed so far, and the batches they were committed in. */
  readonly writes: number;
  readonly batches: number;
}

/** The Prometheus text the server at `url` serves at /metrics. */
async function metricsText(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  if (!response.ok) throw new Error(`/metrics answered ${response.status}: ${text}`);
  return text;
}

/** The values of the Prometheus samples `names` (unlabelled) in /metrics text; NaN for one it lacks (an older build). */
function samplesIn(text: string, names: readonly string[]): number[] {
  return names.map((name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN));
}

/** The values of the Prometheus samples `names` (unlabelled) that the server at `url` serves at /metrics; NaN for one it does not serve (an older build). */
export async function servedMetricSamples(url: string, names: readonly string[]): Promise<number[]> {
  return samplesIn(await metricsText(url), names);
}

const COMMIT_SAMPLES = ['spacekv_commit_batch_size_sum', 'spacekv_commit_batch_size_count'] as const;

/**
 * The server's own group-commit counters in /metrics text, from its Prometheus histogram
 * `spacekv_commit_batch_size` (its _sum is writes, its _count batches); both required.
 */
function commitCountersIn(text: string): CommitCounters {
  const values = samplesIn(text, COMMIT_SAMPLES);
  const missing = COMMIT_SAMPLES.filter((_, i) => Number.isNaN(values[i]));
  if (missing.length > 0) throw new Error(`/metrics has no ${missing.join(', ')}`);
  const [writes = 0, batches = 0] = values;
  return { writes, batches };
}

/** The server's group-commit counters: how many writes each durable commit carried. */
export async function commitCounters(url: string): Promise<CommitCounters> {
  return commitCountersIn(await metricsText(url));
}

export interface ServerCounters extends CommitCounters {
  /**
   * How long each of the server's threads has been busy so far, in seconds, by thread (`event_loop`,
   * `writer`, `search`), from `spacekv_thread_busy_seconds_total`; empty from a build that lacks it.
   */
  readonly threadsBusy: Readonly<Record<string, number>>;
}

/** The group-commit counters and the threads' busy time, from one reading of /metrics. */
export async function serverCounters(url: string): Promise<ServerCounters> {
  const text = await metricsText(url);
  const threadsBusy = Object.fromEntries([...text.matchAll(/^spacekv_thread_busy_seconds_total\{thread="(\w+)"\} (\S+)$/gm)].map(([, thread, value]) => [thread, Number(value)]));
  return { ...commitCountersIn(text), threadsBusy };
}
