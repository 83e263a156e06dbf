// Proves the background task lifecycle: a body that throws is restarted (with backoff) and shows
// as failing with its error until it runs well again; a body can report itself degraded; stop()
// aborts the body and waits for it; and the relay's confirm window only moves the publishable seq
// over seqs whose every message, and every message before, was confirmed, in whatever order the
// confirms arrive.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfirmWindow } from '../../src/front/amqp/confirm-window.js';
import { BackgroundTask } from '../../src/tasks/task.js';

const quiet = { warn: () => {} };

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(check(), 'timed out');
}

describe('BackgroundTask', () => {
  it('restarts a failing body with backoff, shows the failure, and recovers', async () => {
    let runs = 0;
    const task = new BackgroundTask('flaky', async (ctx) => {
      runs++;
      if (runs <= 3) throw new Error(`boom ${runs}`);
      ctx.report(true, 'fine now');
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    }, quiet, { backoffMs: 1, backoffMaxMs: 4 });
    task.start();
    await until(() => task.status().restarts >= 1);
    assert.match(task.status().detail, /boom/);
    await until(() => task.status().state === 'running');
    assert.deepEqual({ ...task.status(), detail: task.status().detail }, { state: 'running', detail: 'fine now', restarts: 3, items: 0 });
    await task.stop();
    assert.equal(task.status().state, 'stopped');
    assert.equal(runs, 4, 'a stopped task is not restarted');
  });

  it('a body reports degraded and counts its work; stop waits for the body to finish', async () => {
    let finished = false;
    const task = new BackgroundTask('worker', async (ctx) => {
      ctx.report(false, 'broker unreachable');
      ctx.count(5);
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      finished = true;
    }, quiet);
    task.start();
    await until(() => task.status().state === 'degraded');
    assert.equal(task.status().detail, 'broker unreachable');
    assert.equal(task.status().items, 5);
    await task.stop();
    assert.equal(finished, true);
  });

  it('a body that returns before it is stopped counts as a failure', async () => {
    const task = new BackgroundTask('quitter', async () => {}, quiet, { backoffMs: 1, backoffMaxMs: 1 });
    task.start();
    await until(() => task.status().restarts >= 2);
    assert.match(task.status().detail, /returned before it was stopped/);
    await task.stop();
  });
});

describe('ConfirmWindow', () => {
  it('moves the confirmed seq only over contiguously confirmed seqs', () => {
    const window = new ConfirmWindow(10);
    const a = window.add(11);
    const b1 = window.add(12); // a tx: two messages at seq 12
    const b2 = window.add(12);
    assert.equal(b1, b2);
    const c = window.add(13);
    assert.equal(window.size, 4);
    assert.equal(window.confirm(c), false, '13 before 11 and 12 does not count');
    assert.equal(window.confirm(b1), false);
    assert.equal(window.confirmedSeq, 10);
    assert.equal(window.confirm(a), true);
    assert.equal(window.confirmedSeq, 11, '12 is half confirmed');
    assert.equal(window.confirm(b2), true);
    assert.equal(window.confirmedSeq, 13);
    assert.equal(window.size, 0);
  });
});
