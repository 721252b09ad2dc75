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

/** Base of every registry error; `RegistryError.isInstance` (or instanceof) holds across package copies. */
export class RegistryError<Code extends RegistryErrorCode = RegistryErrorCode> extends BerthError<Code> {}

/**
 * A RegistryError subclass for one code. `name` is set by hand (a class made here would be named `subclass`),
 * and the name is what BerthError's brand (so `isInstance`) goes by.
 */
function registryError<C extends RegistryErrorCode>(code: C, name: string) {
  const subclass = class extends RegistryError<C> {
    constructor(message: string, options?: { readonly cause?: unknown }) {
      super(code, message, options);
    }
  };
  Object.defineProperty(subclass, 'name', { value: name });
  return subclass;
}

/** The string is not an image reference (`host[:port]/repo[:tag][@sha256:…]`). */
export const InvalidReference = registryError('INVALID_REFERENCE', 'InvalidReference');
/** The repository, tag or digest does not exist in the registry. */
export const ImageNotFound = registryError('IMAGE_NOT_FOUND', 'ImageNotFound');
/** The registry wants credentials, or refused the ones given. */
export const Unauthorized = registryError('UNAUTHORIZED', 'Unauthorized');
/** No HTTP answer: connection refused, DNS, timeout, TLS failure. */
export const RegistryUnreachable = registryError('REGISTRY_UNREACHABLE', 'RegistryUnreachable');
/** A manifest list / index without a linux/amd64 entry. */
export const NoMatchingPlatform = registryError('NO_MATCHING_PLATFORM', 'NoMatchingPlatform');
/** A manifest or config of a kind berth cannot run (schema 1, an artifact, …). */
export const UnsupportedMediaType = registryError('UNSUPPORTED_MEDIA_TYPE', 'UnsupportedMediaType');
/** Any other unexpected answer (5xx, malformed JSON, bad Range reply). */
export const RegistryProtocolError = registryError('REGISTRY_ERROR', 'RegistryProtocolError');

// Digest mismatches are content errors (the store detects them too); re-exported so callers of the
// registry find every pull error here.
export { DigestMismatch };
