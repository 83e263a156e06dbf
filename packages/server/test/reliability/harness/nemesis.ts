/**
 * The nemesis: while a workload runs, it injects faults into the server under test at seeded,
 * random intervals, one at a time, each kind in turn: kill -9 and restart, SIGSTOP/SIGCONT, cutting the connections.
 */
import { sleep } from '../../helpers/timeout.js';
import type { ServerUnderTest } from './server-under-test.js';
import type { Rng } from './seed.js';

export type Fault = 'kill' | 'pause' | 'drop';

export interface Nemesis {
  /** Stop after the fault in progress; rejects if a fault failed (e.g. the server did not restart). */
  stop(): Promise<void>;
  /** Whether a fault failed: the nemesis has stopped, and the workload should too (stop() says why). */
  failed(): boolean;
}

export function startNemesis(sut: ServerUnderTest, rng: Rng, faults: readonly Fault[], meanIntervalMs: number): Nemesis {
  return startFaultLoop(faults.map((fault) => async () => {
    if (fault === 'kill') await sut.crash();
    else if (fault === 'pause') await sut.pause(50 + rng.int(250));
    else sut.dropConnections();
  }), rng, meanIntervalMs);
}

/** Run `faults` one at a time, each in turn from a seeded start, at seeded random intervals. */
export function startFaultLoop(faults: readonly (() => Promise<void>)[], rng: Rng, meanIntervalMs: number): Nemesis {
  let stopping = false;
  let failed = false;
  // Every kind in turn, from a seeded start, so even a short run sees each kind of fault.
  let turn = rng.int(faults.length);
  const loop = (async () => {
    while (!stopping) {
      await sleep(meanIntervalMs / 2 + rng.int(meanIntervalMs));
      if (stopping) break;
      await faults[turn++ % faults.length]!();
    }
  })();
  loop.catch(() => (failed = true));
  return {
    async stop() {
      stopping = true;
      await loop;
    },
    failed: () => failed,
  };
}
