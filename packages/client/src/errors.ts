/**
 * Typed errors of the client. Every error is a `SpacekvError` with the catalogue's stable `code`
 * (docs/errors.md); the common ones have their own class so `catch (e) { if (e instanceof
 * CmpFailError) ... }` reads naturally. `version` is the object's current version where the server
 * gives it (cmp_fail, exists).
 */
import { type ErrorCode, SpacekvError, type WireError, isErrorCode } from '@spacekv/core';

export { SpacekvError };

export class ExistsError extends SpacekvError {}
export class NotFoundError extends SpacekvError {}
export class CmpFailError extends SpacekvError {}
export class OverloadedError extends SpacekvError {}
export class UnavailableError extends SpacekvError {}
/** The request left the client but no reply came: it may or may not have been applied. */
export class OutcomeUnknownError extends SpacekvError {}
export class UnknownSpaceError extends SpacekvError {}
/** A space declared in TypeScript does not match the space on the server. */
export class SchemaDriftError extends SpacekvError {}
/** A `tx` check or operation failed; nothing was applied. `details.failures` says which. */
export class TxFailedError extends SpacekvError {}
/** An optimistic transaction kept losing races and gave up. */
export class ConflictError extends SpacekvError {}

const CLASSES: Partial<Record<ErrorCode, typeof SpacekvError>> = {
  exists: ExistsError,
  not_found: NotFoundError,
  cmp_fail: CmpFailError,
  overloaded: OverloadedError,
  unavailable: UnavailableError,
  shutting_down: UnavailableError,
  outcome_unknown: OutcomeUnknownError,
  unknown_space: UnknownSpaceError,
  tx_failed: TxFailedError,
  conflict: ConflictError,
};

export function errorOf(code: ErrorCode, message: string, details: Omit<WireError, 'code' | 'message'> = {}): SpacekvError {
  const Class = CLASSES[code] ?? SpacekvError;
  const error = new Class(code, message, details);
  error.name = Class.name;
  return error;
}

/** Build the typed error for an `error` member of a reply. */
export function errorFromWire(wire: unknown): SpacekvError {
  const { code, message, ...details } = (wire ?? {}) as Partial<WireError> & Record<string, unknown>;
  if (typeof code !== 'string' || !isErrorCode(code)) return errorOf('internal', `malformed error from the server: ${JSON.stringify(wire)}`);
  return errorOf(code, typeof message === 'string' ? message : code, details as Omit<WireError, 'code' | 'message'>);
}
