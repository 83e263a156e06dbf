// Proves the relay's half of "exactly one relay publishes at a time, and another takes over when it
// dies", with two relays over one store whose lease is shared in memory (standing in for
// PostgreSQL's advisory lock): the second waits on standby while the first publishes; a relay whose
// lease is lost stops publishing (and takes the lease again only when it is free); when the first
// dies, the second takes over from the durable cursor, so every change reaches the exchange, per key
// in seq order. Skips with one line when RabbitMQ is not there.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LIMITS, parseSchemaDsl } from '@spacekv/core';
import { Engine } from '../../src/engine/engine.js';
import { amqpRelay } from '../../src/front/amqp/relay.js';
import type { ChangeLog, Lease } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { BackgroundTask } from '../../src/tasks/task.js';
import { BROKER_URL, TestBroker, assertPerKeyOrder, brokerMissing, uniqueNames } from '../helpers/amqp.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';

const missing = await brokerMissing();
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** One lease among several relays, as an advisory lock would be. */
class SharedLease {
  private holder: AbortController | undefined;

  grant(): Lease | null {
    if (this.holder) return null;
    const controller = new AbortController();
    this.holder = controller;
    const confirm = async (): Promise<void> => {
      if (controller.signal.aborted) throw new Error('the lease was lost');
    };
    return { signal: controller.signal, confirm, release: async () => this.drop(controller) };
  }

  /** The holder's session died: its lease is gone (aborted), and free for anyone. */
  lose(): void {
    const holder = this.holder;
    this.holder = undefined;
    holder?.abort();
  }

  private drop(controller: AbortController): void {
    if (this.holder === controller) this.holder = undefined;
  }
}

/** The store as one server sees it: its own log, the shared lease. */
function serverView(store: SqliteStore, lease: SharedLease): ChangeLog {
  return {
    readChanges: (after, limit) => store.readChanges(after, limit),
    pruneChanges: (rule, limit) => store.pruneChanges(rule, limit),
    readCursor: (name) => store.readCursor(name),
    saveCursor: (name, seq) => store.saveCursor(name, seq),
    expiredObjects: (now, limit) => store.expiredObjects(now, limit),
    acquireLease: async () => lease.grant(),
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
}

test('one relay publishes; the other stands by and takes over from the cursor when the lease moves', { skip: missing }, async () => {
  const names = uniqueNames('lease');
  const broker = await TestBroker.open(names);
  cleanups.push(() => broker.close());
  const dir = makeTempDir('relay-lease');
  cleanups.push(() => removeDir(dir));
  const store = new SqliteStore(dir, DEFAULT_LIMITS);
  const engine = new Engine({ store, limits: DEFAULT_LIMITS, logger: { error: () => {} } });
  await engine.start();
  cleanups.push(() => engine.close());
  const lease = new SharedLease();
  const relay = (name: string) => new BackgroundTask(name, amqpRelay(serverView(store, lease), (l) => engine.onCommit(l), { url: BROKER_URL, exchange: names.exchange }), { warn: () => {} }, { backoffMs: 10, backoffMaxMs: 50 });
  const first = relay('relay_a');
  first.start();
  await until('the first relay to publish', () => /publishing/.test(first.status().detail));
  const second = relay('relay_b');
  second.start();
  cleanups.push(() => second.stop(), () => first.stop());
  await until('the second relay to stand by', () => /standby/.test(second.status().detail));

  const session = engine.session();
  await session.execute({ op: 'add_space', schema: parseSchemaDsl('space s key k attributes int n', DEFAULT_LIMITS) });
  const write = (i: number) => session.execute({ op: 'put', space: 's', key: `k${i % 7}`, attributes: { n: i } });
  await Promise.all(Array.from({ length: 100 }, (_, i) => write(i)));
  await until('the first hundred events', () => new Set(broker.events.map((e) => e.body.seq)).size === 101);
  assert.match(second.status().detail, /standby/, 'the second relay published nothing while the first held the lease');

  lease.lose(); // the first relay's session blinked: it stops, and takes the lease again (the second polls slower)
  await until('the first relay to lose and retake the lease', () => first.status().restarts === 1 && /publishing/.test(first.status().detail));
  assert.match(second.status().detail, /standby/);
  await first.stop(); // the first server dies: its lease goes with it
  await until('the second relay to take over', () => /publishing/.test(second.status().detail));
  await Promise.all(Array.from({ length: 100 }, (_, i) => write(100 + i)));
  await until('every event', () => new Set(broker.events.map((e) => e.body.seq)).size === 201);

  const distinct = assertPerKeyOrder(broker.events);
  assert.deepEqual(distinct.sort((a, b) => a - b), Array.from({ length: 201 }, (_, i) => i + 1));
});
