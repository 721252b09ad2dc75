// A queue of object keys for reconcilers: deduplicated, one worker per key at a time, delayed and rate-limited re-adds.
//
// The semantics are client-go's workqueue: a key added while it waits is queued once; a key added while a
// worker holds it is queued again only after that worker finishes, so one key is never reconciled twice at once.

export interface WorkQueueOptions {
  /** First retry delay after a failure; doubles per consecutive failure of the same key. @default 5 ms */
  readonly baseDelayMs?: number;
  /** @default 1000 s (client-go's default) */
  readonly maxDelayMs?: number;
}

export class WorkQueue {
  readonly #queue: string[] = [];
  /** Keys waiting in #queue or waiting to be re-queued when their worker finishes. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  readonly #waiters: Array<(key: string | undefined) => void> = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  #closed = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 5;
    this.#maxDelayMs = options.maxDelayMs ?? 1_000_000;
    if (!(this.#baseDelayMs > 0) || !(this.#maxDelayMs >= this.#baseDelayMs)) throw new RangeError('workqueue delays must be positive with maxDelayMs >= baseDelayMs');
  }

  get length(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#closed || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else {
      this.#queue.push(key);
    }
  }

  /** Adds the key after `ms`; an earlier pending add of the same key wins over a later one. */
  addAfter(key: string, ms: number): void {
    if (this.#closed) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.#timers.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.#timers.set(key, { at, timer });
  }

  /** Re-adds after a back-off that doubles with each consecutive failure of this key. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(failures, 40));
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of a key (after it reconciled cleanly). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** The next key to work on; undefined once the queue is closed. Call `done(key)` when finished. */
  async get(): Promise<string | undefined> {
    if (this.#closed) return undefined;
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return key;
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops handing out keys; pending timers are dropped and waiting workers get undefined. */
  close(): void {
    this.#closed = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
    this.#queue.length = 0;
    this.#dirty.clear();
  }
}
