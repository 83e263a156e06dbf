/**
 * "The log may have grown": what wakes the change feed and the AMQP relay. The engine's commit hook
 * covers every change this process commits. A store shared by several servers (PostgreSQL) also
 * takes changes committed by the others, which fire no hook here: for it the signal also fires
 * every `pollMs` (0: never), and the readers find what is new in the log itself.
 */
export type CommitSignal = (listener: () => void) => () => void;

export function commitSignal(onCommit: (listener: () => void) => () => void, pollMs: number): CommitSignal {
  return (listener) => {
    const unsubscribe = onCommit(listener);
    if (pollMs <= 0) return unsubscribe;
    const timer = setInterval(listener, pollMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      unsubscribe();
    };
  };
}
