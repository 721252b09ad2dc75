// Typed failures of the container runtime, each with a stable `code` callers can switch on.
import { BerthError } from '@berth/api';

export type RuntimeErrorCode =
  | 'CommandNotFound'
  | 'ImpossibleLimits'
  | 'InvalidConfig'
  | 'RuntimeFailed'
  | 'ContainerNotFound'
  | 'ContainerExists'
  | 'ContainerNotRunning'
  | 'ContainerRunning'
  | 'UserNotFound'
  | 'HostNotReady';

/** `RuntimeError.isInstance` (or instanceof) holds across package copies (BerthError's brand). */
export class RuntimeError extends BerthError<RuntimeErrorCode> {
  /** crun's or conmon's own words, when a tool failed. */
  readonly stderr: string | undefined;

  constructor(
    code: RuntimeErrorCode,
    message: string,
    options: { readonly cause?: unknown; readonly stderr?: string } = {},
  ) {
    super(code, message, options);
    this.stderr = options.stderr;
  }
}

export function isRuntimeError(value: unknown, code?: RuntimeErrorCode): value is RuntimeError {
  return RuntimeError.isInstance(value) && (code === undefined || value.code === code);
}
