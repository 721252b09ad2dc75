// Errors of the content store and of blob verification, with stable codes a Container's status can carry.
import { BerthError } from '@berth/api';

export type ContentErrorCode =
  | 'INVALID_DIGEST'
  | 'CONTENT_NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'CONTENT_TOO_LARGE'
  | 'CONTENT_WRITER_CLOSED';

/** Base of every content-store error; `ContentError.isInstance` (or instanceof) holds across package copies. */
export abstract class ContentError<Code extends ContentErrorCode = ContentErrorCode> extends BerthError<Code> {}

/** A string that is not `sha256:<64 lowercase hex>` (the only algorithm berth accepts). */
export class InvalidDigest extends ContentError<'INVALID_DIGEST'> {
  constructor(readonly digest: string) {
    super('INVALID_DIGEST', `invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex characters>`);
  }
}

export class ContentNotFound extends ContentError<'CONTENT_NOT_FOUND'> {
  constructor(readonly digest: string) {
    super('CONTENT_NOT_FOUND', `content ${digest} not found in the content store`);
  }
}

/** Bytes whose sha256 or size is not what the manifest (or the caller) said: corruption or tampering. */
export class DigestMismatch extends ContentError<'DIGEST_MISMATCH'> {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly what = 'content',
    readonly expectedSize?: number,
    readonly actualSize?: number,
  ) {
    const sizes =
      expectedSize !== undefined && actualSize !== undefined && expectedSize !== actualSize
        ? ` (expected ${expectedSize} bytes, got ${actualSize})`
        : '';
    super(
      'DIGEST_MISMATCH',
      `${what} digest mismatch: expected ${expected}, got ${actual}${sizes}; the registry served corrupt or tampered data`,
    );
  }
}

/** A write given more bytes than the expected size: stopped early so a hostile server cannot fill the disk. */
export class ContentTooLarge extends ContentError<'CONTENT_TOO_LARGE'> {
  constructor(
    readonly digest: string,
    readonly expectedSize: number,
  ) {
    super('CONTENT_TOO_LARGE', `content ${digest} is larger than the expected ${expectedSize} bytes`);
  }
}

/** A write, commit or abort on a writer that already committed or aborted: the caller's bug. */
export class ContentWriterClosed extends ContentError<'CONTENT_WRITER_CLOSED'> {
  constructor(readonly ref: string) {
    super('CONTENT_WRITER_CLOSED', `content writer ${ref} is closed`);
  }
}
