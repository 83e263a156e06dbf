/**
 * One connection to the AMQP broker for one task (RPC or relay), kept behind our own small
 * interface (STYLE.md §15): driver options set explicitly, and one promise, `lost`, that rejects
 * when the connection or its channel dies, so a task body can race its work against it and fail
 * (then restart with backoff) instead of hanging on a dead socket.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';

/** Seconds between AMQP heartbeats: a silent broker is presumed gone after about two of them. */
const HEARTBEAT_S = 5;
/** How long opening a TCP connection to the broker may take. */
const CONNECT_TIMEOUT_MS = 5_000;

export interface BrokerLink<C extends Channel> {
  readonly channel: C;
  /** Rejects when the connection or channel closes or fails (never resolves). */
  readonly lost: Promise<never>;
  close(): Promise<void>;
}

/** Hide credentials when a URL is logged or shown in /healthz. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** amqplib takes the heartbeat from the URL; one the user gave wins. */
function withHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(HEARTBEAT_S));
  return parsed.toString();
}

async function open<C extends Channel>(url: string, name: string, makeChannel: (model: ChannelModel) => Promise<C>): Promise<BrokerLink<C>> {
  const model = await amqp.connect(withHeartbeat(url), { timeout: CONNECT_TIMEOUT_MS, clientProperties: { connection_name: name } });
  let channel: C;
  try {
    channel = await makeChannel(model);
  } catch (err) {
    await model.close().catch(() => {});
    throw err;
  }
  let closing = false;
  const lost = new Promise<never>((_resolve, reject) => {
    const fail = (what: string) => (err?: Error) => {
      if (!closing) reject(new Error(`the AMQP ${what} ${err ? `failed: ${err.message}` : 'closed'}`));
    };
    model.on('close', fail('connection'));
    model.on('error', fail('connection'));
    channel.on('close', fail('channel'));
    channel.on('error', fail('channel'));
  });
  lost.catch(() => {}); // observed by the task's race; never an unhandled rejection
  return {
    channel,
    lost,
    async close() {
      closing = true;
      await model.close().catch(() => {}); // already gone: nothing to close
    },
  };
}

export function openChannel(url: string, name: string): Promise<BrokerLink<Channel>> {
  return open(url, name, (model) => model.createChannel());
}

export function openConfirmChannel(url: string, name: string): Promise<BrokerLink<ConfirmChannel>> {
  return open(url, name, (model) => model.createConfirmChannel());
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
