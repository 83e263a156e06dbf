/**
 * Named leases on a row of `leases` (layout.ts): holder, expiry and a fencing epoch, in plain SQL
 * (no advisory locks, no session-bound state, so any PostgreSQL-wire engine runs it and a lease
 * survives a reconnect). Taken by a conditional UPDATE that only succeeds when the lease is free or
 * expired, which also bumps the epoch; renewed by its holder a third of the expiry before it runs
 * out, by an UPDATE that names the epoch: once another server took the lease, the old holder's
 * renewal finds nothing and it stops. A holder that cannot renew (PostgreSQL away, or the process
 * paused) stops on its own clock when its expiry passes, before anyone else may take the lease.
 * Before each act only the holder may do, it confirms the lease (the epoch still current in the
 * row, the expiry not passed on its clock): a holder paused between reading its work and acting on
 * it is fenced off there, not at its next renewal.
 */
import { randomUUID } from 'node:crypto';
import { SpacekvError } from '@spacekv/core';
import type { Lease } from '../store.js';
import { type Sql, isRetryable } from './connection.js';

export interface LeaseOptions {
  /** How long a lease lasts without renewal: how soon another server takes over from a dead holder. */
  readonly ttlMs: number;
}

/** One server's leases: its holder id, and the timers renewing what it holds. */
export class LeaseRows {
  readonly holder = randomUUID();
  private readonly held = new Set<() => Promise<void>>();

  constructor(private readonly sql: () => Sql, private readonly options: LeaseOptions) {}

  /** Take `name` if it is free or its holder let it expire; null when another holds it. */
  async acquire(name: string): Promise<Lease | null> {
    const { ttlMs } = this.options;
    const sql = this.sql();
    await sql.unsafe('INSERT INTO leases (name, holder, epoch, expires_at) VALUES ($1, NULL, 0, NULL) ON CONFLICT (name) DO NOTHING', [name]);
    const startedAt = performance.now();
    let rows: { epoch: string }[];
    try {
      rows = await sql.unsafe<{ epoch: string }[]>(
        `UPDATE leases SET holder = $2, epoch = epoch + 1, expires_at = now() + $3 * interval '1 millisecond'
         WHERE name = $1 AND (holder IS NULL OR expires_at < now()) RETURNING epoch`,
        [name, this.holder, ttlMs],
      );
    } catch (err) {
      if (isRetryable(err)) return null; // another server took it at the same moment
      throw err;
    }
    const [row] = rows;
    if (!row) return null;
    return this.hold(name, Number(row.epoch), startedAt);
  }

  private hold(name: string, epoch: number, grantedAt: number): Lease {
    const { ttlMs } = this.options;
    const controller = new AbortController();
    /** When the last renewal that succeeded was sent: the lease is ours until then + ttl, on our clock. */
    let renewedAt = grantedAt;
    let timer: NodeJS.Timeout | undefined;
    const lose = (reason: string): void => {
      clearTimeout(timer);
      this.held.delete(release);
      if (!controller.signal.aborted) controller.abort(new SpacekvError('unavailable', `the lease '${name}' was lost: ${reason}`));
    };
    /** The row no longer names this holder's epoch as live. */
    const fenced = (): void => lose(`it expired, or another server holds it now (epoch ${epoch} is fenced off)`);
    /** This holder's own clock says the expiry passed since the last renewal it saw answered. */
    const expired = (): void => lose('its expiry passed before it could be renewed');
    const renew = async (): Promise<void> => {
      if (controller.signal.aborted) return;
      // A process paused past its expiry (SIGSTOP, a long GC) stops before doing anything else.
      if (performance.now() - renewedAt >= ttlMs) return expired();
      const sentAt = performance.now();
      try {
        // Not once expired: a renewal sent before a pause and run after the expiry would keep the
        // lease from the others for another ttl, for a holder that stops on its own clock anyway.
        const rows = await this.sql().unsafe(
          `UPDATE leases SET expires_at = now() + $4 * interval '1 millisecond'
           WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now() RETURNING epoch`,
          [name, this.holder, epoch, ttlMs],
        );
        if (rows.length === 0) return fenced();
        renewedAt = sentAt;
      } catch {
        // PostgreSQL away: try again soon; the expiry check above stops the holder in time.
      }
      if (performance.now() - renewedAt >= ttlMs) return expired();
      if (!controller.signal.aborted) {
        timer = setTimeout(() => void renew(), Math.max(10, Math.min(ttlMs / 3, renewedAt + ttlMs - performance.now())));
        timer.unref();
      }
    };
    timer = setTimeout(() => void renew(), ttlMs / 3);
    timer.unref();
    const confirm = async (): Promise<void> => {
      if (!controller.signal.aborted) {
        // A read, not a renewal: it writes nothing (no commit to wait for) on every page the holder acts on.
        const rows = await this.sql().unsafe(
          'SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()', [name, this.holder, epoch], { prepare: true });
        if (rows.length === 0) fenced();
        // The row says no other holder as of when PostgreSQL read it; our clock says the expiry, which
        // PostgreSQL set no earlier than renewedAt + ttl, has not passed since (the reply may have
        // waited in a paused process for any time).
        else if (performance.now() - renewedAt >= ttlMs) expired();
      }
      if (controller.signal.aborted) throw controller.signal.reason;
    };
    const release = async (): Promise<void> => {
      if (controller.signal.aborted) return;
      lose('released');
      await this.sql().unsafe('UPDATE leases SET holder = NULL, expires_at = NULL WHERE name = $1 AND holder = $2 AND epoch = $3', [name, this.holder, epoch]);
    };
    this.held.add(release);
    return { signal: controller.signal, confirm, release };
  }

  /** Give up every lease held (on close). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.held].map((release) => release().catch(() => {})));
  }
}
