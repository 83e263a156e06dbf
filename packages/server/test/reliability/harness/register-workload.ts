/**
 * The register workload of the linearizability runs: concurrent clients on a few hot keys, each
 * issuing one operation at a time (Jepsen's processes) drawn from a seeded mix of get, put,
 * put_if_not_exist, compare_and_swap (on the last version it saw), atomic add and del, every one
 * recorded in the history. Written values are unique, which makes the checker's job sharp.
 */
import { HistoryRecorder, type HistoryOp } from '../checker/history.js';
import type { RegisterInput, RegisterOutput } from '../checker/register-model.js';
import type { RegisterClient } from './register-client.js';
import type { Rng } from './seed.js';
import { sleep } from '../../helpers/timeout.js';

export const REGISTER_SPACE = 'reg';
export const registerSchema = (space: string = REGISTER_SPACE): string => `space ${space} key k attributes int v`;

export type RegisterHistory = readonly HistoryOp<RegisterInput, RegisterOutput>[];

export interface RegisterRunOptions {
  readonly clients: readonly RegisterClient[];
  readonly keys: readonly string[];
  readonly rng: Rng;
  /** Operations each client issues. */
  readonly opsPerClient: number;
  /** The space to use (a run may share a server with others). */
  readonly space?: string;
  /** Checked before each operation: true ends the run early (e.g. once a failover is over). */
  readonly stop?: () => boolean;
}

export interface RegisterRun {
  readonly history: RegisterHistory;
  /** Error messages of fail/info completions, by message prefix, for the run's summary. */
  readonly errors: ReadonlyMap<string, number>;
}

export async function runRegisterWorkload(options: RegisterRunOptions): Promise<RegisterRun> {
  const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
  const errors = new Map<string, number>();
  let nextValue = 1;
  const space = options.space ?? REGISTER_SPACE;
  await Promise.all(options.clients.map(async (client, process) => {
    const lastVersion = new Map<string, number>();
    for (let i = 0; i < options.opsPerClient && !options.stop?.(); i++) {
      const key = options.rng.pick(options.keys);
      const input = nextInput(options.rng, lastVersion.get(key) ?? 0, () => nextValue++);
      const op = recorder.invoke(process, key, input);
      const done = await client.run(space, key, input);
      if (done.outcome === 'ok') {
        recorder.ok(op, done.output);
        if (done.output.version !== undefined) lastVersion.set(key, done.output.version);
      } else {
        if (done.outcome === 'fail') recorder.fail(op);
        else recorder.info(op);
        const kind = `${client.front} ${done.outcome} ${done.error.split(':')[0]}`;
        errors.set(kind, (errors.get(kind) ?? 0) + 1);
        await sleep(20 + options.rng.int(80)); // back off, as a real client would, while the server is down

      }
    }
  }));
  return { history: recorder.history(), errors };
}

function nextInput(rng: Rng, version: number, value: () => number): RegisterInput {
  const roll = rng.next();
  if (roll < 0.3) return { f: 'get' };
  if (roll < 0.45) return { f: 'put', value: value() };
  if (roll < 0.5) return { f: 'put_if_not_exist', value: value() };
  if (roll < 0.8) return { f: 'cas', version, value: value() };
  if (roll < 0.92) return { f: 'add', delta: 1 + rng.int(5) };
  return { f: 'del' };
}
