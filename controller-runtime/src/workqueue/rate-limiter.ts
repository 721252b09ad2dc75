// How long a key waits before its next retry: per-key exponential back-off, client-go's ItemExponentialFailureRateLimiter.
import { checkNumber, InvalidOptionError } from '../errors.js';

export interface RateLimiter {
  /** The delay before the next retry of `key`, counting this as one more failure. */
  when(key: string): number;
  /** Clears the failures of `key` (it succeeded or was given up). */
  forget(key: string): void;
  /** How many failures in a row `key` has. */
  retries(key: string): number;
}

export interface ExponentialBackoffOptions {
  /** Delay after the first failure; doubles per failure after it. @default 5 ms (client-go's) */
  readonly baseDelayMs?: number;
  /** The cap. @default 1000 s (client-go's) */
  readonly maxDelayMs?: number;
}

export class ExponentialBackoff implements RateLimiter {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly #failures = new Map<string, number>();

  constructor(options: ExponentialBackoffOptions = {}) {
    this.baseDelayMs = checkNumber('baseDelayMs', options.baseDelayMs ?? 5, { positive: true });
    this.maxDelayMs = checkNumber('maxDelayMs', options.maxDelayMs ?? 1_000_000, { positive: true });
    if (this.maxDelayMs < this.baseDelayMs)
      throw new InvalidOptionError(`maxDelayMs (${this.maxDelayMs}) must be >= baseDelayMs (${this.baseDelayMs})`);
  }

  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2^60 already overflows any sane cap; clamping the exponent keeps the arithmetic finite.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures, 60));
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}
