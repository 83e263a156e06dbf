/**
 * The set workload: clients add unique elements (each a put of its own key) while faults happen;
 * at the end every element is read back. Every acknowledged add must be present, every add that
 * definitely failed absent; an add of unknown outcome may be either.
 */
import type { RegisterClient } from './register-client.js';
import type { Rng } from './seed.js';
import { sleep } from '../../helpers/timeout.js';

export interface SetRun {
  readonly acked: readonly string[];
  readonly failed: readonly string[];
  readonly unknown: readonly string[];
}

export interface SetOptions {
  readonly clients: readonly RegisterClient[];
  readonly space: string;
  /** Element keys are `<prefix>-<client>-<n>`. */
  readonly prefix: string;
  readonly addsPerClient: number;
  readonly rng: Rng;
  /** Checked before each add: true ends the run early (e.g. once the server was killed). */
  readonly stop?: () => boolean;
  /** Called on each acknowledged add, as it happens (to time a fault under load). */
  readonly onAck?: () => void;
}

export async function runSetAdds(options: SetOptions): Promise<SetRun> {
  const { clients, space, prefix, rng } = options;
  const acked: string[] = [];
  const failed: string[] = [];
  const unknown: string[] = [];
  await Promise.all(clients.map(async (client, c) => {
    for (let i = 0; i < options.addsPerClient && !options.stop?.(); i++) {
      const key = `${prefix}-${c}-${i}`;
      const done = await client.run(space, key, { f: 'put', value: i });
      if (done.outcome === 'ok') {
        acked.push(key);
        options.onAck?.();
      }
      else {
        (done.outcome === 'fail' ? failed : unknown).push(key);
        await sleep(20 + rng.int(80));
      }
    }
  }));
  return { acked, failed, unknown };
}

/** Read every element back; returns what is wrong (lost acknowledged adds, present failed ones). */
export async function setViolations(reader: RegisterClient, space: string, run: SetRun): Promise<string[]> {
  const problems: string[] = [];
  const present = async (key: string): Promise<boolean> => {
    const done = await reader.run(space, key, { f: 'get' });
    if (done.outcome !== 'ok') throw new Error(`cannot read ${key} back: ${done.error}`);
    return done.output.ok;
  };
  const [acked, failed] = await Promise.all([Promise.all(run.acked.map(present)), Promise.all(run.failed.map(present))]);
  run.acked.forEach((key, i) => { if (!acked[i]) problems.push(`acknowledged add ${key} is lost`); });
  run.failed.forEach((key, i) => { if (failed[i]) problems.push(`failed add ${key} is present`); });
  return problems;
}
