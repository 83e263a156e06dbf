/**
 * The minimum-progress rule of a large-value upload: its client must send
 * largeUploadProgressBytesMin bytes in every largeUploadProgressWindowMs of waiting, or the upload
 * is cut (`request_timeout`). Without it a client sending a byte a minute keeps its connection
 * alive past connectionIdleMs and holds its upload place for as long as it likes. Only time spent
 * waiting for the client counts: the clock stops while the server stores a chunk (the socket is
 * not read meanwhile), so a slow store never cuts its clients.
 */
import { type Limits, SpacekvError } from '@spacekv/core';

export class UploadProgress {
  /** Bytes received in the current window. */
  private bytes = 0;
  /** Milliseconds of the current window spent waiting for the client. */
  private waitedMs = 0;

  /** Whether the upload was cut for its pace (a read of its body is then still pending). */
  stalled = false;

  constructor(private readonly limits: Limits) {}

  /** `next` (the body's next piece), or a `request_timeout` rejection once the window runs out first. */
  async within<T>(next: Promise<T>): Promise<T> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.stalled = true;
        reject(this.stallError());
      }, Math.max(0, this.limits.largeUploadProgressWindowMs - this.waitedMs)).unref(); // the upload's socket keeps the process alive, not this
    });
    try {
      return await Promise.race([next, stalled]);
    } finally {
      clearTimeout(timer);
      this.waitedMs += performance.now() - started;
    }
  }

  /** Count `n` bytes received; enough of them start a new window. */
  received(n: number): void {
    this.bytes += n;
    if (this.bytes >= this.limits.largeUploadProgressBytesMin) {
      this.bytes = 0;
      this.waitedMs = 0;
    }
  }

  private stallError(): SpacekvError {
    const { largeUploadProgressBytesMin: bytes, largeUploadProgressWindowMs: ms } = this.limits;
    return new SpacekvError('request_timeout', `the upload sent fewer than ${bytes} bytes in ${ms} ms (largeUploadProgressBytesMin, largeUploadProgressWindowMs); nothing was written`, {
      limit: 'largeUploadProgressBytesMin',
    });
  }
}
