/**
 * The large-value uploads this server is receiving: bounded in number (largeUploadsInflightMax),
 * and known to the sweeper, which never removes a value still being received here whatever its
 * idle time says.
 */
import { type Limits, SpacekvError } from '@spacekv/core';

export class LargeUploads {
  private readonly active = new Set<string>();

  constructor(private readonly limits: Limits) {}

  /** Take a place for upload `id` (throws `overloaded` past the limit); `finish` gives it back. */
  start(id: string): void {
    if (this.active.size >= this.limits.largeUploadsInflightMax) {
      throw new SpacekvError('overloaded', `${this.active.size} large-value uploads are being received; the limit is ${this.limits.largeUploadsInflightMax}`, {
        limit: 'largeUploadsInflightMax',
      });
    }
    this.active.add(id);
  }

  finish(id: string): void {
    this.active.delete(id);
  }

  has(id: string): boolean {
    return this.active.has(id);
  }
}
