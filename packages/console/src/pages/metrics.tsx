/**
 * Metrics of the last minutes, from the server's /metrics: throughput, request latency
 * percentiles, writes per group commit, write queue depth, event-loop delay, and how busy the
 * event loop and the store's threads were (the busiest one is what bounds the throughput). The page scrapes
 * every few seconds (one small request: a loaded server does not notice) and keeps a bounded window.
 */
import { CONSOLE_LIMITS } from '@spacekv/core';
import { useEffect, useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { Chart } from '../chart.js';
import { ErrorLine } from '../ui.js';
import { type Sample, buckets, parseMetrics, quantileBetween, total } from '../prometheus.js';

const { metricsScrapeIntervalMs: SCRAPE_INTERVAL_MS, chartPointsMax: WINDOW_POINTS } = CONSOLE_LIMITS;

/** One point of every chart, from two consecutive scrapes. */
interface Point {
  readonly at: number;
  readonly opsPerSecond: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly writesPerCommit: number | null;
  readonly queueDepth: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMeanMs: number;
  /** Percent of the time between the scrapes each thread was busy; null for a thread the server does not have (PostgreSQL: no writer or search threads). */
  readonly eventLoopBusy: number | null;
  readonly writerBusy: number | null;
  readonly searchBusy: number | null;
}

/** Percent of `seconds` that `thread` was busy between two scrapes; null when the server reports no such thread. */
function busyBetween(before: readonly Sample[], after: readonly Sample[], thread: string, seconds: number): number | null {
  const name = 'spacekv_thread_busy_seconds_total';
  if (!after.some((s) => s.name === name && s.labels.thread === thread)) return null;
  const busy = total(after, name, { thread }) - total(before, name, { thread });
  return busy >= 0 ? (busy / seconds) * 100 : null;
}

function pointBetween(before: { at: number; samples: readonly Sample[] }, after: { at: number; samples: readonly Sample[] }): Point {
  const seconds = (after.at - before.at) / 1000;
  const requests = total(after.samples, 'spacekv_requests_total') - total(before.samples, 'spacekv_requests_total');
  const latencyBefore = buckets(before.samples, 'spacekv_request_duration_seconds');
  const latencyAfter = buckets(after.samples, 'spacekv_request_duration_seconds');
  const commits = total(after.samples, 'spacekv_commit_batch_size_count') - total(before.samples, 'spacekv_commit_batch_size_count');
  const writes = total(after.samples, 'spacekv_commit_batch_size_sum') - total(before.samples, 'spacekv_commit_batch_size_sum');
  const ms = (s: number | undefined) => (s === undefined ? null : s * 1000);
  return {
    at: after.at / 1000,
    opsPerSecond: requests >= 0 ? requests / seconds : null,
    p50Ms: ms(quantileBetween(latencyBefore, latencyAfter, 0.5)),
    p99Ms: ms(quantileBetween(latencyBefore, latencyAfter, 0.99)),
    writesPerCommit: commits > 0 ? writes / commits : null,
    queueDepth: total(after.samples, 'spacekv_write_queue_depth'),
    loopDelayP99Ms: total(after.samples, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    loopDelayMeanMs: total(after.samples, 'nodejs_eventloop_lag_mean_seconds') * 1000,
    eventLoopBusy: busyBetween(before.samples, after.samples, 'event_loop', seconds),
    writerBusy: busyBetween(before.samples, after.samples, 'writer', seconds),
    searchBusy: busyBetween(before.samples, after.samples, 'search', seconds),
  };
}

function columns(points: readonly Point[], ...fields: (keyof Point)[]): (number | null)[][] {
  return [points.map((p) => p.at), ...fields.map((f) => points.map((p) => p[f]))];
}

function format(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined ? '–' : n.toFixed(digits);
}

export function MetricsPage({ session }: { readonly session: Session }) {
  const [points, setPoints] = useState<readonly Point[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let previous: { at: number; samples: readonly Sample[] } | undefined;
    let stopped = false;
    const scrape = async () => {
      try {
        const scraped = { at: Date.now(), samples: parseMetrics(await session.fetchText('/metrics')) };
        if (stopped) return;
        if (previous) {
          const point = pointBetween(previous, scraped);
          setPoints((p) => [...p, point].slice(-WINDOW_POINTS));
        }
        previous = scraped;
        setError(undefined);
      } catch (err) {
        if (!stopped) setError(err);
      }
    };
    void scrape();
    const timer = setInterval(() => void scrape(), SCRAPE_INTERVAL_MS);
    return () => { stopped = true; clearInterval(timer); };
  }, [session]);

  const last = points[points.length - 1];
  return (
    <>
      <h1>Metrics</h1>
      <p class="hint">From <code>/metrics</code> every {SCRAPE_INTERVAL_MS / 1000} s; the last {(WINDOW_POINTS * SCRAPE_INTERVAL_MS) / 60_000} minutes.</p>
      <ErrorLine error={error} />
      <dl class="figures" aria-label="latest">
        <div><dt>Throughput</dt><dd data-metric="throughput">{format(last?.opsPerSecond)} ops/s</dd></div>
        <div><dt>Latency p50 / p99</dt><dd data-metric="latency">{format(last?.p50Ms, 2)} / {format(last?.p99Ms, 2)} ms</dd></div>
        <div><dt>Writes per commit</dt><dd data-metric="batch">{format(last?.writesPerCommit)}</dd></div>
        <div><dt>Write queue</dt><dd data-metric="queue">{format(last?.queueDepth, 0)}</dd></div>
        <div><dt>Event-loop delay p99</dt><dd data-metric="loop">{format(last?.loopDelayP99Ms, 2)} ms</dd></div>
        <div><dt>Event loop / writer busy</dt><dd data-metric="busy">{format(last?.eventLoopBusy, 0)} / {format(last?.writerBusy, 0)} %</dd></div>
      </dl>
      <div class="charts">
        <Chart title="Throughput" unit="ops/s" series={['ops/s']} data={columns(points, 'opsPerSecond')} />
        <Chart title="Request latency" unit="ms" series={['p50', 'p99']} data={columns(points, 'p50Ms', 'p99Ms')} />
        <Chart title="Writes per commit" unit="writes" series={['mean']} data={columns(points, 'writesPerCommit')} />
        <Chart title="Write queue depth" unit="writes" series={['waiting']} data={columns(points, 'queueDepth')} />
        <Chart title="Event-loop delay" unit="ms" series={['p99', 'mean']} data={columns(points, 'loopDelayP99Ms', 'loopDelayMeanMs')} />
        <Chart title="Threads busy" unit="%" series={['event loop', 'writer', 'search threads (summed)']} data={columns(points, 'eventLoopBusy', 'writerBusy', 'searchBusy')} />
      </div>
    </>
  );
}
