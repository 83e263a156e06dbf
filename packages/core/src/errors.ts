/**
 * The one error catalogue of spacekv. Every error a user can see has a stable code listed here,
 * with its HTTP status and a one-line meaning. Codes are never reused or renamed: clients switch
 * on them. `docs/errors.md` is kept in step with this table by a test.
 *
 * Two kinds live here. *Results* (`exists`, `not_found`, `cmp_fail`, ...) are the answers of an
 * operation whose condition did not hold: the engine returns them, it never throws them. *Faults*
 * (`bad_request`, `overloaded`, `internal`, ...) are thrown as {@link SpacekvError}.
 */
export const ERRORS = {
  bad_request: { status: 400, meaning: 'The request is malformed: invalid JSON, a missing or misshapen field.' },
  invalid_schema: { status: 400, meaning: 'A space schema (DSL or JSON form) is invalid; the message names the position.' },
  invalid_key: { status: 400, meaning: 'The key is of the wrong type for the space, empty, or malformed.' },
  invalid_value: { status: 400, meaning: 'An attribute value does not fit its declared type (including ints outside 64 bits).' },
  unknown_attribute: { status: 400, meaning: 'The request names an attribute the space does not declare.' },
  invalid_predicate: { status: 400, meaning: 'A predicate is malformed or does not apply to the attribute type.' },
  invalid_path: { status: 400, meaning: 'A document path (`info.name`) is malformed, past its bounds, or goes into an attribute that is not a document.' },
  invalid_mutation: { status: 400, meaning: 'A mutation is unknown or does not apply to the attribute type.' },
  invalid_limit: { status: 400, meaning: 'A search or list limit is not a whole number between 1 and searchPageObjectsMax.' },
  invalid_cursor: { status: 400, meaning: 'A cursor is not one this space and operation handed out (malformed, from another space or operation, or from a removed space of the same name).' },
  unauthenticated: { status: 401, meaning: 'The server requires a token and the request carries none, or one that is malformed, unknown, expired or revoked.' },
  forbidden: { status: 403, meaning: 'The token is valid but does not grant this operation on this space or key; the message names the right it lacks.' },
  forbidden_origin: { status: 403, meaning: 'A browser request or WebSocket upgrade came from a web origin the server does not allow (see --cors-origin).' },
  forbidden_host: { status: 421, meaning: 'The request names a Host the server does not answer for (DNS rebinding defence; see --allowed-host).' },
  rate_limited: { status: 429, meaning: 'Too many requests from this client (clientRequestsPerSecondMax), too many failed authentications from this address this minute, or more large-value uploads at once than this client\'s share (largeUploadsPerClientMax); retry after a pause.' },
  invalid_backup: { status: 400, meaning: 'A backup file is damaged, truncated or not a spacekv backup (its checksum, size or manifest does not match); nothing was restored.' },
  invalid_export: { status: 400, meaning: 'An export file (NDJSON) is malformed, truncated or not a spacekv export; the message names the line. Lines before it were imported.' },
  unknown_space: { status: 404, meaning: 'No space of that name exists.' },
  not_found: { status: 404, meaning: 'Result: the object does not exist (or has expired).' },
  no_route: { status: 404, meaning: 'No endpoint at that path.' },
  method_not_allowed: { status: 405, meaning: 'The endpoint exists but not with that HTTP method.' },
  space_exists: { status: 409, meaning: 'A space of that name already exists.' },
  tx_failed: { status: 409, meaning: 'Result: a check or operation of a tx failed; nothing was applied; `failures` says which.' },
  conflict: { status: 409, meaning: 'A client transaction kept conflicting with concurrent writes and gave up after its attempts; nothing was applied.' },
  exists: { status: 412, meaning: 'Result: create-if-absent found the key already present.' },
  cmp_fail: { status: 412, meaning: 'Result: a version or predicate condition did not hold; carries the current version.' },
  request_timeout: { status: 408, meaning: 'The client did not send a whole request within requestHeadersMs (headers) or requestReceiveMs (body), or a large-value upload sent fewer than largeUploadProgressBytesMin bytes in largeUploadProgressWindowMs; the connection is closed.' },
  compacted: { status: 410, meaning: 'A watch or log read asked for changes after a seq that log retention has removed; start again from a fresh read.' },
  range_not_satisfiable: { status: 416, meaning: 'A Range header asks for bytes outside the value; Content-Range names its size.' },
  expectation_failed: { status: 417, meaning: 'The request\'s Expect header asks for something other than 100-continue, which is all the server meets.' },
  too_large: { status: 413, meaning: 'A key, value, body, list or a tx\'s reply is past its bound in the limits module (`limit` names it).' },
  too_costly: { status: 422, meaning: 'A predicate (e.g. a regex over a long value) would take more steps than conditionStepsMax or searchStepsMax allow; nothing was applied.' },
  unsupported_media_type: { status: 415, meaning: 'The request body is not application/json (or application/x-spacekv-schema for POST /v1/spaces, application/octet-stream for a large value); never text/plain, which pages send cross-site.' },
  overflow: { status: 422, meaning: 'Result: a numeric mutation would leave the 64-bit int range or produce a non-finite float.' },
  division_by_zero: { status: 422, meaning: 'Result: a div or mod mutation by zero.' },
  overloaded: { status: 503, meaning: 'A queue or buffer is full (`limit` names which: in-flight requests, unread replies, connections); retry later with backoff. Nothing was applied.' },
  unavailable: { status: 503, meaning: 'The store cannot be reached or failed before committing. Nothing was applied.' },
  shutting_down: { status: 503, meaning: 'The server is draining and takes no new requests. Nothing was applied.' },
  storage_full: { status: 507, meaning: 'The store\'s disk is full. Nothing was applied; writes succeed again once space is freed.' },
  outcome_unknown: { status: 504, meaning: 'The request may or may not have been applied (e.g. the connection or storage failed mid-commit).' },
  internal: { status: 500, meaning: 'A bug or an unexpected storage fault. The message says what happened.' },
} as const satisfies Record<string, { readonly status: number; readonly meaning: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Codes that an operation returns as a result rather than throwing. */
export const RESULT_CODES = ['not_found', 'exists', 'cmp_fail', 'overflow', 'division_by_zero', 'tx_failed'] as const;
export type ResultCode = (typeof RESULT_CODES)[number];
/** The result codes of one single-key operation or check: every result code but the tx's own. */
export type OpResultCode = Exclude<ResultCode, 'tx_failed'>;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}

/**
 * Why a `tx` failed: one failing check (every failing check is listed) or the first failing
 * operation, by its index in the tx's `checks` or `ops`, with that check's or operation's own
 * result code and the object's current version (0 when absent).
 */
export interface TxFailure {
  readonly at: 'check' | 'op';
  readonly index: number;
  readonly code: OpResultCode;
  readonly message: string;
  readonly version: number;
}

/** Extra, code-specific facts an error carries on the wire (e.g. the current version of `cmp_fail`). */
export interface ErrorDetails {
  readonly version?: number;
  readonly position?: { readonly line: number; readonly column: number; readonly offset: number };
  readonly attribute?: string;
  readonly limit?: string;
  /** `tx_failed`: which checks and which operation failed. */
  readonly failures?: readonly TxFailure[];
}

/** The wire form of an error on every front: `{"code": "...", "message": "...", ...details}`. */
export interface WireError extends ErrorDetails {
  readonly code: ErrorCode;
  readonly message: string;
}

/** A fault. Thrown at the boundary (validation) or by the engine (overload, storage failure). */
export class SpacekvError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'SpacekvError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return httpStatusOf(this.code);
  }

  /** The object's current version, where the error carries one (`cmp_fail`, `exists`). */
  get version(): number | undefined {
    return this.details.version;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** Shorthand used by validators: `throw fail('invalid_value', '...')`. */
export function fail(code: ErrorCode, message: string, details?: ErrorDetails): SpacekvError {
  return new SpacekvError(code, message, details);
}
