/**
 * A body refused for its size is read to its end before the refusal is sent. A client that writes
 * the whole body before it reads (Node's fetch, many others) otherwise meets a connection closed
 * under its writes and reports a broken pipe ("fetch failed") instead of the 413. The rest of the
 * body is discarded as it arrives, within two bounds (limits.ts): past `refusedBodyBytesMax` bytes
 * or `refusedBodyDrainMsMax` milliseconds the answer goes out at once and Node closes the
 * connection, as it does for any request whose body was not read.
 */
import type { IncomingMessage } from 'node:http';
import type { Limits } from '@spacekv/core';

/** Whether fastify refused this request's body for its size (declared or counted). */
export function isRefusedBody(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
}

/** Resolves once the body has ended, or a bound is reached, or the connection has gone. */
export function discardRefusedBody(raw: IncomingMessage, limits: Limits): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  // A declared length past the bound would be cut anyway: answer now rather than read it.
  if (Number(raw.headers['content-length']) > limits.refusedBodyBytesMax) return Promise.resolve();
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = (): void => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', finish).off('error', finish).off('close', finish);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > limits.refusedBodyBytesMax) finish();
    };
    const timer = setTimeout(finish, limits.refusedBodyDrainMsMax);
    raw.on('data', onData).once('end', finish).once('error', finish).once('close', finish);
    raw.resume();
  });
}
