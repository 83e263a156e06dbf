/**
 * A guard against one known defect of postgres.js 3.4.9 (porsager/postgres#1192, #1205, #1223):
 * on each new connection the driver runs its own array-types query (`fetch_types`) and drops the
 * promise. If the connection dies during that query (a primary killed in a failover, a backend
 * terminated while it starts), the error surfaces as an unhandled rejection, and Node ends the
 * process on one: a failover would take spacekv servers down with it. The query that opened the
 * connection fails on its own terms (the store answers it `unavailable`), so that rejection
 * carries nothing left to act on.
 *
 * `fetch_types: false` would avoid the query, but the store's array parameters (`bytea[]`,
 * `text[]`) need the serializers it installs. So this guard takes exactly that rejection (the
 * driver tags a query's error with the query's text) and leaves every other unhandled rejection
 * to end the process as Node's default would.
 */

/** The array-types query's text, as the driver tags its error with it. */
const TYPE_QUERY_MARK = 'from pg_catalog.pg_type a';

let installed = false;
let swallowed = 0;

/** Whether `reason` is the driver's dropped array-types query failing. */
export function isDroppedTypeQueryError(reason: unknown): boolean {
  if (typeof reason !== 'object' || reason === null) return false;
  const query = (reason as { query?: unknown }).query;
  return typeof query === 'string' && query.includes(TYPE_QUERY_MARK);
}

/** Install the guard once per process (every PostgreSQL store shares it). */
export function guardDriverRejections(): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    if (isDroppedTypeQueryError(reason)) {
      swallowed++;
      return;
    }
    // A listener replaces Node's default for every rejection: keep that default (end the process
    // with the error) for everything else.
    throw reason;
  });
}

/** Rejections the guard has taken since the process started (the driver-rejections test reads it). */
export function droppedTypeQueryErrors(): number {
  return swallowed;
}
