// Errors of talking to a registry, with stable codes and messages fit for a Container's status.
import { DigestMismatch } from '../content/errors.js';

const brand = Symbol.for('berth.node-agent.RegistryError');

export type RegistryErrorCode =
  | 'INVALID_REFERENCE'
  | 'IMAGE_NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'REGISTRY_UNREACHABLE'
  | 'NO_MATCHING_PLATFORM'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'REGISTRY_ERROR';

/** Base of every registry error; recognise with `RegistryError.isInstance`, never bare instanceof. */
export class RegistryError extends Error {
  readonly [brand] = true;
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
  static isInstance(value: unknown): value is RegistryError {
    return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }
}

function subclass<C extends RegistryErrorCode>(code: C, name: string) {
  return class extends RegistryError {
    declare readonly code: C;
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
      this.name = name;
    }
    static override isInstance(value: unknown): value is RegistryError & { code: C } {
      return RegistryError.isInstance(value) && value.code === code;
    }
  };
}

/** The string is not an image reference (`host[:port]/repo[:tag][@sha256:…]`). */
export const InvalidReference = subclass('INVALID_REFERENCE', 'InvalidReference');
/** The repository, tag or digest does not exist in the registry. */
export const ImageNotFound = subclass('IMAGE_NOT_FOUND', 'ImageNotFound');
/** The registry wants credentials, or refused the ones given. */
export const Unauthorized = subclass('UNAUTHORIZED', 'Unauthorized');
/** No HTTP answer: connection refused, DNS, timeout, TLS failure. */
export const RegistryUnreachable = subclass('REGISTRY_UNREACHABLE', 'RegistryUnreachable');
/** A manifest list / index without a linux/amd64 entry. */
export const NoMatchingPlatform = subclass('NO_MATCHING_PLATFORM', 'NoMatchingPlatform');
/** A manifest or config of a kind berth cannot run (schema 1, an artifact, …). */
export const UnsupportedMediaType = subclass('UNSUPPORTED_MEDIA_TYPE', 'UnsupportedMediaType');
/** Any other unexpected answer (5xx, malformed JSON, bad Range reply). */
export const RegistryProtocolError = subclass('REGISTRY_ERROR', 'RegistryProtocolError');

// Digest mismatches are content errors (the store detects them too); re-exported so callers of the
// registry find every pull error here.
export { DigestMismatch };
