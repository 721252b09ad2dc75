// Parsing and computing the sha256 digests that address every blob.
import { createHash } from 'node:crypto';
import { InvalidDigest } from './errors.js';

const digestPattern = /^sha256:([a-f0-9]{64})$/;

export function isDigest(value: string): boolean {
  return digestPattern.test(value);
}

/** The hex part of a sha256 digest; throws InvalidDigest for anything else (it becomes a file name). */
export function digestHex(digest: string): string {
  const match = digestPattern.exec(digest);
  if (match?.[1] === undefined) throw new InvalidDigest(digest);
  return match[1];
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
