/**
 * The set workload over kill -9 cycles: WebSocket and REST clients add unique elements to a real
 * server process, which is killed with SIGKILL at a seeded moment under load and restarted, cycle
 * after cycle; after each restart every add acknowledged so far is read back. Used on SQLite
 * (jepsen-set) and on PostgreSQL (jepsen-postgres), and against the broken server of the negative
 * controls, which must lose acknowledged adds.
 */
import { connect } from '@spacekv/client';
import { sleep, withTimeout } from '../../helpers/timeout.js';
import { type RegisterClient, restRegisterClient, wsRegisterClient } from './register-client.js';
import { registerSchema } from './register-workload.js';
import type { ServerUnderTest } from './server-under-test.js';
import { rngOf, roundSeed } from './seed.js';
import { type SetRun, runSetAdds, setViolations } from './set-workload.js';

const SPACE = 'elements';
const ACKS_BEFORE_KILL_MIN = 20;

export interface CycleResult {
  readonly cycles: number;
  readonly acked: number;
  /** Violations found after each cycle's restart. */
  readonly violationsPerCycle: readonly string[][];
}

/** `cycles` kill -9 cycles of `sut` under adds; `whileDown` checks what the killed process left. */
export async function killCycles(sut: ServerUnderTest, cycles: number, seed: number, whileDown?: () => void): Promise<CycleResult> {
  const admin = await connect(sut.url);
  await admin.addSpace(registerSchema(SPACE));
  await admin.close();
  const clients: RegisterClient[] = [await wsRegisterClient(sut.url), await wsRegisterClient(sut.url), restRegisterClient(sut.url), restRegisterClient(sut.url)];
  const reader = await wsRegisterClient(sut.url);
  const all: { acked: string[]; failed: string[]; unknown: string[] } = { acked: [], failed: [], unknown: [] };
  const violationsPerCycle: string[][] = [];
  try {
    for (let cycle = 0; cycle < cycles; cycle++) {
      const rng = rngOf(roundSeed(seed, cycle));
      let killed = false;
      let acks = 0;
      const adding = runSetAdds({ clients, space: SPACE, prefix: `c${cycle}`, addsPerClient: 100_000, rng, stop: () => killed, onAck: () => acks++ });
      // The kill lands under load: once this cycle's writes are being acknowledged, at a seeded moment.
      await withTimeout((async () => {
        while (acks < ACKS_BEFORE_KILL_MIN) await sleep(10);
      })(), 20_000, `${ACKS_BEFORE_KILL_MIN} acknowledged adds in cycle ${cycle}`);
      await sleep(rng.int(150));
      await sut.crash(whileDown);
      killed = true;
      const run: SetRun = await adding;
      all.acked.push(...run.acked);
      all.failed.push(...run.failed);
      all.unknown.push(...run.unknown);
      violationsPerCycle.push(await setViolations(reader, SPACE, all));
    }
  } finally {
    await Promise.all([...clients, reader].map((c) => c.close()));
  }
  return { cycles, acked: all.acked.length, violationsPerCycle };
}

/** How many cycles caught a bug: those whose restart showed new losses. */
export function cyclesCatching(result: CycleResult): number {
  return result.violationsPerCycle.filter((v, i) => v.length > (result.violationsPerCycle[i - 1]?.length ?? 0)).length;
}
