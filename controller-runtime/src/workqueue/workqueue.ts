// A queue of object keys for reconcile workers: deduplicated, one worker per key at a time, delayed and
// rate-limited re-adds, and a shut-down that lets work in flight finish.
//
// The semantics are client-go's workqueue: a key added while it waits is queued once; a key added while a
// worker holds it is queued again only after that worker calls done, so one key is never reconciled twice at
// once and a change seen mid-reconcile is never lost.
import type { QueueMetrics } from '../metrics/runtime-metrics.js';
import { ExponentialBackoff, type ExponentialBackoffOptions, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions extends ExponentialBackoffOptions {
  /** Replaces the default per-key exponential back-off (baseDelayMs/maxDelayMs are then unused). */
  readonly rateLimiter?: RateLimiter;
  /** A clock for delayed adds, for tests. @default setTimeout */
  readonly timers?: Timers;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

// Not unref'd: a requeueAfter is work the process still owes; shutDown clears them.
const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class WorkQueue {
  readonly rateLimiter: RateLimiter;
  readonly #queue: string[] = [];
  /** Keys that need processing: waiting in #queue, or to be queued again when their worker is done. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, { at: number; handle: unknown }>();
  readonly #waiters: Array<(key: string | undefined) => void> = [];
  readonly #idle: Array<() => void> = [];
  readonly #timers: Timers;
  #shuttingDown = false;
  #dropQueued = false;
  #metrics: QueueMetrics | undefined;
  /** When each key became dirty and when its worker took it (only while metrics are on). */
  readonly #addedAt = new Map<string, number>();
  readonly #takenAt = new Map<string, number>();

  constructor(options: WorkQueueOptions = {}) {
    this.rateLimiter = options.rateLimiter ?? new ExponentialBackoff(options);
    this.#timers = options.timers ?? realTimers;
  }

  /** Keys waiting for a worker. */
  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Reports adds, waits, work and retries to `metrics` from now on (client-go's workqueue metrics). */
  instrument(metrics: QueueMetrics): void {
    this.#metrics = metrics;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    if (this.#metrics !== undefined) {
      this.#metrics.added();
      if (!this.#addedAt.has(key)) this.#addedAt.set(key, performance.now());
    }
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) this.#hand(key, waiter);
    else this.#queue.push(key);
  }

  /** Adds the key after `ms`; of two pending delayed adds of one key, the earlier wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      this.#timers.clear(pending.handle);
    }
    const handle = this.#timers.set(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { at, handle });
  }

  /** Re-adds after the rate limiter's back-off for this key; returns the delay. */
  addRateLimited(key: string): number {
    const delay = this.rateLimiter.when(key);
    this.#metrics?.retried();
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's back-off (it reconciled cleanly, or was given up). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.retries(key);
  }

  /** The next key to work on; undefined once shut down and drained. Call `done(key)` when finished. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      this.#taken(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    const taken = this.#takenAt.get(key);
    if (taken !== undefined) {
      this.#takenAt.delete(key);
      this.#metrics?.worked((performance.now() - taken) / 1000);
    }
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      if (this.#dropQueued) this.#dirty.delete(key);
      else {
        const waiter = this.#waiters.shift();
        if (waiter !== undefined) this.#hand(key, waiter);
        else this.#queue.push(key);
      }
    }
    if (this.#processing.size === 0 && this.#queue.length === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /**
   * Stops taking keys and drops delayed ones. With `drain` (the default) workers still get the keys already
   * waiting (and those re-added while in flight); without it those are dropped. Resolves once nothing is queued
   * or being processed; workers waiting in `get` are handed undefined.
   */
  async shutDown(options: { drain?: boolean } = {}): Promise<void> {
    this.#shuttingDown = true;
    this.#dropQueued = options.drain === false;
    for (const { handle } of this.#delayed.values()) this.#timers.clear(handle);
    this.#delayed.clear();
    if (this.#dropQueued) {
      for (const key of this.#queue) this.#dirty.delete(key);
      this.#addedAt.clear();
      this.#queue.length = 0;
    }
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
    if (this.#processing.size === 0 && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #hand(key: string, waiter: (key: string | undefined) => void): void {
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#taken(key);
    waiter(key);
  }

  #taken(key: string): void {
    if (this.#metrics === undefined) return;
    const now = performance.now();
    const added = this.#addedAt.get(key);
    if (added !== undefined) {
      this.#addedAt.delete(key);
      this.#metrics.handed((now - added) / 1000);
    }
    this.#takenAt.set(key, now);
  }
}
