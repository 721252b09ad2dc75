// Errors of applying a layer tar, with stable codes a Container's status can carry.

const brand = Symbol.for('berth.node-agent.UnpackError');

export type UnpackErrorCode = 'LAYER_PATH_ESCAPE' | 'LAYER_INVALID' | 'LAYER_UNSUPPORTED_COMPRESSION';

/** A layer that cannot be applied; recognise with `UnpackError.isInstance`. */
export class UnpackError extends Error {
  readonly [brand] = true;
  constructor(
    readonly code: UnpackErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UnpackError';
  }
  static isInstance(value: unknown): value is UnpackError {
    return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }
}
