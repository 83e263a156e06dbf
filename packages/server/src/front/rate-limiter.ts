/**
 * Requests per second per client (a token record, or an address where the server requires no
 * token), a token bucket each: a client may burst one second's worth, then gets `rate_limited`
 * until its bucket refills. Shared by the REST, WebSocket and AMQP fronts, so one client cannot
 * dodge its rate by switching front. The table of buckets is bounded; the least recently seen
 * client is forgotten first (it starts again with a full bucket, which costs at most one burst).
 */
import { type Limits, SpacekvError } from '@spacekv/core';

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perSecond: number;

  constructor(private readonly limits: Limits) {
    this.perSecond = limits.clientRequestsPerSecondMax;
  }

  /** Clients tracked now (at most `rateLimitedClientsMax`). */
  get clients(): number {
    return this.buckets.size;
  }

  /** Count one request of `client`; throws `rate_limited` when its bucket is empty. */
  take(client: string): void {
    const now = performance.now();
    let bucket = this.buckets.get(client);
    if (bucket) {
      this.buckets.delete(client); // re-inserted below: the Map's order is recency
      bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.atMs) * this.perSecond) / 1000);
      bucket.atMs = now;
    } else {
      if (this.buckets.size >= this.limits.rateLimitedClientsMax) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { tokens: this.perSecond, atMs: now };
    }
    this.buckets.set(client, bucket);
    if (bucket.tokens < 1) {
      throw new SpacekvError('rate_limited', `more than ${this.perSecond} requests per second from this client; slow down`, { limit: 'clientRequestsPerSecondMax' });
    }
    bucket.tokens -= 1;
  }
}
