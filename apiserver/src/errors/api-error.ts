// API errors as typed values, and the one table that turns each into the Kubernetes `Status` a client expects.

import { invalidObjectMessage, toStatusCauses, type FieldError, type Status, type StatusCause, type StatusDetails } from '@berth/api';

export type { Status, StatusCause, StatusDetails } from '@berth/api';

/** Kubernetes `StatusReason` values berth answers with, and the HTTP code each carries. */
export const statusReasons = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
} as const;

export type StatusReason = keyof typeof statusReasons;

const apiErrorBrand = Symbol.for('berth.apiserver.ApiError');

export class ApiError extends Error {
  readonly [apiErrorBrand] = true;
  readonly code: number;
  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
    options?: { cause?: unknown; code?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.code = options?.code ?? statusReasons[reason];
  }

  static isInstance(e: unknown): e is ApiError {
    return typeof e === 'object' && e !== null && apiErrorBrand in e;
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
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
  new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${what})`);

export const pathNotFound = (): ApiError => new ApiError('NotFound', 'the server could not find the requested resource');

export const expired = (message: string): ApiError => new ApiError('Expired', message);

/** 422 Invalid with one cause per problem; the message lists them all, as kubectl prints only the message. */
export const invalid = (kind: string, group: string, name: string, problems: readonly FieldError[]): ApiError =>
  new ApiError('Invalid', invalidObjectMessage(group === '' ? kind : `${kind}.${group}`, name, problems), {
    name,
    group,
    kind,
    causes: toStatusCauses(problems),
  });
