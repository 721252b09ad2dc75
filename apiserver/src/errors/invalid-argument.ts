// Misuse of a berth API by its caller (a bad option, an out-of-range argument), refused before any I/O as
// undici's InvalidArgumentError is: the caller's bug, never answered to an HTTP client as anything but a 500.

import { BerthError } from '@berth/api';

export class InvalidArgumentError extends BerthError<'BERTH_INVALID_ARGUMENT'> {
  constructor(message: string) {
    super('BERTH_INVALID_ARGUMENT', message);
  }
}

/**
 * Checks that an option, when given, is a safe integer of at least `min` (1 unless said otherwise): a 0 or
 * negative interval or size would otherwise surface much later as a busy loop or an empty buffer.
 */
export function checkInteger(owner: string, name: string, value: number | undefined, min = 1): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`${owner} option ${name} must be an integer of at least ${min}, got ${value}`);
  }
}
