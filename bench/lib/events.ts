/**
 * Step 9, change events: a spacekv server process (with the AMQP front when RabbitMQ is there)
 * takes a load of durable puts from one client connection, `inFlight` at a time; a watcher on a
 * second connection (`db.watch`) and an AMQP consumer of the events exchange record when each
 * change arrives. Figures: events per second delivered to each, over the run (first write sent to
 * last event received), and the latency from the write's acknowledgement (its promise resolving
 * in the writer) to the event's arrival, p50/p99, signed: the server wakes watchers as the batch
 * commits, in the same turn as it sends the replies, so an event often arrives before its write's
 * acknowledgement (a negative figure). The latency from the write being sent to the event's
 * arrival is printed beside it. Writer, watcher and consumer share this process, so the figures
 * include their contention on the machine's cores.
 */
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { connect } from '@spacekv/client';
import { type Pair, coupledRounds, describePairs, evenRounds } from './paired.js';
import { CpuMeter } from './proc-stats.js';
import { out } from './report.js';
import { type Section, runsPerRound } from './section.js';
import { percentile } from './stats.js';
import { DEFAULT_SERVER, type ServerVariant } from './variants.js';

export interface EventsSizes {
  readonly writes: number;
  readonly inFlight: number;
}

const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';

export interface Delivery {
  readonly events: number;
  readonly eventsPerSecond: number;
  /** Arrival minus acknowledgement: negative when the event beat the reply. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Arrival minus the moment the write was sent. */
  readonly sentP50Ms: number;
  readonly sentP99Ms: number;
  /** Events that arrived before their write's acknowledgement. */
  readonly beforeAck: number;
}

/** When each write was sent and acknowledged, by the seq it committed at. */
interface WriteTimes {
  readonly sentAt: number;
  readonly ackAt: number;
}

export interface EventsFigures {
  readonly sizes: EventsSizes;
  readonly writesPerSecond: number;
  /** CPU µs of the server per write, over the writes and the delivery of their events. */
  readonly serverCpuUsPerWrite: number;
  readonly watcher: Delivery;
  readonly amqp: Delivery | { readonly skipped: string };
}

/** Arrival times (performance.now()) by seq, and a wait for a given seq. */
class Arrivals {
  readonly at = new Map<number, number>();
  private waiting: { seq: number; resolve: () => void } | undefined;

  record(seq: number): void {
    if (!this.at.has(seq)) this.at.set(seq, performance.now());
    if (this.waiting && seq >= this.waiting.seq) this.waiting.resolve();
  }

  until(seq: number, ms: number, what: string): Promise<void> {
    if ([...this.at.keys()].some((s) => s >= seq)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: seq ${seq} did not arrive within ${ms} ms`)), ms);
      this.waiting = { seq, resolve: () => { clearTimeout(timer); resolve(); } };
    });
  }
}

function delivery(arrivals: Arrivals, writes: ReadonlyMap<number, WriteTimes>, startedAt: number): Delivery {
  const fromAck: number[] = [];
  const fromSent: number[] = [];
  let last = startedAt;
  for (const [seq, { sentAt, ackAt }] of writes) {
    const at = arrivals.at.get(seq);
    if (at === undefined) continue;
    fromAck.push(at - ackAt);
    fromSent.push(at - sentAt);
    last = Math.max(last, at);
  }
  return {
    events: fromAck.length,
    eventsPerSecond: fromAck.length / ((last - startedAt) / 1000),
    p50Ms: percentile(fromAck, 50),
    p99Ms: percentile(fromAck, 99),
    sentP50Ms: percentile(fromSent, 50),
    sentP99Ms: percentile(fromSent, 99),
    beforeAck: fromAck.filter((ms) => ms < 0).length,
  };
}

async function brokerReachable(): Promise<string | undefined> {
  try {
    const model = await amqp.connect(BROKER_URL, { timeout: 3_000 });
    await model.close();
    return undefined;
  } catch (err) {
    return `RabbitMQ not reachable at 127.0.0.1:5672: ${(err as Error).message}`;
  }
}

/** One run in `dir` on a server started as `variant` says (this build's default server unless given). */
export async function eventsBench(dir: string, sizes: EventsSizes, problems: string[], variant: ServerVariant = DEFAULT_SERVER): Promise<EventsFigures> {
  const missing = await brokerReachable();
  const id = randomUUID().slice(0, 8);
  const exchange = `spacekv.bench.${id}.events`;
  const model = missing ? undefined : await amqp.connect(BROKER_URL);
  const consumed = new Arrivals();
  const channel = model ? await model.createChannel() : undefined;
  if (channel) {
    // Declared as the relay declares it, and bound before the first change: the relay holds back
    // events that no queue takes.
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, '#');
    await channel.consume(queue, (message) => {
      if (message) consumed.record(Number(message.properties.headers?.seq));
    }, { noAck: true });
  }
  const rpcQueue = `spacekv.bench.${id}.rpc`;
  const amqpArgs = model ? ['--amqp', BROKER_URL, '--amqp-exchange', exchange, '--amqp-rpc-queue', rpcQueue] : [];
  const { server, token } = await variant.start(dir, { serveArgs: amqpArgs }, ['events']);
  try {
    const auth = token === undefined ? {} : { token };
    const writer = await connect(server.url, auth);
    const reader = await connect(server.url, auth);
    await writer.addSpace('space events key k attributes int n, string pad');
    const watched = new Arrivals();
    const watch = reader.watch({ space: 'events', ops: ['put'] });
    const watching = (async () => {
      for await (const event of watch) watched.record(event.seq);
    })();
    const acked = new Map<number, WriteTimes>();
    const pad = 'x'.repeat(100);
    const startedAt = performance.now();
    const serverCpu = new CpuMeter(server.pid);
    await writer.window(Array.from({ length: sizes.writes }, (_, i) => i), sizes.inFlight, async (i) => {
      const sentAt = performance.now();
      const { version } = await writer.put('events', `k${i % 10_000}`, { n: i, pad });
      acked.set(version, { sentAt, ackAt: performance.now() });
    });
    const writesPerSecond = sizes.writes / ((performance.now() - startedAt) / 1000);
    const lastSeq = Math.max(...acked.keys());
    await watched.until(lastSeq, 60_000, 'the watcher');
    if (model) await consumed.until(lastSeq, 60_000, 'the AMQP consumer');
    const serverCpuUsPerWrite = (serverCpu.seconds() * 1e6) / sizes.writes;
    await watch.return();
    await watching;
    await writer.close();
    await reader.close();
    return {
      sizes,
      writesPerSecond,
      serverCpuUsPerWrite,
      watcher: delivery(watched, acked, startedAt),
      amqp: model ? delivery(consumed, acked, startedAt) : { skipped: missing ?? 'no broker' },
    };
  } finally {
    const exit = await server.stop();
    if (exit.code !== 0) problems.push(`the events server did not shut down cleanly (code ${exit.code})\n${exit.stderrTail}`);
    await channel?.deleteExchange(exchange).catch(() => {});
    await channel?.deleteQueue(rpcQueue).catch(() => {});
    await model?.close();
  }
}

function printDelivery(label: string, d: Delivery | { readonly skipped: string }): void {
  if ('skipped' in d) {
    out(`    ${label}: SKIPPED (${d.skipped})`);
    return;
  }
  out(`    ${label}: ${d.eventsPerSecond.toFixed(0)} events/s (${d.events} events), ack to delivery p50 ${d.p50Ms.toFixed(2)} ms, p99 ${d.p99Ms.toFixed(2)} ms` +
    ` (${d.beforeAck} before their ack); sent to delivery p50 ${d.sentP50Ms.toFixed(2)} ms, p99 ${d.sentP99Ms.toFixed(2)} ms`);
}

export function printEvents(f: EventsFigures): void {
  out(`[9] change events under ${f.sizes.writes} durable puts, ${f.sizes.inFlight} in flight from one client: ${f.writesPerSecond.toFixed(0)} writes/s`);
  printDelivery('watcher (db.watch over WebSocket)', f.watcher);
  printDelivery('AMQP consumer (relay, confirms)', f.amqp);
}

export const eventsSection: Section = {
  id: 'events',
  title: 'Step 9: change events under durable writes, to a watcher and to an AMQP consumer',
  byDefault: true,
  async run(c) {
    const o = c.options;
    printEvents(await eventsBench(join(c.root, 'events'), o.events, c.problems));
    if (o.variants.length > 0) await eventsVariants(c.root, o.events, o.variants, o.rounds, c.problems);
  },
  estimateSeconds({ options: o }) {
    // A run: a server's start-up and the broker's set-up, then the writes (about 2,000 durable puts/s here).
    const run = 4 + o.events.writes / 2_000;
    return run * (1 + 2 * evenRounds(o.rounds) * o.variants.length);
  },
};

/**
 * Each variant beside this build: per round, a whole run (a fresh server, its watcher and AMQP
 * consumer) on each, back to back, alternating which goes first; the ratio is of the writes per
 * second and of the server's CPU per write, which includes delivering the events.
 */
async function eventsVariants(root: string, sizes: EventsSizes, variants: readonly ServerVariant[], rounds: number, problems: string[]): Promise<void> {
  out(`[9] server variants beside this build, ${evenRounds(rounds)} paired rounds of a whole run each, judged on couples of rounds (ratio per couple, median and range):`);
  for (const [index, variant] of variants.entries()) {
    const pairs: Pair[] = await coupledRounds(rounds, async (side, round) => {
      const f = await eventsBench(join(root, `events-${index}-${round}-${side}`), sizes, problems, side === 'default' ? DEFAULT_SERVER : variant);
      return { opsPerSec: f.writesPerSecond, serverCpuUsPerOp: f.serverCpuUsPerWrite };
    });
    out(describePairs('    durable puts with a watcher and an AMQP consumer', variant, pairs));
  }
}
