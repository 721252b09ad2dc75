// Typed failures of the container runtime, each with a stable `code` callers can switch on.

const brand = Symbol.for('berth.node-agent.RuntimeError');

export type RuntimeErrorCode =
  | 'CommandNotFound'
  | 'ImpossibleLimits'
  | 'InvalidConfig'
  | 'RuntimeFailed'
  | 'ContainerNotFound'
  | 'ContainerExists'
  | 'ContainerNotRunning'
  | 'ContainerRunning'
  | 'HostNotReady';

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  /** crun's or conmon's own words, when a tool failed. */
  readonly stderr: string | undefined;

  constructor(code: RuntimeErrorCode, message: string, options: { cause?: unknown; stderr?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = `RuntimeError[${code}]`;
    this.code = code;
    this.stderr = options.stderr;
    Object.defineProperty(this, brand, { value: true });
  }

  /** True for a RuntimeError from any copy of this package (instanceof breaks across copies). */
  static isInstance(value: unknown): value is RuntimeError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return RuntimeError.isInstance(value);
  }
}

export function isRuntimeError(value: unknown, code?: RuntimeErrorCode): value is RuntimeError {
  return RuntimeError.isInstance(value) && (code === undefined || value.code === code);
}
