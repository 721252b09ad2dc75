// API errors as typed values: the one table of Kubernetes Status reasons (each with its HTTP code and stable
// error code), the ApiError every answer-worthy failure becomes, and the constructors for the common ones.

import {
  BerthError,
  invalidObjectMessage,
  toStatusCauses,
  type FieldError,
  type Status,
  type StatusCause,
  type StatusDetails,
} from '@berth/api';

export type { Status, StatusCause, StatusDetails } from '@berth/api';

/**
 * Kubernetes `StatusReason` values berth answers with: the HTTP code each carries and the stable `code` of the
 * ApiError that answers with it. This is the only place an HTTP status number is chosen for an error.
 */
export const statusReasons = {
  BadRequest: { httpStatus: 400, code: 'BERTH_API_BAD_REQUEST' },
  Unauthorized: { httpStatus: 401, code: 'BERTH_API_UNAUTHORIZED' },
  Forbidden: { httpStatus: 403, code: 'BERTH_API_FORBIDDEN' },
  NotFound: { httpStatus: 404, code: 'BERTH_API_NOT_FOUND' },
  MethodNotAllowed: { httpStatus: 405, code: 'BERTH_API_METHOD_NOT_ALLOWED' },
  NotAcceptable: { httpStatus: 406, code: 'BERTH_API_NOT_ACCEPTABLE' },
  AlreadyExists: { httpStatus: 409, code: 'BERTH_API_ALREADY_EXISTS' },
  Conflict: { httpStatus: 409, code: 'BERTH_API_CONFLICT' },
  Gone: { httpStatus: 410, code: 'BERTH_API_GONE' },
  Expired: { httpStatus: 410, code: 'BERTH_API_EXPIRED' },
  RequestEntityTooLarge: { httpStatus: 413, code: 'BERTH_API_REQUEST_ENTITY_TOO_LARGE' },
  UnsupportedMediaType: { httpStatus: 415, code: 'BERTH_API_UNSUPPORTED_MEDIA_TYPE' },
  Invalid: { httpStatus: 422, code: 'BERTH_API_INVALID' },
  TooManyRequests: { httpStatus: 429, code: 'BERTH_API_TOO_MANY_REQUESTS' },
  InternalError: { httpStatus: 500, code: 'BERTH_API_INTERNAL_ERROR' },
  ServiceUnavailable: { httpStatus: 503, code: 'BERTH_API_SERVICE_UNAVAILABLE' },
  Timeout: { httpStatus: 504, code: 'BERTH_API_TIMEOUT' },
} as const;

export type StatusReason = keyof typeof statusReasons;
export type ApiErrorCode = (typeof statusReasons)[StatusReason]['code'];

/** A failure the client is told about as a Kubernetes `Status` with `reason`; `code` follows from the reason. */
export class ApiError extends BerthError<ApiErrorCode> {
  /** The HTTP status the answer carries (from `statusReasons`, unless the caller names another). */
  readonly httpStatus: number;

  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
    options?: { readonly cause?: unknown; readonly httpStatus?: number },
  ) {
    super(statusReasons[reason].code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.httpStatus = options?.httpStatus ?? statusReasons[reason].httpStatus;
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.httpStatus,
    };
    if (this.details !== undefined) status.details = this.details;
    return status;
  }
}

/** How a resource is named in messages: `containers.berth.dev`, or `configmaps` for the core group. */
export interface ResourceName {
  readonly group: string;
  readonly plural: string;
}

const qualified = (r: ResourceName): string => (r.group === '' ? r.plural : `${r.plural}.${r.group}`);

export const notFound = (r: ResourceName, name: string): ApiError =>
  new ApiError('NotFound', `${qualified(r)} "${name}" not found`, { name, group: r.group, kind: r.plural });

export const alreadyExists = (r: ResourceName, name: string): ApiError =>
  new ApiError('AlreadyExists', `${qualified(r)} "${name}" already exists`, { name, group: r.group, kind: r.plural });

export const conflict = (r: ResourceName, name: string, why: string): ApiError =>
  new ApiError('Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group,
    kind: r.plural,
  });

export const staleResourceVersion = (r: ResourceName, name: string): ApiError =>
  conflict(r, name, 'the object has been modified; please apply your changes to the latest version and try again');

export const badRequest = (message: string, causes?: StatusCause[]): ApiError =>
  new ApiError('BadRequest', message, causes === undefined ? undefined : { causes });

export const methodNotAllowed = (method: string, what: string): ApiError =>
  new ApiError(
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource (${method} ${what})`,
  );

export const pathNotFound = (): ApiError =>
  new ApiError('NotFound', 'the server could not find the requested resource');

export const expired = (message: string): ApiError => new ApiError('Expired', message);

/** The answer to a failure the server did not expect: a 500 that names no internals. */
export const internalError = (cause?: unknown): ApiError =>
  new ApiError(
    'InternalError',
    'Internal error occurred: an error on the server prevented the request from succeeding',
    undefined,
    cause === undefined ? undefined : { cause },
  );

/** 422 Invalid with one cause per problem; the message lists them all, as kubectl prints only the message. */
export const invalid = (kind: string, group: string, name: string, problems: readonly FieldError[]): ApiError =>
  new ApiError('Invalid', invalidObjectMessage(group === '' ? kind : `${kind}.${group}`, name, problems), {
    name,
    group,
    kind,
    causes: toStatusCauses(problems),
  });
