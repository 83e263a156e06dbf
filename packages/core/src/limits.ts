/**
 * Every bound of spacekv, in one place, with the unit last in each name (docs/architecture.md §4.7).
 * Past a bound a request gets a typed error (`too_large`, `overloaded`), never unbounded growth.
 * The defaults are generous; the server takes overrides from its configuration.
 */
export interface Limits {
  /** UTF-8 bytes of a key (a string key; int keys are always 8 bytes). */
  readonly keyBytesMax: number;
  /** Bytes of an object's attributes in their JSON encoding. */
  readonly valueBytesMax: number;
  /** Bytes of one request body (REST) or frame (WebSocket). */
  readonly requestBytesMax: number;
  /**
   * Bytes of a REST body refused for its size that are read and discarded before the 413 is sent,
   * so a client still sending it (Node's fetch) reads the answer; past it the connection is cut.
   */
  readonly refusedBodyBytesMax: number;
  /** Milliseconds spent discarding a refused body before the 413 is sent and the connection cut. */
  readonly refusedBodyDrainMsMax: number;
  /** Attributes one space may declare. */
  readonly attributesMax: number;
  /** Characters of a space or attribute name. */
  readonly nameLengthMax: number;
  /** Elements of one list, set or map value. */
  readonly collectionElementsMax: number;
  /** Nesting depth of a `document` value. */
  readonly documentDepthMax: number;
  /** Steps of a document path (`info.name` has 2) where an attribute name may be written. */
  readonly documentPathDepthMax: number;
  /** Characters of a document path, dots included. */
  readonly documentPathLengthMax: number;
  /** Mutations in one `mutate`. */
  readonly mutationsPerOpMax: number;
  /** Checks and operations, counted together, in one `tx`. */
  readonly txOpsMax: number;
  /** Predicates (attribute conditions, counting each `or` branch) in one condition. */
  readonly predicatesPerOpMax: number;
  /** Characters of a schema DSL text. */
  readonly schemaLengthMax: number;
  /** Spaces one store may hold. */
  readonly spacesMax: number;
  /** Writes committed together in one group-commit batch. */
  readonly batchWritesMax: number;
  /** Writes waiting for a batch, across all connections; past it writes fail `overloaded`. */
  readonly writeQueueDepthMax: number;
  /** Requests accepted but not yet answered on one connection; past it requests fail `overloaded`. */
  readonly inflightRequestsMax: number;
  /**
   * Bytes of replies buffered for one connection (a WebSocket, an HTTP/1.1 connection's pipelined
   * replies, one SSE stream) and not yet taken by its peer; past it the server runs none of that
   * connection's further requests and stops reading it (an SSE stream pauses) until it drains.
   */
  readonly sendBufferBytesMax: number;
  /**
   * Bytes of replies and events buffered across every connection; past it new requests answer
   * `overloaded` and SSE streams pause, until peers take what is buffered.
   */
  readonly replyBufferBytesMax: number;
  /** TCP connections (REST, SSE and WebSocket together) one server holds at once; past it a new one is refused 503 `overloaded`. */
  readonly connectionsMax: number;
  /** Milliseconds an HTTP connection may sit with no request in progress before the server closes it (WebSocket peers are pinged instead). */
  readonly connectionIdleMs: number;
  /** Milliseconds a client has to send a request's headers, from its first byte (or from the connection's start). */
  readonly requestHeadersMs: number;
  /** Milliseconds a client has to send a whole request, body included. */
  readonly requestReceiveMs: number;
  /** Pages of the change log one watcher reads before it lets the event loop take other work (a replay from an old seq yields between slices). */
  readonly watchLogPagesPerTurnMax: number;
  /** Seconds of the longest `expire_in`. */
  readonly expireInSecondsMax: number;
  /** Watch subscriptions one WebSocket connection may hold. */
  readonly subscriptionsMax: number;
  /** Watchers (SSE streams, WebSocket subscriptions and AMQP event streams) one server serves at once. */
  readonly watchersMax: number;
  /** Messages an AMQP event stream's queue may hold unread; past it the stream ends (the subscriber resubscribes with `since`). */
  readonly amqpWatchQueueMessagesMax: number;
  /** Milliseconds an AMQP event stream's queue may go without a consumer (checked twice) before the stream ends and the queue is deleted. */
  readonly amqpWatchIdleMs: number;
  /** Changes a watcher is sent per page (more when one tx is larger: a seq is never split). */
  readonly watchPageChangesMax: number;
  /** Recent changes kept in memory for watchers that keep up; one further behind reads the log. */
  readonly recentChangesMax: number;
  /** Bytes of attribute text those recent changes may hold (large objects shorten the memory). */
  readonly recentChangeBytesMax: number;
  /** Objects in one search or list page, and the largest `limit` of a sorted_search. */
  readonly searchPageObjectsMax: number;
  /** Rows a scan examines for one page before it answers (with a cursor) even if the page is not full. */
  readonly scanRowsMax: number;
  /** Bytes of attribute JSON in one search or list page; a page stops (with a cursor) once past it. */
  readonly searchPageBytesMax: number;
  /** Objects indexed per writer transaction while an index is built online (PostgreSQL: also the rows one purge slice of a removed space or index deletes). */
  readonly indexBuildBatchRowsMax: number;
  /**
   * Rows (objects and index entries) deleted per writer transaction while the rows of a removed
   * space or index are purged in the background: the catalog change is immediate, the delete is
   * sliced so that writes keep committing between slices.
   */
  readonly purgeBatchRowsMax: number;
  /**
   * Bytes of object text (the attribute JSON its reads and writes return) one `tx` may answer with;
   * the tx stops with `too_large` as soon as its results pass it, so a tx of many reads of large
   * objects can never grow its reply (or the writer's memory) without bound.
   */
  readonly txReplyBytesMax: number;
  /**
   * Bytes of object text the tx results of one group-commit batch may carry back from the store
   * together; a tx that would pass it fails `overloaded` (nothing applied; it fits a later batch).
   */
  readonly batchReplyBytesMax: number;
  /**
   * Steps (regex program instructions × characters tested, each test charged its worst case before
   * it runs) one write's conditions, one tx's checks and conditions, or one page of a watch filter
   * may take: they run on the writer thread or the event loop, where everyone else waits.
   */
  readonly conditionStepsMax: number;
  /** Steps, counted the same way, one search page or one count may take on a search thread. */
  readonly searchStepsMax: number;
  /** Verified tokens a server keeps (a token is verified once, then looked up); the oldest go past it. */
  readonly tokenCacheEntriesMax: number;
  /** Tokens (created, not yet revoked or forgotten) one store may hold. */
  readonly tokensMax: number;
  /** Characters of a bearer token; longer ones are refused before any parsing. */
  readonly tokenLengthMax: number;
  /** Failed authentications one client address may make per minute; past it its requests get `rate_limited` until the minute ends. */
  readonly authFailuresPerMinuteMax: number;
  /** Distinct client addresses whose failed authentications are counted at once (the counter table's bound). */
  readonly authFailureAddressesMax: number;
  /**
   * Requests per second one client (a token record, or an address without tokens) may send, with
   * bursts up to one second's worth, while rate limiting is on (`--rate-limit`; on by default
   * beyond loopback); past it, `rate_limited`.
   */
  readonly clientRequestsPerSecondMax: number;
  /** Clients whose request rate is tracked at once; the least recently seen is forgotten first. */
  readonly rateLimitedClientsMax: number;
  /** Online backups (snapshots of the store) one server takes at once; past it a backup answers `overloaded`. */
  readonly snapshotsInflightMax: number;
  /**
   * Bytes of recently read and written objects the embedded (SQLite) store keeps in memory for
   * point reads; past it the least recently used are forgotten (read from the file again).
   */
  readonly readCacheBytesMax: number;
  /**
   * Keys one statement of the PostgreSQL store reads for point reads asked together (of one space);
   * the gets past it wait for the next statement.
   */
  readonly pointReadBatchKeysMax: number;
  /**
   * Bytes of one large value: a `bytes` attribute streamed in through
   * `PUT …/objects/:key/attributes/:attr` and stored off to the side in chunks (large-values.ts).
   */
  readonly largeValueBytesMax: number;
  /** Large-value uploads one server receives at once; past it an upload answers `overloaded` before its body is read. */
  readonly largeUploadsInflightMax: number;
  /**
   * Large-value uploads one client (a token record, or an address where the server requires no
   * token) may have in flight at once, so one client cannot hold every place of
   * largeUploadsInflightMax; past it its upload answers `rate_limited` before its body is read.
   */
  readonly largeUploadsPerClientMax: number;
  /**
   * Bytes an upload must send in every largeUploadProgressWindowMs; one that sends fewer (a trickle
   * that would hold its place for days) is cut with `request_timeout` and its staged chunks removed.
   */
  readonly largeUploadProgressBytesMin: number;
  /**
   * Milliseconds of waiting for an upload's body in which it must send largeUploadProgressBytesMin.
   * Time the server spends storing a chunk does not count: a slow store never cuts its clients.
   */
  readonly largeUploadProgressWindowMs: number;
  /**
   * Milliseconds an upload may go without receiving a chunk before its staged chunks count as
   * abandoned (a cut connection, a crashed server) and the sweeper removes them.
   */
  readonly largeUploadIdleMs: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  keyBytesMax: 1024,
  valueBytesMax: 1024 * 1024,
  requestBytesMax: 4 * 1024 * 1024,
  refusedBodyBytesMax: 64 * 1024 * 1024,
  refusedBodyDrainMsMax: 10_000,
  attributesMax: 256,
  nameLengthMax: 64,
  collectionElementsMax: 100_000,
  documentDepthMax: 64,
  documentPathDepthMax: 32,
  documentPathLengthMax: 512,
  mutationsPerOpMax: 256,
  txOpsMax: 10_000,
  predicatesPerOpMax: 256,
  schemaLengthMax: 64 * 1024,
  spacesMax: 10_000,
  batchWritesMax: 512,
  writeQueueDepthMax: 100_000,
  inflightRequestsMax: 10_000,
  sendBufferBytesMax: 16 * 1024 * 1024,
  replyBufferBytesMax: 256 * 1024 * 1024,
  connectionsMax: 10_000,
  connectionIdleMs: 72_000,
  requestHeadersMs: 30_000,
  requestReceiveMs: 120_000,
  watchLogPagesPerTurnMax: 1,
  expireInSecondsMax: 100 * 365 * 24 * 3600,
  subscriptionsMax: 1_000,
  watchersMax: 10_000,
  amqpWatchQueueMessagesMax: 100_000,
  amqpWatchIdleMs: 60_000,
  watchPageChangesMax: 256,
  recentChangesMax: 8_192,
  recentChangeBytesMax: 32 * 1024 * 1024,
  searchPageObjectsMax: 1000,
  scanRowsMax: 10_000,
  searchPageBytesMax: 4 * 1024 * 1024,
  indexBuildBatchRowsMax: 2000,
  purgeBatchRowsMax: 5000,
  txReplyBytesMax: 16 * 1024 * 1024,
  batchReplyBytesMax: 64 * 1024 * 1024,
  conditionStepsMax: 2_000_000,
  searchStepsMax: 50_000_000,
  tokenCacheEntriesMax: 10_000,
  tokensMax: 10_000,
  tokenLengthMax: 4096,
  authFailuresPerMinuteMax: 60,
  authFailureAddressesMax: 10_000,
  clientRequestsPerSecondMax: 10_000,
  rateLimitedClientsMax: 10_000,
  snapshotsInflightMax: 1,
  readCacheBytesMax: 32 * 1024 * 1024,
  pointReadBatchKeysMax: 256,
  largeValueBytesMax: 4 * 1024 * 1024 * 1024,
  largeUploadsInflightMax: 8,
  largeUploadsPerClientMax: 2,
  largeUploadProgressBytesMin: 1024 * 1024,
  largeUploadProgressWindowMs: 60_000,
  largeUploadIdleMs: 10 * 60_000,
});

/**
 * The longest duration a milliseconds limit may take. Each becomes a Node timer, and Node's largest
 * is 2^31-1 ms; its HTTP server arms a connection's keep-alive timer 1 s past `connectionIdleMs`, so
 * the bound leaves that second. Past Node's largest a timer does not wait longer: Node truncates it
 * and writes a TimeoutOverflowWarning, on every HTTP response in the keep-alive case.
 */
export const LIMIT_MS_MAX = 2 ** 31 - 1 - 1000;

/** A milliseconds limit (its unit last in its name: `connectionIdleMs`, `refusedBodyDrainMsMax`). */
function isMilliseconds(name: string): boolean {
  return /Ms(Max)?$/.test(name);
}

/** Merge overrides onto the defaults, refusing unknown names, non-positive integers and durations past LIMIT_MS_MAX. */
export function makeLimits(overrides: Partial<Record<string, unknown>> = {}): Limits {
  const merged: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, name)) throw new RangeError(`unknown limit '${name}'`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`limit '${name}' must be a positive integer, got ${String(value)}`);
    }
    if (isMilliseconds(name) && value > LIMIT_MS_MAX) {
      throw new RangeError(`limit '${name}' is a duration in milliseconds of at most ${LIMIT_MS_MAX} (about 24.8 days, what Node's timers take), got ${value}`);
    }
    merged[name] = value;
  }
  return Object.freeze(merged) as unknown as Limits;
}

/**
 * Bounds of the web console (`/console`), which runs in the browser: what it keeps in memory and
 * what it asks of the server. Not server configuration; here so every bound is in one place.
 */
export const CONSOLE_LIMITS = Object.freeze({
  /** Objects per page of the object browser, as offered to the user (the server caps pages at `searchPageObjectsMax`). */
  browserPageObjectsChoices: [50, 100, 500] as readonly number[],
  /** Objects per page of search results. */
  searchPageObjectsMax: 50,
  /** Changes kept on screen by the change stream; older ones stay in the log (resume from their seq). */
  changesShownMax: 200,
  /** Changes arriving within this time are drawn together, so a busy stream costs one render per interval. */
  changesDrawIntervalMs: 100,
  /** How often the metrics view reads /metrics (one small request; the cost to a loaded server is in docs/console). */
  metricsScrapeIntervalMs: 2_000,
  /** Points kept per metrics chart: five minutes at one per scrape. */
  chartPointsMax: 150,
  /** How often the health view re-reads /healthz. */
  healthRefreshIntervalMs: 5_000,
  /** Characters of an object's attributes shown in a table row before it is cut. */
  previewCharsMax: 160,
});
