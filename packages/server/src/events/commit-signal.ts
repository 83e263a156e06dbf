/**
 * "The log may have grown": what wakes the change feed and the AMQP relay. The engine's commit hook
 * covers every change this process commits. A store shared by several servers (PostgreSQL) also
 * takes changes committed by the others, which fire no hook here: for it the signal also fires
 * every `pollMs` (0: never), and the readers find what is new in the log itself. A listener gets
 * this process's own committed changes (in seq order) when the engine's hook fires, and nothing
 * when another server's commit or the poll woke it.
 */
import type { Change } from '@spacekv/core';

export type CommitListener = (changes?: readonly Change[]) => void;
export type CommitSignal = (listener: CommitListener) => () => void;

export function commitSignal(onCommit: (listener: CommitListener) => () => void, pollMs: number): CommitSignal {
  return (listener) => {
    const unsubscribe = onCommit(listener);
    if (pollMs <= 0) return unsubscribe;
    const timer = setInterval(() => listener(), pollMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      unsubscribe();
    };
  };
}
