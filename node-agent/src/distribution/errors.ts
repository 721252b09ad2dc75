// Errors of talking to a registry, with stable codes and messages fit for a Container's status.
import { BerthError } from '@berth/api';
import { DigestMismatch } from '../content/errors.js';

export type RegistryErrorCode =
  | 'INVALID_REFERENCE'
  | 'IMAGE_NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'REGISTRY_UNREACHABLE'
  | 'NO_MATCHING_PLATFORM'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'REGISTRY_ERROR';

type Options = { readonly cause?: unknown };

/** Base of every registry error; `RegistryError.isInstance` (or instanceof) holds across package copies. */
export class RegistryError<Code extends RegistryErrorCode = RegistryErrorCode> extends BerthError<Code> {}

/** The string is not an image reference (`host[:port]/repo[:tag][@sha256:…]`). */
export class InvalidReference extends RegistryError<'INVALID_REFERENCE'> {
  constructor(message: string, options?: Options) {
    super('INVALID_REFERENCE', message, options);
  }
}

/** The repository, tag or digest does not exist in the registry. */
export class ImageNotFound extends RegistryError<'IMAGE_NOT_FOUND'> {
  constructor(message: string, options?: Options) {
    super('IMAGE_NOT_FOUND', message, options);
  }
}

/** The registry wants credentials, or refused the ones given. */
export class Unauthorized extends RegistryError<'UNAUTHORIZED'> {
  constructor(message: string, options?: Options) {
    super('UNAUTHORIZED', message, options);
  }
}

/** No HTTP answer: connection refused, DNS, timeout, TLS failure. */
export class RegistryUnreachable extends RegistryError<'REGISTRY_UNREACHABLE'> {
  constructor(message: string, options?: Options) {
    super('REGISTRY_UNREACHABLE', message, options);
  }
}

/** A manifest list / index without a linux/amd64 entry. */
export class NoMatchingPlatform extends RegistryError<'NO_MATCHING_PLATFORM'> {
  constructor(message: string, options?: Options) {
    super('NO_MATCHING_PLATFORM', message, options);
  }
}

/** A manifest or config of a kind berth cannot run (schema 1, an artifact, …). */
export class UnsupportedMediaType extends RegistryError<'UNSUPPORTED_MEDIA_TYPE'> {
  constructor(message: string, options?: Options) {
    super('UNSUPPORTED_MEDIA_TYPE', message, options);
  }
}

/** Any other unexpected answer (5xx, malformed JSON, bad Range reply). */
export class RegistryProtocolError extends RegistryError<'REGISTRY_ERROR'> {
  constructor(message: string, options?: Options) {
    super('REGISTRY_ERROR', message, options);
  }
}

// Digest mismatches are content errors (the store detects them too); re-exported so callers of the
// registry find every pull error here.
export { DigestMismatch };
