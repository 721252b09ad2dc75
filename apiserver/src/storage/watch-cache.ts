// The watch cache: one watch on the store feeds an in-memory window of recent events that many watchers read,
// so watches never touch the store and a slow watcher never holds up writers or other watchers.
//
// Design: the window is a ring of the most recent `capacity` events (and at most `maxBytes` of their text),
// shared by every subscriber. A subscriber holds only a cursor into it and copies nothing, so a thousand
// watchers cost a thousand cursors. A subscriber whose unread events get evicted from the ring has fallen too far behind: it is ended with WatchTooSlowError
// (the ring is its bounded buffer). A watch from before the window first replays the store's history, then
// joins the window, so any revision the store retains can be resumed. Consumers read with `next()` /
// `batches()` (one await per wake-up, the cheap path for many watchers) or `events` (one event at a time, the
// Store `Watcher` shape).
//
// A subscriber may name a trigger (Kubernetes' cacher triggers: spec.nodeName=node-3): it is then kept in an index
// by that value, and each dispatch hands an event only to the subscribers whose value the object had before or
// has after the write, so a thousand node agents cost one lookup per event rather than a thousand filters. Those
// subscribers read from their own queue of matching events instead of scanning the window.

import { checkInteger } from '@berth/api';
import { StoreClosedError, WatchTooSlowError, type Store, type StoreEvent, type Watcher } from './interface.js';

export interface WatchCacheOptions {
  /** Events kept in memory: how far back a watch can resume. @default 65_536 (over a minute at 1,000 writes/s) */
  readonly capacity?: number;
  /**
   * Most bytes of event text (keys, values, previous values) the window holds; the oldest events leave first when
   * it is over, whatever `capacity` allows. Bounds the cache's memory when objects are large or a bulk load writes
   * tens of thousands at once. @default 64 MiB
   */
  readonly maxBytes?: number;
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

/**
 * Narrows a subscription to the events whose object had `value` before the write or has it after (either, so a
 * watcher still sees an object leave its selection). The watch still filters what it gets: this only spares it
 * the events that cannot concern it.
 */
export interface WatchTrigger {
  /** Names what `valuesOf` reads (e.g. "field:spec.nodeName"); subscribers on one prefix sharing it share one index. */
  readonly name: string;
  readonly value: string;
  /** The value after the write and before it; undefined where there is no object or it has no value. */
  readonly valuesOf: (event: StoreEvent) => readonly [after: string | undefined, before: string | undefined];
}

/** The subscribers on one prefix with one trigger name, by trigger value. */
interface TriggerIndex {
  readonly prefix: string;
  readonly valuesOf: WatchTrigger['valuesOf'];
  readonly byValue: Map<string, Set<Subscription>>;
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
  /** Sequence number of the oldest event still in the ring. */
  private tailSeq = 0;
  private bytes = 0;
  private readonly maxBytes: number;
  /** Every event with a revision above this is in the ring (it is the revision of the newest evicted one). */
  private windowStart: number;
  private seen: number;
  private readonly subscribers = new Set<Subscription>();
  /** Subscribers waiting for events, by prefix, so one scan of new events serves every waiter on a prefix. */
  private readonly waiting = new Map<string, Set<Subscription>>();
  /** Subscribers with a trigger, by prefix and trigger name (see TriggerIndex). */
  private readonly triggered = new Map<string, TriggerIndex>();
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
  /** Revision of the newest event the last dispatch covered: a parked subscriber has been given all it selects to here. */
  private flushedRevision: number;
  private watcher: Watcher;
  private failure: Error | undefined;
  private closed = false;

  constructor(store: Store, options: WatchCacheOptions = {}) {
    const capacity = options.capacity ?? 65_536;
    const preload = options.preload ?? 1024;
    const maxBatch = options.maxBatch ?? 1000;
    const dispatchIntervalMs = options.dispatchIntervalMs ?? 5;
    const maxBytes = options.maxBytes ?? 64 * 2 ** 20;
    checkInteger('WatchCache', 'maxBytes', maxBytes);
    this.maxBytes = maxBytes;
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
    this.flushedRevision = start;
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
   * `afterRevision` away (Kubernetes: 410 Gone, Expired). With a `trigger`, only the events it can match.
   */
  subscribe(prefix: string, afterRevision: number, trigger?: WatchTrigger): CacheWatcher {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StoreClosedError();
    let sub: Subscription;
    if (afterRevision < this.windowStart) {
      // Older than the window: replay the store's history (CompactedError if the store dropped it too) up to
      // what the window holds, then join the window. All keys, so the replay visibly passes that point.
      const replay = this.store.watch('', afterRevision);
      sub = new Subscription(this.hub, prefix, afterRevision, Number.MAX_SAFE_INTEGER, trigger, {
        watcher: replay,
        target: this.seen,
      });
    } else {
      sub = new Subscription(this.hub, prefix, afterRevision, this.seek(afterRevision), trigger);
      this.index(sub);
    }
    this.subscribers.add(sub);
    return sub;
  }

  /**
   * Puts a triggered subscriber, at its cursor in the window, into its index: events the next dispatches cover go
   * to its queue; those before (up to `flushedSeq`) it scans once from its cursor.
   */
  private index(sub: Subscription): void {
    const trigger = sub.trigger;
    if (trigger === undefined) return;
    const name = `${sub.prefix}\n${trigger.name}`;
    let index = this.triggered.get(name);
    if (index === undefined)
      this.triggered.set(name, (index = { prefix: sub.prefix, valuesOf: trigger.valuesOf, byValue: new Map() }));
    let group = index.byValue.get(trigger.value);
    if (group === undefined) index.byValue.set(trigger.value, (group = new Set()));
    group.add(sub);
    sub.indexed = { backlogEnd: this.flushedSeq, queue: [], head: 0 };
  }

  private unindex(sub: Subscription): void {
    const trigger = sub.trigger;
    if (trigger === undefined || sub.indexed === undefined) return;
    const name = `${sub.prefix}\n${trigger.name}`;
    const index = this.triggered.get(name);
    const group = index?.byValue.get(trigger.value);
    if (!group?.delete(sub) || group.size > 0) return;
    index?.byValue.delete(trigger.value);
    if (index?.byValue.size === 0) this.triggered.delete(name);
  }

  /** Sequence number of the first retained event newer than `revision` (revisions grow with sequence). */
  private seek(revision: number): number {
    let lo = this.tailSeq;
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
    join: (sub, revision) => {
      if (revision < this.windowStart) return false;
      sub.cursor = this.seek(revision);
      this.index(sub);
      return true;
    },
    progress: (sub) => this.progress(sub),
    maxBatch: () => this.maxBatch,
    capacity: () => this.capacity,
  };

  /** Hand `sub` the next events after its cursor, or undefined if there are none yet. */
  private read(sub: Subscription): readonly StoreEvent[] | undefined {
    if (sub.indexed !== undefined) return this.readIndexed(sub, sub.indexed);
    const tail = this.tailSeq;
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
      sub.scannedRevision = (this.eventAt(memo.to - 1) as StoreEvent).revision;
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
    sub.scannedRevision = (this.eventAt(cursor - 1) as StoreEvent).revision;
    return out;
  }

  /** A triggered subscriber's next events: what its cursor has left of the window before it was indexed, then its queue. */
  private readIndexed(sub: Subscription, indexed: Indexed): readonly StoreEvent[] | undefined {
    const trigger = sub.trigger as WatchTrigger;
    let out: StoreEvent[] | undefined;
    if (sub.cursor < indexed.backlogEnd) {
      if (sub.cursor < this.tailSeq) {
        sub.terminate(new WatchTooSlowError(sub.lastRevision, this.capacity));
        return undefined;
      }
      let cursor = sub.cursor;
      while (cursor < indexed.backlogEnd) {
        const e = this.ring[cursor % this.capacity] as StoreEvent;
        cursor++;
        if (e.revision > sub.afterRevision && e.key.startsWith(sub.prefix) && triggers(trigger, e)) {
          (out ??= []).push(e);
          if (out.length >= this.maxBatch) break;
        }
      }
      sub.cursor = cursor;
      if (out !== undefined) return out;
    }
    const { queue } = indexed;
    while (indexed.head < queue.length && (out?.length ?? 0) < this.maxBatch) {
      const e = queue[indexed.head++] as StoreEvent;
      if (e.revision > sub.afterRevision) (out ??= []).push(e);
    }
    if (indexed.head === queue.length) {
      queue.length = 0;
      indexed.head = 0;
    } else if (indexed.head >= 1024 && indexed.head * 2 >= queue.length) {
      // A reader that never quite empties its queue must not keep every event it was ever queued alive.
      queue.splice(0, indexed.head);
      indexed.head = 0;
    }
    return out;
  }

  /**
   * The revision up to which `sub` has been handed every event it selects: past its last event when it has nothing
   * unread and the last dispatch found nothing for it (what a bookmark may carry).
   */
  private progress(sub: Subscription): number {
    const own = Math.max(sub.lastRevision, sub.scannedRevision);
    if (sub.catchUp !== undefined) return sub.lastRevision;
    const indexed = sub.indexed;
    if (indexed !== undefined) {
      const idle = sub.cursor >= indexed.backlogEnd && indexed.head === indexed.queue.length;
      return idle ? Math.max(own, this.flushedRevision) : sub.lastRevision;
    }
    return this.waiting.get(sub.prefix)?.has(sub) === true ? Math.max(own, this.flushedRevision) : own;
  }

  private park(sub: Subscription): void {
    // A triggered subscriber is woken by its index (dispatchIndexed), never by the prefix's other writes.
    if (sub.indexed !== undefined) return;
    let group = this.waiting.get(sub.prefix);
    if (!group) this.waiting.set(sub.prefix, (group = new Set()));
    group.add(sub);
  }

  private remove(sub: Subscription): void {
    this.subscribers.delete(sub);
    this.unindex(sub);
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
    if (this.headSeq - this.tailSeq === this.capacity) this.evict();
    this.ring[this.headSeq % this.capacity] = event;
    this.headSeq++;
    this.bytes += eventBytes(event);
    while (this.bytes > this.maxBytes && this.headSeq - this.tailSeq > 1) this.evict();
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

  private evict(): void {
    const slot = this.tailSeq % this.capacity;
    const e = this.ring[slot] as StoreEvent;
    this.ring[slot] = undefined;
    this.bytes -= eventBytes(e);
    this.windowStart = e.revision;
    this.tailSeq++;
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
    const from = Math.max(this.flushedSeq, this.tailSeq);
    // Events evicted before any dispatch saw them: no index or parked group can say whom they concerned.
    const unseen = from > this.flushedSeq;
    this.flushedSeq = this.headSeq;
    this.flushedRevision = this.seen;
    for (const index of this.triggered.values()) this.dispatchIndexed(index, from);
    for (const [prefix, group] of this.waiting) {
      let match = false;
      for (let seq = from; seq < this.headSeq && !match; seq++) {
        match = (this.ring[seq % this.capacity] as StoreEvent).key.startsWith(prefix);
      }
      if (!match) continue;
      this.waiting.delete(prefix);
      this.lastWoken += group.size;
      for (const sub of group) {
        // What lies between its cursor and `from` earlier dispatches found not to be its own.
        if (!unseen) sub.cursor = Math.max(sub.cursor, from);
        sub.wake();
      }
    }
    // Subscribers busy elsewhere whose unread events were just evicted: end them now rather than at their
    // next read, so their connections close promptly. One still parked has nothing unread (no dispatch woke
    // it): it moves up instead, so a watch on a quiet collection is not ended by writes to others; unless events
    // went by unseen, which may have been its own (as may any triggered subscriber's).
    const tail = this.tailSeq;
    if (tail > 0) {
      for (const sub of this.subscribers) {
        if (sub.catchUp !== undefined) continue;
        if (sub.indexed !== undefined) {
          if (unseen || sub.cursor < Math.min(tail, sub.indexed.backlogEnd))
            sub.terminate(new WatchTooSlowError(sub.lastRevision, this.capacity));
          continue;
        }
        if (sub.cursor >= tail) continue;
        if (!unseen && this.waiting.get(sub.prefix)?.has(sub) === true) sub.cursor = this.headSeq;
        else sub.terminate(new WatchTooSlowError(sub.lastRevision, this.capacity));
      }
    }
  }

  /** Queues each event from `from` on to the subscribers of `index` whose value it had or has, and wakes them. */
  private dispatchIndexed(index: TriggerIndex, from: number): void {
    for (let seq = from; seq < this.headSeq; seq++) {
      const e = this.ring[seq % this.capacity] as StoreEvent;
      if (!e.key.startsWith(index.prefix)) continue;
      const [after, before] = index.valuesOf(e);
      if (after !== undefined) this.enqueue(index.byValue.get(after), e);
      if (before !== undefined && before !== after) this.enqueue(index.byValue.get(before), e);
    }
  }

  private enqueue(group: Set<Subscription> | undefined, e: StoreEvent): void {
    if (group === undefined) return;
    for (const sub of group) {
      const indexed = sub.indexed as Indexed;
      if (indexed.queue.length - indexed.head >= this.capacity) {
        // As far behind as the window is long: ended, as a cursor the window left behind is.
        sub.terminate(new WatchTooSlowError(sub.lastRevision, this.capacity));
        continue;
      }
      indexed.queue.push(e);
      if (sub.wake()) this.lastWoken++;
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
   * The revision up to which this watcher has been handed every event it selects (at least `lastRevision`):
   * what a bookmark may carry, as Kubernetes' bookmarks carry the cache's revision rather than the last event's.
   */
  progressRevision(): number;
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
  /** Moves `sub` into the window after `revision`; false when the window no longer reaches back to it. */
  join(sub: Subscription, revision: number): boolean;
  progress(sub: Subscription): number;
  maxBatch(): number;
  capacity(): number;
}

/** What a triggered subscriber in the window has: its queue, and how far its cursor still scans the window. */
interface Indexed {
  /** Events before this sequence number were dispatched before it was indexed: its cursor scans them. */
  readonly backlogEnd: number;
  readonly queue: StoreEvent[];
  head: number;
}

/** What an event's text costs the window (one-byte strings: the JSON of objects is mostly ASCII). */
const eventBytes = (e: StoreEvent): number => e.key.length + (e.value?.length ?? 0) + (e.prevValue?.length ?? 0) + 64;

const triggers = (trigger: WatchTrigger, e: StoreEvent): boolean => {
  const [after, before] = trigger.valuesOf(e);
  return after === trigger.value || before === trigger.value;
};

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
  /** Revision of the last window event the cursor passed, handed out or not. */
  scannedRevision = 0;
  /** Set once a triggered subscriber is in its index (see Indexed). */
  indexed: Indexed | undefined;
  /** Events at or below this are never handed out (raised when a catch-up joins the window). */
  afterRevision: number;
  private wakeUp: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;
  catchUp: (CatchUp & { readonly it: AsyncIterator<StoreEvent> }) | undefined;

  constructor(
    private readonly cache: Hub,
    readonly prefix: string,
    afterRevision: number,
    cursor: number,
    readonly trigger: WatchTrigger | undefined,
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
      if (
        e.revision <= c.target &&
        e.revision > this.afterRevision &&
        e.key.startsWith(this.prefix) &&
        (this.trigger === undefined || triggers(this.trigger, e))
      )
        out.push(e);
      if (e.revision >= c.target) {
        // Everything up to the target came from the store; the window has all that follows, unless it moved on.
        c.watcher.close();
        this.catchUp = undefined;
        this.afterRevision = Math.max(this.afterRevision, c.target);
        if (!this.cache.join(this, c.target)) {
          this.terminate(
            new WatchTooSlowError(out[out.length - 1]?.revision ?? this.lastRevision, this.cache.capacity()),
          );
          return undefined;
        }
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

  progressRevision(): number {
    return this.ended ? this.lastRevision : this.cache.progress(this);
  }

  /** Resumes a parked `next()`; false when none was waiting. */
  wake(): boolean {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
    return wake !== undefined;
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
