/**
 * The one load generator of every HTTP step: autocannon, keep-alive connections, pipelining 1, so
 * the bare server and spacekv are measured by the same client doing the same work per request.
 * Each connection walks its own pre-built list of requests (random keys), which costs the client
 * nothing per request, unlike a `setupRequest` that rebuilds every request.
 */
import autocannon from 'autocannon';
import { CpuMeter } from './proc-stats.js';
import { mean, median } from './stats.js';

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  /**
   * A run of so many seconds, or of so many requests: the slices of a paired round (http-section.ts)
   * send a number of requests, so that each ends with none in flight. A timed run closes its
   * connections with a request outstanding on each, and a spacekv server's later requests cost more
   * after many such runs of puts (16 timed quarter-second runs of puts took a REST get from 18 to
   * 26 µs of server CPU; after 48 runs of a number of puts it stayed at 22).
   */
  readonly length: { readonly seconds: number } | { readonly requests: number };
  /** The requests connection number `client` cycles through. */
  readonly requestsFor: (client: number) => autocannon.Request[];
  /** The server's pid, to measure its CPU during the run. */
  readonly serverPid: number;
}

/**
 * autocannon's sampling interval for a run of a number of requests: it ends at the first sample
 * after its last response; a short interval keeps the idle wait short (it is not in `seconds`).
 */
const COUNTED_SAMPLE_MS = 20;

export interface LoadResult {
  /** Median of the per-second request counts (of joined slices: all their requests over all their time). */
  readonly reqPerSec: number;
  readonly meanReqPerSec: number;
  /** Requests completed, and the seconds from the start of the run to its last response. */
  readonly requests: number;
  readonly seconds: number;
  /** Set on slices joined into one result (joinLoads): how many. */
  readonly slices?: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly responses2xx: number;
  readonly non2xx: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  /** CPU of the server and of this (load-generating) process, % of one core. */
  readonly serverCpuPercent: number;
  readonly loaderCpuPercent: number;
  /**
   * Server CPU time per response, in microseconds: what a request costs the server whatever else
   * runs on the machine, so it still compares servers when contention skews req/s.
   */
  readonly serverCpuUsPerRequest: number;
  /** CPU the rest of the machine used meanwhile (other processes, kernel work not charged to either): contention to know about. */
  readonly otherCpuPercent: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let client = 0;
  const sampleMs = 'requests' in spec.length ? COUNTED_SAMPLE_MS : 1000;
  const perSecond = 1000 / sampleMs;
  const server = new CpuMeter(spec.serverPid);
  const loader = new CpuMeter(process.pid);
  const machine = new CpuMeter();
  const startedAt = performance.now();
  let lastResponseAt = startedAt;
  // Without a callback autocannon returns its instance, an event emitter that is also the promise of the result.
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    ...('requests' in spec.length ? { amount: spec.length.requests } : { duration: spec.length.seconds }),
    pipelining: 1,
    timeout: 10,
    sampleInt: sampleMs,
    setupClient: (c) => c.setRequests(spec.requestsFor(client++)),
  }) as Promise<autocannon.Result> & autocannon.Instance;
  instance.on('response', () => (lastResponseAt = performance.now()));
  const result = await instance;
  const serverCpuUsPerRequest = (server.seconds() * 1e6) / result.requests.total;
  const serverCpuPercent = server.percent();
  const loaderCpuPercent = loader.percent();
  const otherCpuPercent = Math.max(0, machine.percent() - serverCpuPercent - loaderCpuPercent);
  return {
    reqPerSec: result.requests.p50 * perSecond,
    meanReqPerSec: result.requests.average * perSecond,
    requests: result.requests.total,
    seconds: (lastResponseAt - startedAt) / 1000,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    responses2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    serverCpuPercent,
    serverCpuUsPerRequest,
    loaderCpuPercent,
    otherCpuPercent,
  };
}

/** A short unmeasured run first, so every server is measured with its code optimized and caches warm. */
export async function warmUp(spec: Omit<LoadSpec, 'length'>, seconds: number): Promise<LoadResult | undefined> {
  return seconds > 0 ? runLoad({ ...spec, length: { seconds } }) : undefined;
}

/** One figure of several rounds: the median of each measure; counts of failures are summed, so none hides. */
export function medianOfRounds(rounds: readonly LoadResult[]): LoadResult {
  const mid = (pick: (r: LoadResult) => number): number => median(rounds.map(pick));
  const sum = (pick: (r: LoadResult) => number): number => rounds.reduce((total, r) => total + pick(r), 0);
  return {
    reqPerSec: mid((r) => r.reqPerSec),
    meanReqPerSec: mid((r) => r.meanReqPerSec),
    requests: sum((r) => r.requests),
    seconds: sum((r) => r.seconds),
    p50Ms: mid((r) => r.p50Ms),
    p99Ms: mid((r) => r.p99Ms),
    responses2xx: sum((r) => r.responses2xx),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    serverCpuPercent: mid((r) => r.serverCpuPercent),
    serverCpuUsPerRequest: mid((r) => r.serverCpuUsPerRequest),
    loaderCpuPercent: mid((r) => r.loaderCpuPercent),
    otherCpuPercent: mid((r) => r.otherCpuPercent),
  };
}

/**
 * Slices of one run (paired.ts's slicedRound) as one result: all their requests over all their
 * time, the mean CPU per request (as steps 6 and 10 join theirs), and, as latencies cannot be
 * merged from percentiles, the median of the slices' p50 and p99; counts of failures summed.
 */
export function joinLoads(slices: readonly LoadResult[]): LoadResult {
  if (slices.length === 0) throw new RangeError('joinLoads needs at least one slice');
  const sum = (pick: (r: LoadResult) => number): number => slices.reduce((total, r) => total + pick(r), 0);
  const avg = (pick: (r: LoadResult) => number): number => mean(slices.map(pick));
  const requests = sum((r) => r.requests);
  const seconds = sum((r) => r.seconds);
  return {
    reqPerSec: requests / seconds,
    meanReqPerSec: requests / seconds,
    requests,
    seconds,
    p50Ms: median(slices.map((r) => r.p50Ms)),
    p99Ms: median(slices.map((r) => r.p99Ms)),
    responses2xx: sum((r) => r.responses2xx),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    serverCpuPercent: avg((r) => r.serverCpuPercent),
    serverCpuUsPerRequest: avg((r) => r.serverCpuUsPerRequest),
    loaderCpuPercent: avg((r) => r.loaderCpuPercent),
    otherCpuPercent: avg((r) => r.otherCpuPercent),
    slices: slices.length,
  };
}
