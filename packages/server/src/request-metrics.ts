/**
 * Request counts and latencies, recorded on the hot path at the cost of three map lookups and a few
 * additions. prom-client's Counter and Histogram hash their label set on every `inc`/`observe`
 * (its `labels()` children only bind the labels), which cost more than the rest of a point read's
 * bookkeeping; here each series is found by its label strings and its numbers are plain fields.
 * The registry reads them at scrape time through prom-client's metric interface.
 */
import type { Registry } from 'prom-client';

const BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

interface Series {
  readonly labels: { readonly front: string; readonly op: string; readonly outcome: string };
  count: number;
  sum: number;
  /** Observations at or below each bucket's bound, not cumulative (cumulated at scrape). */
  readonly buckets: number[];
}

interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

export class RequestMetrics {
  /** Every series, for scrapes. */
  private readonly series: Series[] = [];
  /**
   * The same series by front, operation and outcome: three lookups of constant (interned) strings
   * cost less than building one key string per request and hashing it.
   */
  private readonly byLabels = new Map<string, Map<string, Map<string, Series>>>();

  constructor(registry: Registry) {
    registry.registerMetric(this.metric('spacekv_requests_total', 'Operations answered, by front, operation and outcome code', 'counter',
      () => this.series.map((s) => ({ value: s.count, labels: s.labels }))) as never);
    registry.registerMetric(this.metric('spacekv_request_duration_seconds', 'Time from a request being parsed to its reply, by front, operation and outcome', 'histogram',
      () => this.series.flatMap((s) => histogramValues(s))) as never);
  }

  record(front: string, op: string, outcome: string, seconds: number): void {
    const series = this.byLabels.get(front)?.get(op)?.get(outcome) ?? this.create(front, op, outcome);
    series.count++;
    series.sum += seconds;
    const bucket = bucketOf(seconds);
    if (bucket >= 0) (series.buckets[bucket] as number)++;
  }

  private create(front: string, op: string, outcome: string): Series {
    const series: Series = { labels: { front, op, outcome }, count: 0, sum: 0, buckets: BUCKETS_SECONDS.map(() => 0) };
    this.series.push(series);
    let ops = this.byLabels.get(front);
    if (!ops) this.byLabels.set(front, (ops = new Map()));
    let outcomes = ops.get(op);
    if (!outcomes) ops.set(op, (outcomes = new Map()));
    outcomes.set(outcome, series);
    return series;
  }

  /** The shape prom-client's registry reads from a metric. */
  private metric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]) {
    return {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => {
        this.series.length = 0;
        this.byLabels.clear();
      },
    };
  }
}

/** The first bucket whose bound holds `seconds`, or -1 (a plain loop: this runs on every request, where findIndex would allocate its callback). */
function bucketOf(seconds: number): number {
  for (let i = 0; i < BUCKETS_SECONDS.length; i++) if (seconds <= (BUCKETS_SECONDS[i] as number)) return i;
  return -1;
}

function histogramValues(series: Series): MetricValue[] {
  const out: MetricValue[] = [];
  let cumulative = 0;
  BUCKETS_SECONDS.forEach((bound, i) => {
    cumulative += series.buckets[i] as number;
    out.push({ metricName: 'spacekv_request_duration_seconds_bucket', labels: { ...series.labels, le: bound }, value: cumulative });
  });
  out.push({ metricName: 'spacekv_request_duration_seconds_bucket', labels: { ...series.labels, le: '+Inf' }, value: series.count });
  out.push({ metricName: 'spacekv_request_duration_seconds_sum', labels: series.labels, value: series.sum });
  out.push({ metricName: 'spacekv_request_duration_seconds_count', labels: series.labels, value: series.count });
  return out;
}
