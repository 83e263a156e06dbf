/**
 * Preloaded into the spacekv server under test (`node --import`): samples the server's event-loop
 * delay with perf_hooks.monitorEventLoopDelay at 1 ms resolution. On SIGUSR2 it writes what it saw
 * since the previous SIGUSR2 (p50, p99, max, in ms, the resolution subtracted) as JSON to the file
 * named by SPACEKV_LOOP_PROBE_FILE, then starts afresh: the benchmark brackets a workload with two
 * signals. It measures the server's own loop, which the benchmark's client never shares.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 1;
const file = process.env.SPACEKV_LOOP_PROBE_FILE;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();

process.on('SIGUSR2', () => {
  // The histogram records whole intervals between timer ticks: the delay is what exceeds the resolution.
  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  const figures = { p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max), samples: histogram.count };
  if (file) writeFileSync(file, JSON.stringify(figures));
  histogram.reset();
});
