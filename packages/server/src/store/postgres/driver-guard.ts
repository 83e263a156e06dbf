/**
 * A guard against one crash of postgres.js 3.4.9 (porsager/postgres#1154 and #1208; the fixes,
 * #1168 and #1209, are not released). The driver sends a message under 1 KB from a `setImmediate`;
 * when a query is given to a connection whose socket has already closed (a reserved connection
 * whose backend died, as in a failover or a cut connection), that callback calls `write` on a null
 * socket and throws out of every caller's reach, which ends the process. The reliability suite on
 * PostgreSQL met it under its connection cuts: a spacekv server died with the driver's TypeError
 * instead of answering `unavailable`.
 *
 * This listener takes that one exception, recognised by its message and its frame in the driver's
 * `nextWrite`, and nothing else: the query whose bytes were lost never gets an answer. On a batch's
 * connection, the only one the store reserves while serving, the batch deadline settles it
 * (`unavailable`, or `outcome_unknown` for a COMMIT that may have been sent) and replaces the
 * connections; the start-up migration lock's connection is under the open deadline. `spacekv
 * export` and `spacekv backup` open no store, so they never install this listener and end with
 * code 1 on the same fault. Any other uncaught exception or unhandled rejection ends the process as
 * Node does when nobody listens: the error on stderr, exit code 1.
 */

/** Whether `err` is the driver's write on a closed connection. */
function isDriverNullSocketWrite(err: unknown): boolean {
  return err instanceof TypeError
    && err.message === "Cannot read properties of null (reading 'write')"
    && /\n\s+at (Immediate\.)?nextWrite \([^)\n]*[/\\]postgres[/\\](cjs[/\\])?src[/\\]connection\.js:/.test(err.stack ?? '');
}

function onUncaught(err: unknown, origin: NodeJS.UncaughtExceptionOrigin): void {
  if (origin === 'uncaughtException' && isDriverNullSocketWrite(err)) {
    process.emitWarning('postgres.js wrote to a closed connection (porsager/postgres#1208); the query is left to its deadline', { code: 'SPACEKV_PG_CLOSED_WRITE' });
    return;
  }
  console.error(origin === 'unhandledRejection' ? 'Unhandled rejection:' : 'Uncaught exception:', err);
  process.exit(1);
}

/** Install the listener once per process; every PostgreSQL store calls it when it connects. */
export function guardDriverWrites(): void {
  if (!process.listeners('uncaughtException').includes(onUncaught)) process.on('uncaughtException', onUncaught);
}
