// Failures of the streaming endpoints as typed errors, and the Kubernetes `Status` bodies (HTTP and error channel) they become.

import type { Status } from '@berth/api';

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

const brand = Symbol.for('berth.node-agent.StreamingError');

export class StreamingError extends Error {
  readonly code: StreamingErrorCode;
  readonly details: Status['details'];

  constructor(code: StreamingErrorCode, message: string, options: { details?: Status['details']; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = `StreamingError[${code}]`;
    this.code = code;
    this.details = options.details;
    Object.defineProperty(this, brand, { value: true });
  }

  get httpCode(): number {
    return httpCodes[this.code];
  }

  /** True for a StreamingError from any copy of this package (instanceof breaks across copies). */
  static isInstance(value: unknown): value is StreamingError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return StreamingError.isInstance(value);
  }
}

/** The Status a failure becomes; anything that is not a StreamingError is an InternalError. */
export function failureStatus(err: unknown): Status {
  const e = StreamingError.isInstance(err) ? err : new StreamingError('InternalError', err instanceof Error ? err.message : String(err));
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
