/**
 * Every bound of packages/core/src/limits.ts switched off, for the `bounds-off` variant (issue 13:
 * the bounds must cost nothing measurable). "Off" is a value the bench never reaches, so each check
 * still runs but never bites; the comparison is then the cost of the checks and of the bookkeeping
 * behind them. The type lists every limit, so a new limit fails the build until it is added here
 * (and bench/test/variants.test.ts checks the same at run time, against DEFAULT_LIMITS).
 *
 * Three entries change what the server does, not only what it checks, and can make bounds-off faster
 * for that reason alone: batchWritesMax (a group-commit batch takes every queued write),
 * readCacheBytesMax (the read cache keeps every object read or written) and pointReadBatchKeysMax
 * (a PostgreSQL statement of coalesced point reads takes every get waiting for it).
 */
import { LIMIT_MS_MAX, type Limits } from '@spacekv/core';

/** Far past any count or byte size the bench reaches (1 TiB), and still a safe integer after any arithmetic the server does with it. */
const HUGE = 2 ** 40;
/**
 * The longest duration the server takes (about 24.8 days). Not Node's largest timer (2^31-1 ms):
 * Node's HTTP server arms the keep-alive timer 1 s past connectionIdleMs, and at 2^31-1 that
 * overflowed, so Node wrote a TimeoutOverflowWarning (a stack trace and a line on stderr) on every
 * REST response, which made bounds-off about 1.7x the CPU per REST request of the default server.
 */
const MS_OFF = LIMIT_MS_MAX;

export const BOUNDS_OFF: { readonly [K in keyof Limits]: number } = Object.freeze({
  keyBytesMax: HUGE, // the bench's keys are under 30 bytes
  valueBytesMax: HUGE, // values are 100 bytes (1 KB for YCSB records)
  requestBytesMax: HUGE, // frames of 1,024 requests stay under a megabyte
  refusedBodyBytesMax: HUGE, // nothing is refused for its size
  refusedBodyDrainMsMax: MS_OFF, // a timer: the longest the server takes
  attributesMax: HUGE, // spaces declare 1-10 attributes
  nameLengthMax: HUGE, // names are under 20 characters
  collectionElementsMax: HUGE, // no collection values
  documentDepthMax: HUGE, // no documents deeper than 2 (search section)
  documentPathDepthMax: HUGE,
  documentPathLengthMax: HUGE,
  mutationsPerOpMax: HUGE,
  txOpsMax: HUGE, // loads use tx of 1,000 puts
  predicatesPerOpMax: HUGE,
  schemaLengthMax: HUGE,
  spacesMax: HUGE, // the catalog section adds 10,000 spaces
  batchWritesMax: HUGE, // changes behaviour: a batch takes every queued write (at most the in-flight level)
  writeQueueDepthMax: HUGE, // at most 1,024 writes in flight per client
  inflightRequestsMax: HUGE,
  sendBufferBytesMax: HUGE,
  replyBufferBytesMax: HUGE,
  connectionsMax: HUGE, // 64 connections at most
  connectionIdleMs: MS_OFF, // a timer
  requestHeadersMs: MS_OFF, // a timer (Node's headersTimeout, not above requestTimeout: both the same)
  requestReceiveMs: MS_OFF, // a timer
  watchLogPagesPerTurnMax: HUGE, // a replay never yields
  expireInSecondsMax: HUGE, // now + 2^40 s is still a valid Date (under 8.64e15 ms)
  subscriptionsMax: HUGE,
  watchersMax: HUGE,
  amqpWatchQueueMessagesMax: HUGE,
  amqpWatchIdleMs: MS_OFF, // a timer
  watchPageChangesMax: HUGE,
  recentChangesMax: HUGE, // memory grows with every change of the run (24 GB machines; a full bench writes a few GB at most)
  recentChangeBytesMax: HUGE,
  searchPageObjectsMax: HUGE, // only the largest allowed limit; the default page (100) stays as it is
  scanRowsMax: HUGE,
  searchPageBytesMax: HUGE,
  indexBuildBatchRowsMax: HUGE, // an online index build is one transaction
  purgeBatchRowsMax: HUGE,
  txReplyBytesMax: HUGE,
  batchReplyBytesMax: HUGE,
  conditionStepsMax: HUGE,
  searchStepsMax: HUGE,
  tokenCacheEntriesMax: HUGE, // one token per variant
  tokensMax: HUGE,
  tokenLengthMax: HUGE,
  authFailuresPerMinuteMax: HUGE,
  authFailureAddressesMax: HUGE,
  clientRequestsPerSecondMax: HUGE, // rate limiting is off on loopback anyway
  rateLimitedClientsMax: HUGE,
  snapshotsInflightMax: HUGE, // the ops section takes one snapshot at a time
  readCacheBytesMax: HUGE, // changes behaviour: the read cache keeps every object read or written
  pointReadBatchKeysMax: HUGE, // changes behaviour: one PostgreSQL statement takes every waiting get (at most the in-flight level)
  largeValueBytesMax: HUGE,
  largeUploadsInflightMax: HUGE,
  largeUploadsPerClientMax: HUGE,
  largeUploadProgressBytesMin: 1, // a floor, not a ceiling: off is the smallest positive value
  largeUploadProgressWindowMs: MS_OFF, // a timer
  largeUploadIdleMs: MS_OFF, // a timer
});

export type LimitName = keyof Limits;

export function isLimitName(name: string): name is LimitName {
  return Object.hasOwn(BOUNDS_OFF, name);
}

/** The server's flags that switch off `names` (every limit unless given): one `--limit name=value` each. */
export function boundsOffArgs(names: readonly LimitName[] = Object.keys(BOUNDS_OFF) as LimitName[]): string[] {
  return names.flatMap((name) => ['--limit', `${name}=${BOUNDS_OFF[name]}`]);
}
