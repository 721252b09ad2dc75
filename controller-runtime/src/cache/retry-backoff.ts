// The pause before an informer lists or watches again after a failure: capped exponential back-off with jitter, as
// client-go's reflector waits (wait.Backoff: the step doubles up to a cap, and each pause is the step stretched by
// up to `jitter` of itself, so many informers of many processes do not retry in lock-step). Only real progress
// resets it: a list that filled the cache or a watch that carried an event.
import { checkNumber } from '../errors.js';

export interface RetryBackoffOptions {
  /** The first step. @default 100 */
  readonly initialMs?: number;
  /** The largest step, before jitter. @default 10000 */
  readonly maxMs?: number;
  /** Each pause is step × (1 + jitter × random). @default 1 (client-go's reflector) */
  readonly jitter?: number;
  /** [0, 1); tests pass their own. @default Math.random */
  readonly random?: () => number;
}

export class RetryBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(options: RetryBackoffOptions = {}) {
    this.initialMs = checkNumber('reconnectBackoff.initialMs', options.initialMs ?? 100, { positive: true });
    this.maxMs = checkNumber('reconnectBackoff.maxMs', options.maxMs ?? 10_000, { min: this.initialMs });
    this.jitter = checkNumber('reconnectBackoff.jitter', options.jitter ?? 1, { min: 0 });
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** Counts one more failure and returns the pause before the next try. */
  next(): number {
    // The exponent is clamped so the arithmetic stays finite however long the outage.
    const step = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#failures, 30));
    this.#failures += 1;
    return step * (1 + this.jitter * this.#random());
  }

  reset(): void {
    this.#failures = 0;
  }
}
