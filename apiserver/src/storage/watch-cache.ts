// The watch cache: one watch on the store feeds an in-memory window of recent events that many watchers read,
// so watches never touch the store and a slow watcher never holds up writers or other watchers.
//
// Design: the window is a ring of the most recent `capacity` events, shared by every subscriber. A subscriber
// holds only a cursor into it and copies nothing, so a thousand watchers cost a thousand cursors. A subscriber
// whose unread events get evicted from the ring has fallen too far behind: it is ended with WatchTooSlowError
// (the ring is its bounded buffer). A watch from before the window first replays the store's history, then
// joins the window, so any revision the store retains can be resumed. Consumers read with `next()` /
// `batches()` (one await per wake-up, the cheap path for many watchers) or `events` (one event at a time, the
// Store `Watcher` shape).

import { checkInteger } from '@berth/api';
import { StoreClosedError, WatchTooSlowError, type Store, type StoreEvent, type Watcher } from './interface.js';

export interface WatchCacheOptions {
  /** Events kept in memory: how far back a watch can resume. @default 65_536 (over a minute at 1,000 writes/s) */
  readonly capacity?: number;
  /**
   * On start, load up to this many of the store's most recent events into the window. Not needed for
   * correctness (a watch from before the window replays the store's history first), but after a restart
   * every client resumes at once, and those resuming from recent revisions are then served from memory
   * rather than each replaying the store. Costs memory for their values. @default 1024
   */
  readonly preload?: number;
  /** Most events handed out by one `next()` call. @default 1000 */
  readonly maxBatch?: number;
  /**
   * Wake subscribers at most this often. After a quiet spell an event is dispatched at once; under a steady
   * stream, events are handed out in batches this far apart, which bounds wake-ups to subscribers × 1000 /
   * interval per second (what makes 1,000 watchers affordable). @default 5
   */
  readonly dispatchIntervalMs?: number;
}

interface Waiter {
  readonly revision: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** Pause before the next dispatch per subscriber woken by the last one (1,000 watchers: 40 ms). */
const dispatchCostPerWatcherMs = 0.04;

/** WatchCache fans one store watch out to many prefix-filtered subscribers. */
export class WatchCache {
  private readonly store: Store;
  private readonly capacity: number;
  private readonly maxBatch: number;
  private readonly ring: Array<StoreEvent | undefined>;
  /** Sequence number the next event gets; event `seq` lives at `ring[seq % capacity]`. */
  private headSeq = 0;
  /** Every event with a revision above this is in the ring (it is the revision of the newest evicted one). */
  private windowStart: number;
  private seen: number;
  private readonly subscribers = new Set<Subscription>();
  /** Subscribers waiting for events, by prefix, so one scan of new events serves every waiter on a prefix. */
  private readonly waiting = new Map<string, Set<Subscription>>();
  private waiters: Waiter[] = [];
  /** The last batch read per prefix, reused by subscribers at the same cursor (cleared on each dispatch). */
  private readonly shared = new Map<
    string,
    { from: number; to: number; head: number; events: readonly StoreEvent[] | undefined }
  >();
  private flushScheduled = false;
  /** Subscribers woken by the last dispatch (sets the pause before the next one). */
  private lastWoken = 0;
  private waitersScheduled = false;
  private lastFlush = 0;
  private readonly dispatchIntervalMs: number;
  private flushedSeq = 0;
  private watcher: Watcher;
  private failure: Error | undefined;
  private closed = false;

  constructor(store: Store, options: WatchCacheOptions = {}) {
    const capacity = options.capacity ?? 65_536;
    const preload = options.preload ?? 1024;
    const maxBatch = options.maxBatch ?? 1000;
    const dispatchIntervalMs = options.dispatchIntervalMs ?? 5;
    checkInteger('WatchCache', 'capacity', capacity);
    checkInteger('WatchCache', 'preload', preload, 0);
    checkInteger('WatchCache', 'maxBatch', maxBatch);
    checkInteger('WatchCache', 'dispatchIntervalMs', dispatchIntervalMs, 0);
    this.store = store;
    this.capacity = capacity;
    this.maxBatch = maxBatch;
    this.dispatchIntervalMs = dispatchIntervalMs;
    this.ring = new Array<StoreEvent | undefined>(capacity);
    // Revisions are dense in the level store; with gaps (etcd) preload simply yields fewer events.
    const start = Math.max(store.compactedRevision(), store.revision() - Math.min(preload, capacity));
    this.windowStart = start;
    this.seen = start;
    this.watcher = store.watch('', start);
    void this.consume();
  }

  /** The newest revision the cache has received: a list at or below it can hand off to `subscribe` gap-free. */
  revision(): number {
    return this.seen;
  }

  /** Watches from this revision on are served from memory; older ones replay the store's history first. */
  oldestRevision(): number {
    return this.windowStart;
  }

  /** Number of live subscribers. */
  subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Resolves once the cache has received `revision` (e.g. after a write, so a watch the client opens next
   * includes it). Rejects with StoreClosedError if the cache closes first, or with `signal.reason` on abort.
   */
  waitFor(revision: number, signal?: AbortSignal): Promise<void> {
    if (this.seen >= revision) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        revision,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Events for keys under `prefix` with revision > `afterRevision`, from the window then live; from before the
   * window, the store's history is replayed first. Throws CompactedError when the store has compacted
   * `afterRevision` away (Kubernetes: 410 Gone, Expired).
   */
  subscribe(prefix: string, afterRevision: number): CacheWatcher {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StoreClosedError();
    let sub: Subscription;
    if (afterRevision < this.windowStart) {
      // Older than the window: replay the store's history (CompactedError if the store dropped it too) up to
      // what the window holds, then join the window. All keys, so the replay visibly passes that point.
      const replay = this.store.watch('', afterRevision);
      sub = new Subscription(this.hub, prefix, afterRevision, Number.MAX_SAFE_INTEGER, {
        watcher: replay,
        target: this.seen,
      });
    } else {
      sub = new Subscription(this.hub, prefix, afterRevision, this.seek(afterRevision));
    }
    this.subscribers.add(sub);
    return sub;
  }

  /** Sequence number of the first retained event newer than `revision` (revisions grow with sequence). */
  private seek(revision: number): number {
    let lo = Math.max(0, this.headSeq - this.capacity);
    let hi = this.headSeq;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.eventAt(mid) as StoreEvent).revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Stop the store watch and end every subscriber's iteration normally. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    this.end(undefined);
  }

  private eventAt(seq: number): StoreEvent | undefined {
    return this.ring[seq % this.capacity];
  }

  /** What subscriptions may call on their cache; kept off the public surface. */
  private readonly hub: Hub = {
    read: (sub) => this.read(sub),
    park: (sub) => this.park(sub),
    remove: (sub) => this.remove(sub),
    seek: (revision) => (revision < this.windowStart ? undefined : this.seek(revision)),
    maxBatch: () => this.maxBatch,
    capacity: () => this.capacity,
  };

  /** Hand `sub` the next events after its cursor, or undefined if there are none yet. */
  private read(sub: Subscription): readonly StoreEvent[] | undefined {
    const tail = this.headSeq - this.capacity;
    if (sub.cursor < tail) {
      sub.terminate(new WatchTooSlowError(sub.lastRevision, this.capacity));
      return undefined;
    }
    if (sub.cursor >= this.headSeq) return undefined;
    // Subscribers on one prefix woken by one dispatch sit at the same cursor: filter once, share the batch.
    const memo = this.shared.get(sub.prefix);
    const first = this.eventAt(sub.cursor) as StoreEvent;
    const unfiltered = first.revision > sub.afterRevision;
    if (memo && memo.from === sub.cursor && memo.head === this.headSeq && unfiltered) {
      sub.cursor = memo.to;
      return memo.events;
    }
    let out: StoreEvent[] | undefined;
    let cursor = sub.cursor;
    while (cursor < this.headSeq) {
      const e = this.ring[cursor % this.capacity] as StoreEvent;
      cursor++;
      if (e.revision > sub.afterRevision && e.key.startsWith(sub.prefix)) {
        (out ??= []).push(e);
        if (out.length >= this.maxBatch) break;
      }
    }
    if (unfiltered) this.shared.set(sub.prefix, { from: sub.cursor, to: cursor, head: this.headSeq, events: out });
    sub.cursor = cursor;
    return out;
  }

  private park(sub: Subscription): void {
    let group = this.waiting.get(sub.prefix);
    if (!group) this.waiting.set(sub.prefix, (group = new Set()));
    group.add(sub);
  }

  private remove(sub: Subscription): void {
    this.subscribers.delete(sub);
    const group = this.waiting.get(sub.prefix);
    if (group?.delete(sub) && group.size === 0) this.waiting.delete(sub.prefix);
  }

  // ---- the store side ----

  private async consume(): Promise<void> {
    for (;;) {
      try {
        for await (const event of this.watcher.events) this.append(event);
        // The store watch ended without our asking: the store closed.
        if (!this.closed) this.fail(new StoreClosedError());
        return;
      } catch (err) {
        if (this.closed) return;
        if (WatchTooSlowError.isInstance(err)) {
          // We fell behind the store (a long pause); pick up where we were, the store still has the history.
          try {
            this.watcher = this.store.watch('', this.seen);
            continue;
          } catch (again) {
            this.fail(again instanceof Error ? again : new Error(String(again)));
            return;
          }
        }
        this.fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
    }
  }

  private append(event: StoreEvent): void {
    if (event.revision <= this.seen) return; // a re-watch may repeat the boundary
    const slot = this.headSeq % this.capacity;
    const evicted = this.ring[slot];
    if (evicted !== undefined) this.windowStart = evicted.revision;
    this.ring[slot] = event;
    this.headSeq++;
    this.seen = event.revision;
    // Writers waiting to see their write are released at once, not at the next dispatch.
    if (this.waiters.length > 0 && !this.waitersScheduled) {
      this.waitersScheduled = true;
      process.nextTick(() => this.releaseWaiters());
    }
    // Coalesce: the store hands over a whole commit's events in one run of microtasks, and under load several
    // commits share one dispatch; wake readers once per dispatch.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      const wait = this.lastFlush + this.nextDispatchDelay() - performance.now();
      if (wait <= 0) process.nextTick(() => this.flush());
      else setTimeout(() => this.flush(), wait);
    }
  }

  /**
   * Waking many watchers costs a socket write each (~25 µs with TLS), whatever the batch size; with many of them
   * the pause between dispatches grows so each wake carries more events and writers keep their share of the CPU.
   */
  private nextDispatchDelay(): number {
    return Math.max(this.dispatchIntervalMs, this.lastWoken * dispatchCostPerWatcherMs);
  }

  private flush(): void {
    this.flushScheduled = false;
    this.lastWoken = 0;
    this.lastFlush = performance.now();
    this.shared.clear();
    const from = Math.max(this.flushedSeq, this.headSeq - this.capacity);
    this.flushedSeq = this.headSeq;
    for (const [prefix, group] of this.waiting) {
      let match = false;
      for (let seq = from; seq < this.headSeq && !match; seq++) {
        match = (this.ring[seq % this.capacity] as StoreEvent).key.startsWith(prefix);
      }
      if (!match) continue;
      this.waiting.delete(prefix);
      this.lastWoken += group.size;
      for (const sub of group) sub.wake();
    }
    // Subscribers busy elsewhere whose unread events were just evicted: end them now rather than at their
    // next read, so their connections close promptly.
    const tail = this.headSeq - this.capacity;
    if (tail > 0) {
      for (const sub of this.subscribers) {
        if (sub.cursor < tail) sub.terminate(new WatchTooSlowError(sub.lastRevision, this.capacity));
      }
    }
  }

  private releaseWaiters(): void {
    this.waitersScheduled = false;
    const ready = this.waiters.filter((w) => w.revision <= this.seen);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.revision > this.seen);
    for (const w of ready) w.resolve();
  }

  private fail(error: Error): void {
    this.failure = error;
    this.end(error);
  }

  private end(error: Error | undefined): void {
    for (const sub of [...this.subscribers]) sub.terminate(error);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error ?? new StoreClosedError());
  }
}

/**
 * One subscriber of a WatchCache. Read it with `next()` or `batches()` (cheapest: one await per wake-up), or
 * `events` (one event at a time, the Store Watcher shape); one reader at a time.
 */
export interface CacheWatcher extends Watcher {
  readonly prefix: string;
  /** Revision of the last event handed out (or the revision the watch started after). */
  readonly lastRevision: number;
  /**
   * The next events (at least one, in revision order), or undefined once the watcher is closed. Throws
   * WatchTooSlowError if it fell out of the window, or the store's error if the cache failed.
   */
  next(): Promise<readonly StoreEvent[] | undefined>;
  /** `next()` as an async iterable of batches; leaving the loop closes the watcher. */
  batches(): AsyncIterable<readonly StoreEvent[]>;
}

interface Hub {
  read(sub: Subscription): readonly StoreEvent[] | undefined;
  park(sub: Subscription): void;
  remove(sub: Subscription): void;
  /** Cursor for events after `revision`, or undefined when the window no longer reaches back to it. */
  seek(revision: number): number | undefined;
  maxBatch(): number;
  capacity(): number;
}

/** A subscription that started before the window, reading the store's history until it reaches `target`. */
interface CatchUp {
  readonly watcher: Watcher;
  readonly target: number;
}

/** A cursor into the cache's shared window. */
class Subscription implements CacheWatcher {
  readonly events: AsyncIterable<StoreEvent>;
  cursor: number;
  lastRevision: number;
  /** Events at or below this are never handed out (raised when a catch-up joins the window). */
  afterRevision: number;
  private wakeUp: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;
  private catchUp: (CatchUp & { readonly it: AsyncIterator<StoreEvent> }) | undefined;

  constructor(
    private readonly cache: Hub,
    readonly prefix: string,
    afterRevision: number,
    cursor: number,
    catchUp?: CatchUp,
  ) {
    this.cursor = cursor;
    this.afterRevision = afterRevision;
    this.lastRevision = afterRevision;
    if (catchUp) this.catchUp = { ...catchUp, it: catchUp.watcher.events[Symbol.asyncIterator]() };
    this.events = {
      [Symbol.asyncIterator]: async function* (this: Subscription) {
        for await (const batch of this.batches()) yield* batch;
      }.bind(this),
    };
  }

  async next(): Promise<readonly StoreEvent[] | undefined> {
    for (;;) {
      if (this.ended) {
        if (this.error) throw this.error;
        return undefined;
      }
      if (this.catchUp) {
        const replayed = await this.readCatchUp(this.catchUp);
        if (replayed) return replayed;
        continue;
      }
      const batch = this.cache.read(this);
      if (batch) {
        this.lastRevision = (batch[batch.length - 1] as StoreEvent).revision;
        return batch;
      }
      if (this.ended) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.cache.park(this);
      });
    }
  }

  private async readCatchUp(
    c: CatchUp & { readonly it: AsyncIterator<StoreEvent> },
  ): Promise<StoreEvent[] | undefined> {
    const out: StoreEvent[] = [];
    const max = this.cache.maxBatch();
    while (out.length < max) {
      let r: IteratorResult<StoreEvent>;
      try {
        r = await c.it.next();
      } catch (err) {
        this.terminate(err instanceof Error ? err : new Error(String(err)));
        return undefined;
      }
      if (this.ended) return undefined;
      if (r.done) {
        this.terminate(new StoreClosedError());
        return undefined;
      }
      const e = r.value;
      if (e.revision <= c.target && e.revision > this.afterRevision && e.key.startsWith(this.prefix)) out.push(e);
      if (e.revision >= c.target) {
        // Everything up to the target came from the store; the window has all that follows, unless it moved on.
        c.watcher.close();
        this.catchUp = undefined;
        const cursor = this.cache.seek(c.target);
        if (cursor === undefined) {
          this.terminate(
            new WatchTooSlowError(out[out.length - 1]?.revision ?? this.lastRevision, this.cache.capacity()),
          );
          return undefined;
        }
        this.cursor = cursor;
        this.afterRevision = Math.max(this.afterRevision, c.target);
        break;
      }
    }
    if (out.length === 0) return undefined;
    this.lastRevision = (out[out.length - 1] as StoreEvent).revision;
    return out;
  }

  async *batches(): AsyncGenerator<readonly StoreEvent[]> {
    try {
      for (;;) {
        const batch = await this.next();
        if (batch === undefined) return;
        yield batch;
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    this.terminate(undefined);
  }

  wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  terminate(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.catchUp?.watcher.close();
    this.cache.remove(this);
    this.wake();
  }
}
