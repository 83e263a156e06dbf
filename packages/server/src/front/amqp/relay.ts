/**
 * The event relay (docs/architecture.md §4.6, §5): reads the change log from its durable cursor and publishes
 * each change to the topic exchange (routing key `<space>.<op>`, persistent, `seq` header, the
 * event JSON of events.ts as body) on a confirm channel with `mandatory`, so an unroutable event is
 * returned rather than confirmed into the void. The cursor advances only over contiguously
 * confirmed seqs; a nack, a return or a lost connection fails the task, which restarts with backoff
 * and publishes again from the cursor. Delivery is therefore at least once, in seq order within
 * each run: consumers deduplicate by `seq` (with space and key for a tx's several changes).
 *
 * Only the holder of the store's relay lease publishes (one relay among servers sharing a
 * PostgreSQL store); the others wait on standby and take over when the holder's lease goes. The
 * holder confirms its lease between reading a page and publishing it, so a holder paused past its
 * expiry with a page in hand publishes nothing when it resumes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfirmChannel, Message } from 'amqplib';
import { type Change, SpacekvError, encodeChangeEvent, isSystemSpace } from '@spacekv/core';
import type { ChangeLog, Lease } from '../../store/store.js';
import type { TaskBody, TaskContext } from '../../tasks/task.js';
import { type BrokerLink, aborted, openConfirmChannel, redactUrl } from './broker.js';
import { ConfirmWindow, type InFlight } from './confirm-window.js';

/** The relay's durable cursor, and its lease. */
export const RELAY_CURSOR = 'amqp_relay';

/** Messages, and bytes of them, published and unconfirmed at most; the relay waits for confirms past either. */
const WINDOW_MAX = 1_000;
const WINDOW_BYTES_MAX = 16 * 1024 * 1024;
/** Changes read from the log per page. */
const PAGE_MAX = 256;
/**
 * The cursor is saved at most this often while events flow: each save is an fsync in the writer
 * thread, beside the group commits. A crash repeats at most this much of the stream (at least once).
 */
const CURSOR_SAVE_MS = 100;
/** How often a server on standby asks for the lease again. */
const LEASE_RETRY_MS = 1_000;

export interface RelayOptions {
  readonly url: string;
  readonly exchange: string;
}

/** A wake-up that is not lost if it rings before anyone waits. */
class Doorbell {
  private rung = false;
  private waiter: (() => void) | undefined;

  ring(): void {
    this.rung = true;
    const wake = this.waiter;
    this.waiter = undefined;
    wake?.();
  }

  wait(): Promise<void> {
    if (this.rung) {
      this.rung = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiter = () => {
        this.rung = false;
        resolve();
      };
    });
  }
}

export function routingKey(change: Change): string {
  return `${change.space}.${change.op}`;
}

async function acquire(log: ChangeLog, ctx: TaskContext): Promise<Lease | undefined> {
  for (;;) {
    const lease = await log.acquireLease(RELAY_CURSOR);
    if (lease || ctx.signal.aborted) return lease ?? undefined;
    ctx.report(true, 'standby: another server holds the relay lease');
    await sleep(LEASE_RETRY_MS, undefined, { signal: ctx.signal }).catch(() => {});
  }
}

export function amqpRelay(log: ChangeLog, onCommit: (listener: () => void) => () => void, options: RelayOptions): TaskBody {
  return async (ctx) => {
    const lease = await acquire(log, ctx);
    if (!lease) return;
    const doorbell = new Doorbell();
    const unsubscribe = onCommit(() => doorbell.ring());
    let link: BrokerLink<ConfirmChannel> | undefined;
    try {
      link = await openConfirmChannel(options.url, 'spacekv relay');
      await link.channel.assertExchange(options.exchange, 'topic', { durable: true });
      await new RelayRun(log, link, options, ctx, doorbell, lease).run();
    } finally {
      unsubscribe();
      await link?.close();
      await lease.release();
    }
  };
}

/** One connected run of the relay, from the durable cursor until stopped or failed. */
class RelayRun {
  private failure: Error | undefined;
  private readonly returned = new Set<string>();
  private window!: ConfirmWindow;
  private readonly progress = new Doorbell();
  private saving: Promise<void> | undefined;
  private savedSeq = 0;
  private windowBytes = 0;

  constructor(
    private readonly log: ChangeLog,
    private readonly link: BrokerLink<ConfirmChannel>,
    private readonly options: RelayOptions,
    private readonly ctx: TaskContext,
    private readonly doorbell: Doorbell,
    private readonly lease: Lease,
  ) {
    link.channel.on('return', (message: Message) => {
      this.returned.add(String(message.properties.messageId));
      this.failure ??= new Error(`event ${String(message.properties.messageId)} was unroutable: bind a queue to the exchange '${options.exchange}' ` +
        `for '${message.fields.routingKey}' (the relay holds it back and retries, so no event is lost)`);
    });
  }

  async run(): Promise<void> {
    let published = await this.start();
    this.window = new ConfirmWindow(published);
    this.savedSeq = published;
    const stop = Promise.race([aborted(this.ctx.signal), aborted(this.lease.signal), this.link.lost]);
    stop.catch(() => {}); // a lost link is acted on where stop is awaited
    this.ctx.report(true, `publishing to '${this.options.exchange}' on ${redactUrl(this.options.url)} after seq ${published}`);
    try {
      while (!this.ctx.signal.aborted && !this.lease.signal.aborted) {
        if (this.failure) throw this.failure;
        if (this.window.size >= WINDOW_MAX || this.windowBytes >= WINDOW_BYTES_MAX) {
          await Promise.race([this.progress.wait(), stop]);
          continue;
        }
        const { changes } = await this.log.readChanges(published, PAGE_MAX);
        if (changes.length === 0) {
          await Promise.race([this.doorbell.wait(), this.progress.wait(), stop]);
          continue;
        }
        // Fencing: this server may have been paused since it read the page, long enough for another
        // to take the lease and publish it; confirm, then publish at once (no await in between).
        await this.lease.confirm();
        // The server's own spaces (token records) never leave it.
        for (const [index, change] of changes.entries()) if (!isSystemSpace(change.space)) this.publish(change, index);
        published = (changes[changes.length - 1] as Change).seq;
      }
      if (this.lease.signal.aborted && !this.ctx.signal.aborted) throw new Error('the relay lease was lost');
      await Promise.race([this.allConfirmed(), this.link.lost]); // a stop waits for what it published
    } finally {
      await this.save();
    }
  }

  /**
   * The durable cursor. A relay that never ran over a log whose start retention already removed
   * starts at the log's head: there is nothing older left to publish.
   */
  private async start(): Promise<number> {
    const cursor = await this.log.readCursor(RELAY_CURSOR);
    try {
      await this.log.readChanges(cursor, 1);
      return cursor;
    } catch (err) {
      if (!(err instanceof SpacekvError && err.code === 'compacted') || cursor !== 0) throw err;
      const { headSeq } = await this.log.readChanges(Number.MAX_SAFE_INTEGER, 1);
      await this.log.saveCursor(RELAY_CURSOR, headSeq);
      return headSeq;
    }
  }

  private publish(change: Change, index: number): void {
    const messageId = `${change.seq}.${index}`;
    const entry = this.window.add(change.seq);
    const body = Buffer.from(encodeChangeEvent(change));
    this.windowBytes += body.length;
    this.link.channel.publish(this.options.exchange, routingKey(change), body, {
      persistent: true,
      mandatory: true,
      contentType: 'application/json',
      messageId,
      timestamp: Math.floor(change.committedAtMs / 1000),
      headers: { seq: change.seq },
    }, (err: unknown) => {
      this.windowBytes -= body.length;
      this.confirmed(entry, messageId, err);
    });
    // The channel buffers what the socket cannot take yet; the window bounds that buffer.
  }

  private confirmed(entry: InFlight, messageId: string, err: unknown): void {
    if (err || this.returned.has(messageId)) {
      this.failure ??= err ? new Error(`the broker refused event ${messageId}: ${String(err)}`) : this.failure;
      this.returned.delete(messageId);
      this.progress.ring();
      return;
    }
    this.ctx.count(1);
    if (this.window.confirm(entry)) {
      this.save().catch((saveErr: unknown) => {
        this.failure ??= new Error(`the relay cursor could not be saved: ${(saveErr as Error).message}`);
        this.progress.ring();
      });
    }
    this.progress.ring();
  }

  /** Save the confirmed seq; one save at a time, then the latest seq, no sooner than CURSOR_SAVE_MS later unless stopping. */
  private save(): Promise<void> {
    this.saving ??= (async () => {
      while (this.savedSeq < this.window.confirmedSeq) {
        const seq = this.window.confirmedSeq;
        await this.log.saveCursor(RELAY_CURSOR, seq);
        this.savedSeq = seq;
        if (!this.ctx.signal.aborted) await sleep(CURSOR_SAVE_MS, undefined, { signal: this.ctx.signal }).catch(() => {});
      }
    })().finally(() => {
      this.saving = undefined;
    });
    return this.saving;
  }

  private async allConfirmed(): Promise<void> {
    while (this.window.size > 0 && !this.failure) await this.progress.wait();
  }
}
