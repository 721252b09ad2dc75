// Errors of the content store and of blob verification, with stable codes a Container's status can carry.

const brand = Symbol.for('berth.node-agent.ContentError');

/** Base of every content-store error; recognise with `ContentError.isInstance`, never bare instanceof. */
export abstract class ContentError extends Error {
  abstract readonly code: string;
  readonly [brand] = true;
  static isInstance(value: unknown): value is ContentError {
    return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }
}

/** A string that is not `sha256:<64 lowercase hex>` (the only algorithm berth accepts). */
export class InvalidDigest extends ContentError {
  readonly code = 'INVALID_DIGEST';
  constructor(readonly digest: string) {
    super(`invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex characters>`);
    this.name = 'InvalidDigest';
  }
  static override isInstance(value: unknown): value is InvalidDigest {
    return ContentError.isInstance(value) && value.code === 'INVALID_DIGEST';
  }
}

export class ContentNotFound extends ContentError {
  readonly code = 'CONTENT_NOT_FOUND';
  constructor(readonly digest: string) {
    super(`content ${digest} not found in the content store`);
    this.name = 'ContentNotFound';
  }
  static override isInstance(value: unknown): value is ContentNotFound {
    return ContentError.isInstance(value) && value.code === 'CONTENT_NOT_FOUND';
  }
}

/** Bytes whose sha256 or size is not what the manifest (or the caller) said: corruption or tampering. */
export class DigestMismatch extends ContentError {
  readonly code = 'DIGEST_MISMATCH';
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
    super(`${what} digest mismatch: expected ${expected}, got ${actual}${sizes}; the registry served corrupt or tampered data`);
    this.name = 'DigestMismatch';
  }
  static override isInstance(value: unknown): value is DigestMismatch {
    return ContentError.isInstance(value) && value.code === 'DIGEST_MISMATCH';
  }
}

/** A write given more bytes than the expected size: stopped early so a hostile server cannot fill the disk. */
export class ContentTooLarge extends ContentError {
  readonly code = 'CONTENT_TOO_LARGE';
  constructor(readonly digest: string, readonly expectedSize: number) {
    super(`content ${digest} is larger than the expected ${expectedSize} bytes`);
    this.name = 'ContentTooLarge';
  }
  static override isInstance(value: unknown): value is ContentTooLarge {
    return ContentError.isInstance(value) && value.code === 'CONTENT_TOO_LARGE';
  }
}
