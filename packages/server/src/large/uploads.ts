/**
 * The large-value uploads this server is receiving: bounded in number (largeUploadsInflightMax),
 * and per client (largeUploadsPerClientMax), so one client's slow uploads cannot hold every place
 * and starve the others; and known to the sweeper, which never removes a value still being
 * received here whatever its idle time says.
 */
import { type Limits, SpacekvError } from '@spacekv/core';

export class LargeUploads {
  /** Upload id → the client sending it (`rateClient`: its token record, or its address). */
  private readonly active = new Map<string, string>();
  /** Client → its uploads in `active`; a client with none has no entry, so the map stays bounded by `active`. */
  private readonly perClient = new Map<string, number>();

  constructor(private readonly limits: Limits) {}

  /** Take a place for upload `id` of `client` (throws `rate_limited` or `overloaded` past a limit); `finish` gives it back. */
  start(id: string, client: string): void {
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.limits.largeUploadsPerClientMax) {
      throw new SpacekvError('rate_limited', `this client is sending ${held} large values already; the limit is ${this.limits.largeUploadsPerClientMax}`, {
        limit: 'largeUploadsPerClientMax',
      });
    }
    if (this.active.size >= this.limits.largeUploadsInflightMax) {
      throw new SpacekvError('overloaded', `${this.active.size} large-value uploads are being received; the limit is ${this.limits.largeUploadsInflightMax}`, {
        limit: 'largeUploadsInflightMax',
      });
    }
    this.active.set(id, client);
    this.perClient.set(client, held + 1);
  }

  finish(id: string): void {
    const client = this.active.get(id);
    if (client === undefined) return;
    this.active.delete(id);
    const left = (this.perClient.get(client) ?? 1) - 1;
    if (left === 0) this.perClient.delete(client);
    else this.perClient.set(client, left);
  }

  has(id: string): boolean {
    return this.active.has(id);
  }
}
