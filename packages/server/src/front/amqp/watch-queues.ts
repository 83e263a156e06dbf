/**
 * Per-token event streams over AMQP (docs/events.md, docs/security.md). The relay's exchange carries
 * every space, and every peer on the broker shares its credentials, so the broker alone cannot keep
 * a peer to what its token may read: the server filters. A `watch` request on the RPC queue (with
 * the token in its `authorization` header) is authorized like a WebSocket watch; the server then
 * declares a queue of its own under an unguessable name and publishes into it, through the default
 * exchange, only the changes that watch matches: what the token may read, nothing else. The reply
 * names the queue; the subscriber consumes it.
 *
 * Bounded: each stream counts against the server's `watchersMax`; unconfirmed publishes per stream
 * are at most `watchPageChangesMax` (the stream pauses and catches up from the log); the queue holds
 * at most `amqpWatchQueueMessagesMax` messages (`reject-publish`: a subscriber that falls that far
 * behind has its stream ended and its queue deleted, and resubscribes with `since`); a queue with no
 * consumer for `amqpWatchIdleMs` (twice in a row at the sweep) is ended and deleted, so a
 * subscriber that never came or went away frees its watcher. The queue is `auto_delete` (gone when
 * its consumer cancels) and expires on the broker after twice the idle time if this server dies.
 */
import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import { type Limits, type WatchSpec, type WireError, SpacekvError, errorJson } from '@spacekv/core';
import type { ChangeFeed } from '../../events/change-feed.js';
import type { Subscription, WatchSink } from '../../events/subscription.js';
import { type Access, accessRefusal } from '../../auth/authenticator.js';

/** Every queue of a stream is named so (the rest is random): the broker-permission recipe matches it. */
export const WATCH_QUEUE_PREFIX = 'spacekv.watch.';

/** What a `watch` request is answered: the queue to consume, and the seq the stream starts after. */
export interface WatchOpened {
  readonly queue: string;
  readonly seq: number;
}

/** One stream: a subscription of the change feed whose sink publishes into its queue. */
class WatchQueue implements WatchSink {
  subscription: Subscription | undefined;
  private unconfirmed = 0;
  private paused = false;
  private ended = false;
  /** Whether the last sweep found no consumer. */
  idle = false;

  constructor(readonly name: string, private readonly owner: AmqpWatches, private readonly access: Access | null) {}

  deliver(events: readonly string[], seqs: readonly number[]): boolean {
    // A token revoked or expired while the stream is open: it ends before the next event.
    const refusal = accessRefusal(this.access);
    if (refusal) {
      this.subscription?.end(refusal);
      return false;
    }
    events.forEach((event, i) => this.publish(event, seqs[i] as number, i));
    return this.ready();
  }

  ready(): boolean {
    this.paused = this.unconfirmed >= this.owner.limits.watchPageChangesMax;
    return !this.paused;
  }

  end(error: WireError): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.forget(this);
    // The last message of the stream says why it ended; the queue stays for the subscriber to read it.
    try {
      this.owner.channel.sendToQueue(this.name, Buffer.from(`{"type":"watch_end","error":${errorJson(error)}}`), { type: 'watch_end', contentType: 'application/json' });
    } catch {
      // The channel is gone (the broker connection was lost): the queue expires on the broker.
    }
  }

  /** Ended without a last message (the queue is full or gone): the queue is deleted, which cancels its consumer. */
  drop(): void {
    if (this.ended) return;
    this.ended = true;
    this.subscription?.cancel();
    this.owner.forget(this);
    this.owner.channel.deleteQueue(this.name).catch(() => {}); // a queue already gone needs nothing
  }

  private publish(event: string, seq: number, index: number): void {
    this.unconfirmed++;
    this.owner.channel.publish('', this.name, Buffer.from(event), {
      mandatory: true, // no queue (the subscriber left): returned, and the stream ends
      type: 'change',
      contentType: 'application/json',
      messageId: `${seq}.${index}`,
      headers: { seq },
    }, (err: unknown) => {
      this.unconfirmed--;
      if (err) return this.drop(); // reject-publish: the queue is at amqpWatchQueueMessagesMax
      if (this.paused && this.ready()) this.subscription?.resume();
    });
  }
}

export class AmqpWatches {
  private readonly queues = new Map<string, WatchQueue>();

  constructor(readonly channel: ConfirmChannel, private readonly feed: ChangeFeed, readonly limits: Limits) {
    channel.on('return', (message: Message) => this.queues.get(message.fields.routingKey)?.drop());
  }

  /** The queue's declaration; the sweep declares it again with the very same arguments. */
  private queueOptions(): Options.AssertQueue {
    return {
      durable: false,
      exclusive: false, // the subscriber's connection consumes it, not ours
      autoDelete: true,
      arguments: {
        'x-max-length': this.limits.amqpWatchQueueMessagesMax,
        'x-overflow': 'reject-publish',
        'x-expires': 2 * this.limits.amqpWatchIdleMs,
      },
    };
  }

  /** Open a stream for an authorized watch (the caller checked the token's rights for `spec`). */
  async open(spec: WatchSpec, access: Access | null): Promise<WatchOpened> {
    const queue = new WatchQueue(`${WATCH_QUEUE_PREFIX}${randomUUID()}`, this, access);
    await this.channel.assertQueue(queue.name, this.queueOptions());
    try {
      queue.subscription = await this.feed.subscribe(spec, queue);
    } catch (err) {
      await this.channel.deleteQueue(queue.name).catch(() => {});
      throw err;
    }
    this.queues.set(queue.name, queue);
    queue.subscription.pump();
    return { queue: queue.name, seq: queue.subscription.seq };
  }

  forget(queue: WatchQueue): void {
    this.queues.delete(queue.name);
  }

  /** End the streams whose queue had no consumer at this sweep and the one before. */
  async sweep(): Promise<void> {
    for (const queue of [...this.queues.values()]) {
      const { consumerCount } = await this.channel.assertQueue(queue.name, this.queueOptions());
      if (consumerCount > 0) queue.idle = false;
      else if (queue.idle) queue.drop();
      else queue.idle = true;
    }
  }

  /** The server stops taking requests: every stream ends, telling its subscriber to resubscribe. */
  close(): void {
    const error = new SpacekvError('shutting_down', 'the server stopped this stream; resubscribe with since = the last seq read').toWire();
    for (const queue of [...this.queues.values()]) queue.subscription?.end(error);
  }

  get size(): number {
    return this.queues.size;
  }
}
