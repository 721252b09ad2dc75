// Failures of turning a Container into a container, each with the Kubernetes reason its status shows.

const brand = Symbol.for('berth.node-agent.AgentError');

export type AgentErrorCode =
  /** The spec cannot be turned into a runtime config: a missing ConfigMap/Secret key, an unknown user, a bad quantity. */
  | 'CreateContainerConfigError'
  /** The runtime refused the container: the command does not exist, impossible limits. */
  | 'CreateContainerError'
  /** The image could not be pulled. */
  | 'ErrImagePull'
  /** imagePullPolicy Never and the image is not on this node. */
  | 'ErrImageNeverPull';

export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = `AgentError[${code}]`;
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  /** True for an AgentError from any copy of this package (instanceof breaks across copies). */
  static isInstance(value: unknown): value is AgentError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return AgentError.isInstance(value);
  }
}
