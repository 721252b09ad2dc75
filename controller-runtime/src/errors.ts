// The errors of the controller runtime: bad options, failed API calls, and the branded base they share.
import { BerthError } from '@berth/api';

export type ControllerRuntimeErrorCode =
  | 'BERTH_CONTROLLER_INVALID_OPTION'
  | 'BERTH_CONTROLLER_API'
  | 'BERTH_CONTROLLER_NOT_SYNCED'
  | 'BERTH_CONTROLLER_STARTED'
  | 'BERTH_CONTROLLER_UNKNOWN_KIND';

/** Anything the runtime throws on purpose. */
export class ControllerRuntimeError extends BerthError<ControllerRuntimeErrorCode> {}

/** An option that cannot work, thrown at construction before any I/O. */
export class InvalidOptionError extends ControllerRuntimeError {
  constructor(message: string) {
    super('BERTH_CONTROLLER_INVALID_OPTION', message);
  }
}

/** An API call answered with a non-2xx status; `status` is the Kubernetes Status body when there was one. */
export class ApiCallError extends ControllerRuntimeError {
  readonly statusCode: number;
  readonly reason: string | undefined;
  readonly status: Readonly<Record<string, unknown>> | undefined;
  /** How long the server asked us to wait (a 429's or 503's Retry-After, or the Status' details). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    statusCode: number,
    message: string,
    status?: Readonly<Record<string, unknown>>,
    retryAfterSeconds?: number,
  ) {
    super('BERTH_CONTROLLER_API', message);
    this.statusCode = statusCode;
    this.status = status;
    this.reason = typeof status?.['reason'] === 'string' ? status['reason'] : undefined;
    const details = status?.['details'] as { retryAfterSeconds?: unknown } | undefined;
    const fromStatus = typeof details?.retryAfterSeconds === 'number' ? details.retryAfterSeconds : undefined;
    const after = retryAfterSeconds ?? fromStatus;
    this.retryAfterSeconds = after !== undefined && Number.isFinite(after) && after > 0 ? after : undefined;
  }
}

/** HTTP status of a failed API call, or undefined for errors that never got an answer. */
export function apiStatusCode(err: unknown): number | undefined {
  if (ApiCallError.isInstance(err)) return err.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => apiStatusCode(err) === 404;
export const isConflict = (err: unknown): boolean => apiStatusCode(err) === 409;
export const isAlreadyExists = (err: unknown): boolean =>
  apiStatusCode(err) === 409 && ApiCallError.isInstance(err) && err.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => apiStatusCode(err) === 410;
export const isTooManyRequests = (err: unknown): boolean => apiStatusCode(err) === 429;

/** Checks a numeric option at the door, so a bad value fails construction instead of becoming a busy loop. */
export function checkNumber(
  name: string,
  value: number,
  rule: { min?: number; integer?: boolean; positive?: boolean },
): number {
  const ok =
    Number.isFinite(value) &&
    (rule.integer !== true || Number.isInteger(value)) &&
    (rule.positive !== true || value > 0) &&
    (rule.min === undefined || value >= rule.min);
  if (!ok) {
    const wants = [
      rule.integer === true ? 'an integer' : 'a number',
      rule.positive === true ? '> 0' : '',
      rule.min !== undefined ? `>= ${rule.min}` : '',
    ]
      .filter((s) => s !== '')
      .join(' ');
    throw new InvalidOptionError(`${name} must be ${wants}, got ${value}`);
  }
  return value;
}
