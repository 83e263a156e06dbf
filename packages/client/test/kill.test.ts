/**
 * Proves the client's outcomes when the server dies (docs/protocol.md "Outcomes when a connection
 * drops"), against a real server process killed with SIGKILL while thousands of puts and gets are
 * in flight: every promise settles (none hangs); a write in flight either succeeded or fails
 * OutcomeUnknownError (`outcome_unknown`), a read either succeeded or fails `unavailable`; requests
 * issued while the server is down fail `unavailable` after connectTimeoutMs; after the server
 * restarts on the same port and data, the client reconnects by itself, and every write that was
 * acknowledged before the kill is there.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OutcomeUnknownError, type SpacekvClient, SpacekvError, UnavailableError, connect } from '../src/index.js';
import { type ChildServer, closeClient, killChildren, makeTempDir, removeDir, spawnServer, teardown, until, withTimeout } from './support.js';

const ACKED = 200;
const PIPELINED_PUTS = 3_000;
const PIPELINED_GETS = 3_000;

interface Outcome {
  readonly kind: 'put' | 'get';
  readonly key: string;
  readonly n: number;
  status?: 'ok' | 'failed';
  error?: unknown;
  value?: unknown;
}

describe('a server killed mid-pipeline', () => {
  let dataDir: string | undefined;
  let db: SpacekvClient | undefined;
  let child: ChildServer | undefined;

  after(async () => {
    await teardown(() => closeClient(db), () => killChildren(), () => dataDir && removeDir(dataDir));
  });

  it('settles every operation with a definite outcome, then reconnects after a restart', async () => {
    dataDir = await makeTempDir();
    child = await spawnServer(0, dataDir);
    const { port } = child;
    db = await withTimeout(connect(child.url, { connectTimeoutMs: 300, reconnectDelayMs: 20, reconnectDelayMaxMs: 100 }), 5_000, 'connect');
    const client = db;
    await client.addSpace('space kv key k attributes int n');

    // Writes acknowledged before the kill: durable on reply, so they must survive it.
    await withTimeout(Promise.all(Array.from({ length: ACKED }, (_, i) => client.put('kv', `acked-${i}`, { n: i }))), 10_000, 'the acknowledged puts');

    // Kill the server the moment the 300th pipelined put is acknowledged: part of the pipeline is
    // then durable, and (batches being at most batchWritesMax) thousands of requests are in flight.
    const running = child;
    let killed: Promise<void> | undefined;
    let acknowledged = 0;
    const outcomes: Outcome[] = [];
    const settled: Promise<void>[] = [];
    const track = (outcome: Outcome, promise: Promise<unknown>): void => {
      outcomes.push(outcome);
      settled.push(promise.then(
        (value) => {
          outcome.status = 'ok';
          outcome.value = value;
          if (outcome.kind === 'put' && ++acknowledged >= 300) killed ??= running.kill();
        },
        (error: unknown) => { outcome.status = 'failed'; outcome.error = error; },
      ));
    };
    for (let i = 0; i < Math.max(PIPELINED_PUTS, PIPELINED_GETS); i++) {
      if (i < PIPELINED_PUTS) track({ kind: 'put', key: `p-${i}`, n: i }, client.put('kv', `p-${i}`, { n: i }));
      if (i < PIPELINED_GETS) track({ kind: 'get', key: `acked-${i % ACKED}`, n: i % ACKED }, client.get('kv', `acked-${i % ACKED}`));
    }
    await until(() => killed !== undefined, 10_000, '300 pipelined puts to be acknowledged');
    await killed;

    await withTimeout(Promise.all(settled), 10_000, `${outcomes.length} operations to settle after the kill`);
    let unknownWrites = 0;
    for (const outcome of outcomes) {
      assert.ok(outcome.status, `${outcome.kind} ${outcome.key} settled`);
      if (outcome.status === 'ok') {
        if (outcome.kind === 'get') assert.equal((outcome.value as { attributes: { n: number } }).attributes.n, outcome.n);
        continue;
      }
      const error = outcome.error;
      if (outcome.kind === 'put') {
        assert.ok(error instanceof OutcomeUnknownError, `a write in flight fails OutcomeUnknownError, got ${String(error)}`);
        assert.equal(error.code, 'outcome_unknown');
        unknownWrites++;
      } else {
        assert.ok(error instanceof UnavailableError, `a read in flight fails UnavailableError, got ${String(error)}`);
        assert.equal(error.code, 'unavailable');
      }
    }
    assert.ok(unknownWrites > 0, 'the kill came while writes were in flight');
    assert.equal(client.outstanding, 0);

    // While the server is down, new requests fail unavailable after connectTimeoutMs (never outcome_unknown: they were never sent).
    for (const attempt of [client.get('kv', 'acked-0'), client.put('kv', 'down', { n: 1 })] as Promise<unknown>[]) {
      await assert.rejects(withTimeout(attempt, 5_000, 'a request while the server is down'),
        (error: unknown) => error instanceof SpacekvError && error.code === 'unavailable');
    }

    child = await spawnServer(port, dataDir);
    // The client reconnects by itself: retry until a request goes through (each try is bounded by connectTimeoutMs).
    const deadline = Date.now() + 10_000;
    let reconnected = false;
    while (!reconnected && Date.now() < deadline) {
      try {
        reconnected = (await withTimeout(client.get('kv', 'acked-0'), 5_000, 'a get after the restart'))?.attributes.n === 0;
      } catch (error) {
        if (!(error instanceof SpacekvError) || error.code !== 'unavailable') throw error;
      }
    }
    assert.ok(reconnected, 'the client reconnected to the restarted server within 10 s');

    const acked = await withTimeout(Promise.all(Array.from({ length: ACKED }, (_, i) => client.get('kv', `acked-${i}`))), 10_000, 'reads after the restart');
    acked.forEach((object, i) => assert.equal(object?.attributes.n, i, `acknowledged write acked-${i} survived the kill`));
    const succeeded = outcomes.filter((o) => o.kind === 'put' && o.status === 'ok');
    const reread = await withTimeout(Promise.all(succeeded.map((o) => client.get('kv', o.key))), 10_000, 'reads of the pipelined puts');
    reread.forEach((object, i) => assert.equal(object?.attributes.n, succeeded[i]?.n, `acknowledged write ${succeeded[i]?.key} survived the kill`));
    const written = await withTimeout(client.put('kv', 'after', { n: 1 }), 5_000, 'a put after the restart');
    assert.equal(written.created, true);
  });
});
