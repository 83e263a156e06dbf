// Proves ThreadClock keeps a store thread's busy time across the thread's death: Node reads a
// worker's busy time as zero once it has exited, so without the clock the writer's
// spacekv_thread_busy_seconds_total would fall back at every restart, which a counter must never do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { ThreadClock } from '../../src/store/thread-clock.js';

/** A thread that, for each message, keeps busy for that many ms and then answers. */
function busyThread(): Worker {
  return new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (ms) => { const end = Date.now() + ms; while (Date.now() < end); parentPort.postMessage('done'); });`,
    { eval: true },
  );
}

async function keepBusy(worker: Worker, ms: number): Promise<void> {
  worker.postMessage(ms);
  await once(worker, 'message');
}

test('a thread busy for 60 ms is counted, and stays counted after it exits and a new one takes its place', async () => {
  const clock = new ThreadClock();
  const first = busyThread();
  clock.track(first);
  await keepBusy(first, 60);
  const firstMs = clock.busyMs();
  assert.ok(firstMs >= 55, `busy ${firstMs} ms for 60 ms of work`);

  await first.terminate();
  assert.equal(clock.busyMs(), firstMs, 'read between the exit and the retirement: the last reading, not the zero Node reports');
  clock.retire(first);
  assert.equal(clock.busyMs(), firstMs);

  const second = busyThread();
  clock.track(second);
  await keepBusy(second, 60);
  clock.retire(first); // a late report of the first thread's death changes nothing
  const bothMs = clock.busyMs();
  assert.ok(bothMs >= firstMs + 55, `both threads: ${bothMs} ms, the first alone ${firstMs} ms`);
  await second.terminate();
  assert.equal(clock.busyMs(), bothMs);
});
