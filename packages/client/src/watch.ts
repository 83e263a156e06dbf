/**
 * `db.watch(...)`: change events as an async iterator (docs/protocol.md, watch). The watch keeps
 * the seq of the last change it has taken in; when the connection drops (or the server shuts
 * down) it subscribes again after that seq once the client has reconnected, and drops any change
 * at or below it, so the consumer sees every change once, in order, with no gap.
 *
 * Memory is bounded: when the consumer falls `bufferMax` events behind, the watch unsubscribes and
 * subscribes again after its last seq once the consumer has caught up (the server then reads its
 * log), rather than buffering without limit.
 */
import type { ChangeEvent, Key } from '@spacekv/core';
import type { Connection, StreamListener } from './connection.js';
import { SpacekvError, errorFromWire } from './errors.js';

export type { ChangeEvent } from '@spacekv/core';

export interface WatchOptions {
  /** Only this space (needed by key, prefix and filter); absent: every space. */
  readonly space?: string;
  /** Only this object. */
  readonly key?: Key;
  /** Only string keys starting with this. */
  readonly prefix?: string;
  /** Start after this seq (resume); absent: from now. 0: everything the log still holds. */
  readonly since?: number;
  /** Only changes whose new attributes satisfy this condition (deletions always pass). */
  readonly filter?: Readonly<Record<string, unknown>>;
  /** Only these operations. */
  readonly ops?: readonly string[];
  /** Events held for a slow consumer before the watch pauses on the server. Default 10,000. */
  readonly bufferMax?: number;
}

type State = 'subscribing' | 'live' | 'paused' | 'waiting_for_connection' | 'ended';

/** Routes the connection's watch frames to their watches; one per client. */
export class WatchRegistry implements StreamListener {
  private readonly byId = new Map<number, Watch>();
  private readonly all = new Set<Watch>();

  constructor(private readonly connection: Connection) {
    connection.listen(this);
  }

  open(options: WatchOptions): Watch {
    const watch = new Watch(this.connection, this, options);
    this.all.add(watch);
    watch.subscribe();
    return watch;
  }

  bind(id: number, watch: Watch): void {
    this.byId.set(id, watch);
  }

  forget(watch: Watch, id: number | undefined): void {
    if (id !== undefined) this.byId.delete(id);
    if (watch.ended) this.all.delete(watch);
  }

  frame(frame: Readonly<Record<string, unknown>>): void {
    const watch = this.byId.get(frame.watch as number);
    if (!watch) return;
    if (frame.type === 'changes') watch.take(frame.changes as ChangeEvent[]);
    else watch.serverEnded(errorFromWire(frame.error));
  }

  connected(): void {
    for (const watch of this.all) watch.reconnected();
  }

  disconnected(error: SpacekvError, final: boolean): void {
    this.byId.clear(); // watch ids belong to the connection that is gone
    for (const watch of [...this.all]) watch.dropped(error, final);
  }

  /** End every watch (the client is closing). */
  endAll(): void {
    for (const watch of [...this.all]) void watch.return();
  }
}

export class Watch implements AsyncIterableIterator<ChangeEvent> {
  private buffer: ChangeEvent[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<ChangeEvent>) => void; reject: (e: Error) => void } | undefined;
  private state: State = 'subscribing';
  private failure: SpacekvError | undefined;
  private watchId: number | undefined;
  /** The last seq taken in (changes at or below it are duplicates); undefined until the server says where it starts. */
  private lastSeq: number | undefined;
  private readonly bufferMax: number;
  private markStarted!: (seq: number) => void;
  private failStart!: (error: SpacekvError) => void;
  /**
   * Resolves with the seq the watch starts after once the server has it (a watch "from now" misses
   * nothing committed after that); rejects if the watch ends before it ever started.
   */
  readonly started: Promise<number>;

  constructor(private readonly connection: Connection, private readonly registry: WatchRegistry, private readonly options: WatchOptions) {
    this.bufferMax = options.bufferMax ?? 10_000;
    this.lastSeq = options.since;
    this.started = new Promise<number>((resolve, reject) => {
      this.markStarted = resolve;
      this.failStart = reject;
    });
    this.started.catch(() => {}); // the failure also reaches the iterator; awaiting `started` is optional
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  /** The seq of the last change taken in: pass it as `since` to resume elsewhere. */
  get seq(): number | undefined {
    return this.lastSeq;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ChangeEvent> {
    return this;
  }

  next(): Promise<IteratorResult<ChangeEvent>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head++] as ChangeEvent;
      this.compact();
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.state === 'ended') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Stop watching (also what `break` in a for-await loop calls). */
  async return(): Promise<IteratorResult<ChangeEvent>> {
    if (this.state !== 'ended') {
      this.unsubscribe();
      this.finish();
    }
    return { value: undefined, done: true };
  }

  subscribe(): void {
    this.state = 'subscribing';
    const { space, key, prefix, filter, ops } = this.options;
    const request: Record<string, unknown> = { op: 'watch', space, key, prefix, if: filter, ops, since: this.lastSeq };
    for (const name of Object.keys(request)) if (request[name] === undefined) delete request[name];
    this.connection.request(request, false, (error, reply) => {
      if (this.state === 'ended') {
        if (reply?.ok) this.connection.request({ op: 'unwatch', watch: reply.watch }, false, () => {});
        return;
      }
      if (error) return this.retryOrFail(error);
      if (!reply?.ok) return this.fail(errorFromWire(reply?.error));
      this.watchId = reply.watch as number;
      this.lastSeq ??= reply.seq as number;
      this.registry.bind(this.watchId, this);
      this.state = 'live';
      this.markStarted(this.lastSeq);
    });
  }

  take(events: readonly ChangeEvent[]): void {
    if (this.state !== 'live') return;
    for (const event of events) {
      // A frame holds whole seqs, so anything at or below the last seq taken is a repeat (a resume).
      if (this.lastSeq !== undefined && event.seq <= this.lastSeq) continue;
      this.push(event);
    }
    const last = events[events.length - 1];
    if (last) this.lastSeq = Math.max(this.lastSeq ?? 0, last.seq);
    if (this.buffer.length - this.head >= this.bufferMax) {
      this.unsubscribe();
      this.state = 'paused';
    }
  }

  /** The server ended the watch: after a shutdown it resumes on the next connection; anything else ends it. */
  serverEnded(error: SpacekvError): void {
    this.registry.forget(this, this.watchId);
    this.watchId = undefined;
    if (error.code === 'shutting_down') this.state = 'waiting_for_connection';
    else this.fail(error);
  }

  reconnected(): void {
    if (this.state === 'waiting_for_connection') this.subscribe();
  }

  dropped(error: SpacekvError, final: boolean): void {
    if (this.state === 'ended') return;
    this.watchId = undefined;
    if (final) return this.fail(error);
    if (this.state !== 'paused') this.state = 'waiting_for_connection';
  }

  private push(event: ChangeEvent): void {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: event, done: false });
    } else {
      this.buffer.push(event);
    }
  }

  private compact(): void {
    if (this.head === this.buffer.length) {
      this.buffer = [];
      this.head = 0;
    }
    // The consumer caught up with a paused watch: subscribe again after the last seq taken in.
    if (this.state === 'paused' && this.buffer.length - this.head <= this.bufferMax / 2) {
      if (this.connection.connected) this.subscribe();
      else this.state = 'waiting_for_connection';
    }
  }

  private unsubscribe(): void {
    if (this.watchId === undefined) return;
    const watch = this.watchId;
    this.registry.forget(this, watch);
    this.watchId = undefined;
    if (this.connection.connected) this.connection.request({ op: 'unwatch', watch }, false, () => {});
  }

  /** A request that failed for want of a connection is tried again on the next one. */
  private retryOrFail(error: SpacekvError): void {
    if (error.code === 'unavailable' || error.code === 'shutting_down') {
      if (this.connection.connected) this.subscribe();
      else this.state = 'waiting_for_connection';
      return;
    }
    this.fail(error);
  }

  private fail(error: SpacekvError): void {
    this.failure = error;
    this.finish();
  }

  private finish(): void {
    this.state = 'ended';
    this.failStart(this.failure ?? new SpacekvError('unavailable', 'the watch was ended before the server started it'));
    this.registry.forget(this, this.watchId);
    this.watchId = undefined;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) return;
    if (this.failure && this.head >= this.buffer.length) waiter.reject(this.failure);
    else waiter.resolve({ value: undefined, done: true });
  }
}
