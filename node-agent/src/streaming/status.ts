// Failures of the streaming endpoints as typed errors, and the Kubernetes `Status` bodies (HTTP and error channel) they become.

import { BerthError, type Status } from '@berth/api';

export type { Status } from '@berth/api';

/** Each code is the Kubernetes StatusReason it becomes, with that reason's HTTP code. */
const httpCodes = {
  BadRequest: 400,
  NotFound: 404,
  MethodNotAllowed: 405,
  InternalError: 500,
  ServiceUnavailable: 503,
} as const;

export type StreamingErrorCode = keyof typeof httpCodes;

/** `StreamingError.isInstance` (or instanceof) holds across package copies (BerthError's brand). */
export class StreamingError extends BerthError<StreamingErrorCode> {
  readonly details: Status['details'];

  constructor(
    code: StreamingErrorCode,
    message: string,
    options: { readonly details?: Status['details']; readonly cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.details = options.details;
  }

  get httpCode(): number {
    return httpCodes[this.code];
  }
}

/** The Status a failure becomes; anything that is not a StreamingError is an InternalError. */
export function failureStatus(err: unknown): Status {
  const e = StreamingError.isInstance(err)
    ? err
    : new StreamingError('InternalError', err instanceof Error ? err.message : String(err));
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: e.message,
    reason: e.code,
    ...(e.details === undefined ? {} : { details: e.details }),
    code: e.httpCode,
  };
}

export const successStatus: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };

/** What kubelet sends on the error channel when the process exits non-zero; clients read the code from the cause. */
export function nonZeroExitStatus(exitCode: number): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export function containerNotFound(namespace: string, name: string): StreamingError {
  return new StreamingError('NotFound', `container "${name}" in namespace "${namespace}" is not running on this node`, {
    details: { name, group: 'berth.dev', kind: 'containers' },
  });
}
