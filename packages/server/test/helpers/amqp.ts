/**
 * Helpers of the AMQP tests: whether the machine's RabbitMQ is there (tests skip with one line when
 * it is not), unique queue and exchange names so runs never collide, a consumer that records every
 * event the relay publishes, an RPC caller, and a TCP proxy the test owns, to cut the server's
 * broker connections without touching the shared RabbitMQ.
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel } from 'amqplib';

export const BROKER_HOST = '127.0.0.1';
export const BROKER_PORT = 5672;
export const BROKER_URL = `amqp://guest:guest@${BROKER_HOST}:${BROKER_PORT}`;

/** Why the AMQP tests cannot run here, or undefined when RabbitMQ answers. */
export async function brokerMissing(): Promise<string | undefined> {
  try {
    const model = await amqp.connect(BROKER_URL, { timeout: 3_000 });
    await model.close();
    return undefined;
  } catch (err) {
    return `RabbitMQ is not reachable at ${BROKER_HOST}:${BROKER_PORT} (${(err as Error).message}); .ci/run starts it`;
  }
}

export function uniqueNames(prefix: string): { readonly queue: string; readonly exchange: string } {
  const id = randomUUID().slice(0, 8);
  return { queue: `spacekv.test.${prefix}.${id}.rpc`, exchange: `spacekv.test.${prefix}.${id}.events` };
}

export interface RecordedEvent {
  readonly routingKey: string;
  readonly seqHeader: number;
  readonly persistent: boolean;
  readonly body: { readonly seq: number; readonly space: string; readonly key: string | number; readonly op: string; readonly attributes: unknown };
}

/**
 * What a consumer that deduplicates by seq sees: assert each key's events come in seq order once
 * repeats are dropped, and return the distinct seqs in arrival order.
 */
export function assertPerKeyOrder(events: readonly RecordedEvent[]): number[] {
  const newest = new Map<string, number>();
  const seen = new Set<number>();
  for (const event of events) {
    if (seen.has(event.body.seq)) continue;
    seen.add(event.body.seq);
    const key = String(event.body.key);
    if (event.body.seq <= (newest.get(key) ?? 0)) throw new Error(`key ${key}: seq ${event.body.seq} after ${newest.get(key)}`);
    newest.set(key, event.body.seq);
  }
  return [...seen];
}

/** The test's own connection: a queue bound to the events exchange (all routing keys), and RPC calls. */
export class TestBroker {
  readonly events: RecordedEvent[] = [];
  private readonly replies = new Map<string, (body: unknown) => void>();
  private replyQueue = '';

  private constructor(private readonly model: ChannelModel, private readonly channel: Channel, private readonly names: { queue: string; exchange: string }) {}

  static async open(names: { readonly queue: string; readonly exchange: string }): Promise<TestBroker> {
    const model = await amqp.connect(BROKER_URL);
    const channel = await model.createChannel();
    const broker = new TestBroker(model, channel, names);
    // The exchange is declared here too, so the events queue is bound before the relay publishes.
    await channel.assertExchange(names.exchange, 'topic', { durable: true });
    await channel.assertQueue(names.queue, { durable: true }); // requests sent before the server consumes wait there
    const events = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(events.queue, names.exchange, '#');
    await channel.consume(events.queue, (message) => {
      if (!message) return;
      broker.events.push({
        routingKey: message.fields.routingKey,
        seqHeader: Number(message.properties.headers?.seq),
        persistent: message.properties.deliveryMode === 2,
        body: JSON.parse(message.content.toString('utf8')) as RecordedEvent['body'],
      });
    }, { noAck: true });
    broker.replyQueue = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.consume(broker.replyQueue, (message) => {
      if (!message) return;
      const settle = broker.replies.get(String(message.properties.correlationId));
      broker.replies.delete(String(message.properties.correlationId));
      settle?.(JSON.parse(message.content.toString('utf8')));
    }, { noAck: true });
    return broker;
  }

  /** Send one operation (wire JSON) on the RPC queue, with message `headers`, and wait for its reply. */
  call(operation: unknown, raw?: string, headers?: Readonly<Record<string, string>>): Promise<Record<string, unknown>> {
    const correlationId = randomUUID();
    const reply = new Promise<Record<string, unknown>>((resolve) => this.replies.set(correlationId, resolve as (body: unknown) => void));
    this.channel.sendToQueue(this.names.queue, Buffer.from(raw ?? JSON.stringify(operation)), { correlationId, replyTo: this.replyQueue, persistent: true, ...(headers ? { headers } : {}) });
    return reply;
  }

  async close(): Promise<void> {
    await this.channel.deleteExchange(this.names.exchange).catch(() => {});
    await this.channel.deleteQueue(this.names.queue).catch(() => {});
    await this.model.close().catch(() => {});
  }
}

/** A TCP proxy in front of RabbitMQ that the test can cut: drop every connection, refuse new ones, accept again. */
export class BrokerProxy {
  private readonly sockets = new Set<net.Socket>();
  private refusing = false;

  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<BrokerProxy> {
    const server = net.createServer();
    const proxy = new BrokerProxy(server);
    server.on('connection', (client) => proxy.onConnection(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Cut every connection through the proxy, and refuse new ones until `accept()`. */
  cut(): void {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  accept(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: net.Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(BROKER_PORT, BROKER_HOST);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
