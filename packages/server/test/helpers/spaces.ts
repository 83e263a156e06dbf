/** Waits on what servers sharing one store learn from each other. */
import { connect } from '@spacekv/client';
import { sleep } from './timeout.js';

/**
 * A space added on one server reaches the others' catalogs through PostgreSQL's notification, a
 * moment later (docs/postgres.md): wait until the server at `url` knows it, so the clients that start
 * there find it.
 */
export async function untilKnown(url: string, space: string): Promise<void> {
  const probe = await connect(url);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await probe.describeSpace(space);
        return;
      } catch (err) {
        if (attempt >= 400) throw err;
        await sleep(25);
      }
    }
  } finally {
    await probe.close();
  }
}
