// Proves the event relay's lease (docs/postgres.md, "Running N servers") with real process faults:
// two `spacekv serve` processes on one PostgreSQL schema, both with the relay on, one lease row.
// - kill -9 of the holder: the other takes over once the lease expires (a short lease_ttl_ms here)
//   and every acknowledged write reaches the exchange, at least once and in seq order per key.
// - SIGSTOP of the holder past its expiry with a page of the log already read, its reply waiting
//   in the paused process: the other takes over and publishes it; after SIGCONT the first must
//   publish nothing, because it confirms its lease between reading a page and publishing it.
//   The page is made certain with locks the test holds: ACCESS EXCLUSIVE on `log_state` (which the
//   log read takes and writes do not) holds the holder's read while the other server writes, and
//   the lease row's lock holds its renewal, so no renewal timer is armed to notice the pause first
//   (the narrow case the confirm closes). Both are let go while the holder is paused, page first.
// Skips with one line when PostgreSQL or RabbitMQ is not there.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type SpacekvClient, connect } from '@spacekv/client';
import postgres from 'postgres';
import { type RecordedEvent, BROKER_URL, TestBroker, assertPerKeyOrder, brokerMissing, uniqueNames } from '../helpers/amqp.js';
import { POSTGRES_URL, dropSchema, postgresMissing, storeUrl, uniqueSchema } from '../helpers/postgres.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { untilKnown } from '../helpers/spaces.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { sleep } from '../helpers/timeout.js';

/** Short, so takeovers are quick; long enough that a loaded machine's holder still renews in time. */
const LEASE_TTL_MS = 1_500;
const WAIT_MS = 60_000;
const SPACE = 'ev';

const missing = (await postgresMissing()) ?? (await brokerMissing());
const cleanups: (() => unknown)[] = [];
after(async () => {
  await killAllChildren();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** What the server's relay task says it is doing (/healthz). */
async function relayDetail(server: ServerProcess): Promise<string> {
  const health = await (await fetch(new URL('/healthz', server.url))).json() as { parts?: { tasks?: { amqp_relay?: { detail: string } } } };
  return health.parts?.tasks?.amqp_relay?.detail ?? '';
}

interface Pair {
  readonly schema: string;
  readonly broker: TestBroker;
  /** The lease holder (its PostgreSQL sessions are named `<application>_a`) and the server on standby. */
  readonly holder: ServerProcess;
  readonly standby: ServerProcess;
  readonly clients: readonly [SpacekvClient, SpacekvClient];
}

/** Two servers on a fresh schema, the first holding the relay lease, the second on standby, and the space. */
async function startPair(prefix: string): Promise<Pair> {
  const schema = uniqueSchema(prefix);
  const names = uniqueNames(prefix);
  const dataDir = makeTempDir(`relay-${prefix}`);
  cleanups.push(() => removeDir(dataDir), () => dropSchema(schema));
  const broker = await TestBroker.open(names);
  cleanups.push(() => broker.close());
  const start = (application: string): Promise<ServerProcess> => {
    const store = new URL(storeUrl(schema));
    store.searchParams.set('lease_ttl_ms', String(LEASE_TTL_MS));
    store.searchParams.set('application_name', application);
    return spawnServer(['--port', '0', '--data', dataDir, '--store', store.toString(), '--log-level', 'info',
      '--amqp', BROKER_URL, '--amqp-exchange', names.exchange, '--amqp-rpc-queue', names.queue]);
  };
  const holder = await start(`${schema}_a`);
  await until('the first server to publish', async () => /publishing/.test(await relayDetail(holder)));
  const standby = await start(`${schema}_b`);
  await until('the second server to stand by', async () => /standby/.test(await relayDetail(standby)));
  const clients = [await connect(holder.url), await connect(standby.url)] as const;
  cleanups.push(() => Promise.all(clients.map((c) => c.close())));
  await clients[0].addSpace(`space ${SPACE} key k attributes int n`);
  await untilKnown(standby.url, SPACE);
  return { schema, broker, holder, standby, clients };
}

/** `count` puts through `client`, over 7 keys; the seqs acknowledged. */
async function writes(client: SpacekvClient, from: number, count: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = from; i < from + count; i++) seqs.push((await client.put(SPACE, `k${i % 7}`, { n: i })).version);
  return seqs;
}

function relayed(events: readonly RecordedEvent[], seqs: readonly number[]): boolean {
  const seen = new Set(events.map((e) => e.body.seq));
  return seqs.every((seq) => seen.has(seq));
}

test('kill -9 of the relay lease holder: the other server takes over and every acknowledged write is relayed, in order per key', { skip: missing }, async (t) => {
  const { broker, holder, standby, clients } = await startPair('relaykill');
  const acked = await writes(clients[0], 0, 30);
  acked.push(...await writes(clients[1], 30, 30));
  await until('the holder to relay the first writes', () => relayed(broker.events, acked));

  // Writes go on through the standby while the holder dies, and after.
  let writing = true;
  const writer = (async () => {
    for (let i = 60; writing; i += 10) acked.push(...await writes(clients[1], i, 10));
  })();
  await sleep(100);
  const killedAt = performance.now();
  await holder.kill();
  await until('the standby to take the relay over', async () => /publishing/.test(await relayDetail(standby)));
  const takeoverMs = Math.round(performance.now() - killedAt);
  await sleep(200);
  writing = false;
  await writer;
  await until('every acknowledged write to be relayed', () => relayed(broker.events, acked));

  const distinct = assertPerKeyOrder(broker.events);
  assert.ok(acked.every((seq) => distinct.includes(seq)));
  t.diagnostic(`${acked.length} writes relayed (${broker.events.length} events, ${broker.events.length - distinct.length} repeats); ` +
    `the standby published ${takeoverMs} ms after the kill (lease expiry ${LEASE_TTL_MS} ms, standby retries every 1000 ms)`);
});

test('a holder paused past its expiry with a page read is fenced off: after SIGCONT it publishes nothing', { skip: missing }, async (t) => {
  const { schema, broker, holder, standby, clients } = await startPair('relaystop');
  const before = await writes(clients[0], 0, 10);
  await until('the holder to relay the first writes', () => relayed(broker.events, before));

  const admin = postgres(POSTGRES_URL, { max: 3, onnotice: () => {} });
  cleanups.push(() => admin.end({ timeout: 1 }));
  const [logLock, rowLock] = [await admin.reserve(), await admin.reserve()];
  cleanups.push(() => logLock.release(), () => rowLock.release());
  /** The holder's statements that `like` matches, waiting on a lock (`waiting`) or still running. */
  const holderRuns = async (like: string, waiting: boolean): Promise<number> => {
    const [row] = await admin.unsafe<{ n: string }[]>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE $2 AND (NOT $3 OR wait_event_type = 'Lock')`,
      [`${schema}_a`, like, waiting]);
    return Number(row?.n);
  };
  const READ = '%CROSS JOIN log_state l LEFT JOIN LATERAL%';
  const RENEWAL = 'UPDATE leases SET expires_at%';

  // The holder's next renewal waits on the lease row, and its reader of the log (the relay, woken
  // every 100 ms; the change feed reads other servers' commits only while someone watches there) on
  // log_state, which writes do not touch.
  await rowLock.unsafe('BEGIN');
  await rowLock.unsafe(`SELECT 1 FROM ${schema}.leases WHERE name = 'amqp_relay' FOR UPDATE`);
  await logLock.unsafe('BEGIN');
  await logLock.unsafe(`LOCK TABLE ${schema}.log_state IN ACCESS EXCLUSIVE MODE`);
  await until("the holder's renewal and log reads to wait", async () => (await holderRuns(RENEWAL, true)) >= 1 && (await holderRuns(READ, true)) >= 1);
  // Committed while the holder's read waits: the read, let go once the holder is paused, returns them.
  const paused = await writes(clients[1], 10, 20);
  holder.signal('SIGSTOP');
  cleanups.push(() => holder.signal('SIGCONT'));
  await logLock.unsafe('COMMIT');
  await until("the paused holder's page to be sent to it", async () => (await holderRuns(READ, false)) === 0);
  // Its lease expires while its renewal waits; let go now, the renewal finds it expired (its reply
  // waits in the paused process behind the page's), and the standby takes the lease over.
  await until('the lease to expire', async () => {
    const [row] = await admin.unsafe<{ expired: boolean }[]>(`SELECT expires_at < now() AS expired FROM ${schema}.leases WHERE name = 'amqp_relay'`);
    return row?.expired === true;
  });
  await rowLock.unsafe('COMMIT');
  await until('the standby to take over and relay the writes the paused holder read', () => relayed(broker.events, paused));

  const eventsBeforeResume = broker.events.length;
  holder.signal('SIGCONT');
  await until('the resumed holder to stand by', async () => /standby/.test(await relayDetail(holder)));
  // A write after: once it is relayed, anything the resumed holder published would have arrived too.
  const [sentinel] = await writes(clients[1], 30, 1);
  await until('the write after the resume to be relayed', () => relayed(broker.events, [sentinel as number]));

  const late = broker.events.slice(eventsBeforeResume).map((e) => e.body.seq).filter((seq) => seq !== sentinel);
  assert.deepEqual(late, [], 'the resumed holder published the page it had read before its pause');
  // What stopped it was the lease, not a read deadline passed during the pause (which would prove nothing).
  const failure = holder.logLines().find((line) => line['task'] === 'amqp_relay' && line.msg === 'a background task failed; restarting');
  assert.match(String((failure?.['err'] as { message?: string } | undefined)?.message), /lease/, holder.output());
  assert.match(await relayDetail(standby), /publishing/);
  assertPerKeyOrder(broker.events);
  t.diagnostic(`${paused.length} writes read by the paused holder, relayed by the standby; ${broker.events.length} events in all`);
});
