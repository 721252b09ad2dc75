// The embedded durable store: the Store contract on one LevelDB directory, with group-committed fsync'd writes,
// a persisted global revision and a revision-ordered history for watch resume.

import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import {
  CompactedError,
  StoreClosedError,
  StoreFailedError,
  WatchTooSlowError,
  type ListOptions,
  type ListResult,
  type Store,
  type StoredValue,
  type StoreEvent,
  type Watcher,
  type WriteResult,
} from './interface.js';
import { checkInteger, InvalidArgumentError } from '@berth/api';

/** How much history LevelStore keeps for watch resume; whichever bound is tighter wins. */
export interface HistoryRetention {
  /** Keep at most this many events. @default 100_000 */
  readonly maxEvents?: number;
  /**
   * Drop events older than this. Ages are tracked in memory, so after a restart the events already on disk
   * count as written at open time. @default 600_000 (10 minutes)
   */
  readonly maxAgeMs?: number;
  /** How often the automatic compaction looks. @default 10_000 */
  readonly checkIntervalMs?: number;
}

export interface LevelStoreOptions {
  /** Directory of the LevelDB database; created when missing. */
  readonly dir: string;
  /** Automatic compaction; `false` keeps all history until `compact()` is called. @default {} (the defaults above) */
  readonly historyRetention?: HistoryRetention | false;
  /**
   * Bytes of recently written or read values kept in memory, so an update finds the previous value (for its
   * watch event) without a disk read. @default 16 MiB
   */
  readonly valueCacheBytes?: number;
  /** Most unread events a watcher may have before it is ended with WatchTooSlowError. @default 100_000 */
  readonly watchBufferLimit?: number;
  /** Most writes committed in one sync batch. @default 4096 */
  readonly maxBatch?: number;
}

// Key spaces inside the one database. Values are length-prefixed text rather than JSON so that the stored
// object text is never escaped or parsed.
const DATA = 'd!'; // d!<key> -> "<modRevision>,<createRevision>,<value>"
const INDEX = 'i!'; // i!<key> -> "<modRevision>,<createRevision>" (small, so open() need not read values)
const HISTORY = 'h!'; // h!<revision, 16 digits> -> encoded StoreEvent
const META_REVISION = 'm!revision';
const META_COMPACTED = 'm!compacted';

/** The part of a level iterator the watch replay uses. */
interface EntryIterator {
  nextv(size: number): Promise<Array<[string, string]>>;
  close(): Promise<void>;
}

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

interface IndexEntry {
  readonly modRevision: number;
  readonly createRevision: number;
}

interface PendingWrite {
  readonly kind: 'create' | 'update' | 'delete';
  readonly key: string;
  readonly expectedRevision: number | undefined;
  readonly render: ((revision: number) => string) | undefined;
  readonly resolve: (result: WriteResult) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly result: WriteResult } | { readonly error: unknown };

/** LevelStore implements Store on `level` (classic-level / LevelDB). */
export class LevelStore implements Store {
  readonly backend = 'level';
  private readonly db: Level<string, string>;
  private readonly index = new Map<string, IndexEntry>();
  /** The index's keys by directory (up to the last `/`), so a list finds its keys without reading the disk. */
  private readonly dirs = new KeyDirectories();
  private readonly cache: ValueCache;
  private readonly watchers = new Set<LevelWatcher>();
  private readonly maxBatch: number;
  private readonly watchBufferLimit: number;
  private readonly retention: Required<HistoryRetention> | undefined;
  /**
   * One sample per second with writes: the newest revision committed in that second and when, so
   * "every event at or below `revision` was written by `time`" holds for each.
   */
  private readonly samples: Array<{ readonly start: number; time: number; revision: number }> = [];
  private committed: number;
  private compacted: number;
  private queue: PendingWrite[] = [];
  private pumping = false;
  private idleWaiters: Array<() => void> = [];
  private failure: StoreFailedError | undefined;
  private closing = false;
  private closingDone: Promise<void> | undefined;
  private compaction: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private syncs = 0;
  private syncedWrites = 0;
  private readonly syncListeners = new Set<(seconds: number, writes: number) => void>();

  private constructor(db: Level<string, string>, revision: number, compacted: number, options: LevelStoreOptions) {
    this.db = db;
    this.committed = revision;
    this.compacted = compacted;
    this.cache = new ValueCache(options.valueCacheBytes ?? 16 * 1024 * 1024);
    this.maxBatch = options.maxBatch ?? 4096;
    this.watchBufferLimit = options.watchBufferLimit ?? 100_000;
    const r = options.historyRetention ?? {};
    this.retention =
      r === false
        ? undefined
        : {
            maxEvents: r.maxEvents ?? 100_000,
            maxAgeMs: r.maxAgeMs ?? 600_000,
            checkIntervalMs: r.checkIntervalMs ?? 10_000,
          };
  }

  /** Open (or create) the store in `options.dir`, loading the key index into memory. */
  static async open(options: LevelStoreOptions): Promise<LevelStore> {
    checkPositive('valueCacheBytes', options.valueCacheBytes, true);
    checkPositive('watchBufferLimit', options.watchBufferLimit);
    checkPositive('maxBatch', options.maxBatch);
    if (options.historyRetention) {
      checkPositive('historyRetention.maxEvents', options.historyRetention.maxEvents);
      checkPositive('historyRetention.maxAgeMs', options.historyRetention.maxAgeMs);
      checkPositive('historyRetention.checkIntervalMs', options.historyRetention.checkIntervalMs);
    }
    await mkdir(options.dir, { recursive: true });
    const db = new Level<string, string>(options.dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
      writeBufferSize: 32 * 1024 * 1024,
    });
    await db.open();
    try {
      const [rev, compacted] = await db.getMany([META_REVISION, META_COMPACTED]);
      const store = new LevelStore(
        db,
        rev === undefined ? 0 : Number(rev),
        compacted === undefined ? 0 : Number(compacted),
        options,
      );
      await store.loadIndex();
      store.start();
      return store;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  private async loadIndex(): Promise<void> {
    const it = this.db.iterator({ gte: INDEX, lt: prefixEnd(INDEX) });
    try {
      for (;;) {
        const entries = await it.nextv(4096);
        if (entries.length === 0) break;
        for (const [k, v] of entries) {
          const comma = v.indexOf(',');
          const key = k.slice(INDEX.length);
          this.index.set(key, {
            modRevision: Number(v.slice(0, comma)),
            createRevision: Number(v.slice(comma + 1)),
          });
          this.dirs.add(key);
        }
      }
    } finally {
      await it.close();
    }
  }

  private start(): void {
    const now = Date.now();
    this.samples.push({ start: now, time: now, revision: this.committed });
    // A crash between persisting a compaction and clearing its history leaves stale entries; drop them now.
    if (this.compacted > 0) {
      this.compaction = this.db.clear({ gt: HISTORY, lte: historyKey(this.compacted) }).catch(() => undefined);
    }
    if (this.retention) {
      this.timer = setInterval(() => this.autoCompact(), this.retention.checkIntervalMs);
      this.timer.unref();
    }
  }

  revision(): number {
    return this.committed;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  /** Counters for metrics: keys stored, sync batches committed and the writes they carried. */
  stats(): { readonly keys: number; readonly syncs: number; readonly writes: number } {
    return { keys: this.index.size, syncs: this.syncs, writes: this.syncedWrites };
  }

  onSync(listener: (seconds: number, writes: number) => void): () => void {
    this.syncListeners.add(listener);
    return () => this.syncListeners.delete(listener);
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.assertOpen();
    const cached = this.cache.get(key);
    if (cached) return cached;
    if (!this.index.has(key)) return undefined;
    const raw = await this.db.get(DATA + key);
    if (raw === undefined) return undefined; // deleted by a batch that is on disk but not yet acknowledged
    const value = decodeData(key, raw);
    // Only cache what matches the acknowledged state; the read may have seen a batch still being acknowledged.
    if (this.index.get(key)?.modRevision === value.modRevision) this.cache.set(value);
    return value;
  }

  async list(options: ListOptions): Promise<ListResult> {
    this.assertOpen();
    const limit = options.limit ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new InvalidArgumentError(`list limit must be a non-negative integer, got ${limit}`);
    const fromMemory = this.listFromMemory(options, limit);
    if (fromMemory !== undefined) return fromMemory;
    const { prefix, startAfter, filter } = options;
    // One explicit snapshot for the revision and the items, so the list is exactly the state at that revision.
    const snapshot = this.db.snapshot();
    try {
      const rev = await this.db.get(META_REVISION, { snapshot });
      const range =
        startAfter !== undefined && startAfter >= prefix
          ? { gt: DATA + startAfter, lt: prefixEnd(DATA + prefix) }
          : { gte: DATA + prefix, lt: prefixEnd(DATA + prefix) };
      const it = this.db.iterator({ ...range, snapshot });
      const items: StoredValue[] = [];
      let next: string | undefined;
      try {
        const chunk = limit > 0 && !filter ? Math.min(limit + 1, 1000) : 1000;
        outer: for (;;) {
          const entries = await it.nextv(chunk);
          if (entries.length === 0) break;
          for (const [k, v] of entries) {
            if (limit > 0 && items.length === limit) {
              // A key remains past a full page.
              next = items[items.length - 1]?.key;
              break outer;
            }
            const item = decodeData(k.slice(DATA.length), v);
            if (filter === undefined || filter(item)) items.push(item);
          }
        }
      } finally {
        await it.close();
      }
      return next === undefined
        ? { items, revision: rev === undefined ? 0 : Number(rev) }
        : { items, revision: rev === undefined ? 0 : Number(rev), next };
    } finally {
      await snapshot.close();
    }
  }

  /**
   * A list of few keys whose values are all in memory (an empty one, a namespace's ResourceQuotas, Namespaces) is
   * answered without a disk snapshot: the index, the cache and `committed` move together when a batch is
   * acknowledged, so this is exactly the state at `committed`. Else undefined: the caller reads the disk.
   */
  private listFromMemory(options: ListOptions, limit: number): ListResult | undefined {
    const { prefix, startAfter, filter } = options;
    const keys = this.dirs.under(prefix, MEMORY_LIST_MAX);
    if (keys === undefined) return undefined;
    const values: StoredValue[] = [];
    for (const key of keys) {
      const v = this.cache.peek(key);
      if (v === undefined) return undefined;
      values.push(v);
    }
    values.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const items: StoredValue[] = [];
    let next: string | undefined;
    for (const v of values) {
      if (startAfter !== undefined && v.key <= startAfter) continue;
      if (limit > 0 && items.length === limit) {
        next = items[items.length - 1]?.key;
        break;
      }
      if (filter === undefined || filter(v)) items.push(v);
    }
    return next === undefined ? { items, revision: this.committed } : { items, revision: this.committed, next };
  }

  create(key: string, render: (revision: number) => string): Promise<WriteResult> {
    return this.enqueue('create', key, undefined, render);
  }

  update(key: string, expectedRevision: number, render: (revision: number) => string): Promise<WriteResult> {
    return this.enqueue('update', key, expectedRevision, render);
  }

  delete(key: string, expectedRevision?: number): Promise<WriteResult> {
    return this.enqueue('delete', key, expectedRevision, undefined);
  }

  watch(prefix: string, afterRevision: number): Watcher {
    this.assertOpen();
    if (afterRevision < this.compacted) throw new CompactedError(afterRevision, this.compacted);
    // Replay reads history up to the acknowledged revision from a snapshot taken now (the iterator's); every
    // later event reaches the watcher live from the commit path, so nothing is missed or repeated.
    const upTo = this.committed;
    const replay =
      afterRevision < upTo ? this.db.iterator({ gt: historyKey(afterRevision), lte: historyKey(upTo) }) : undefined;
    const watcher = new LevelWatcher(prefix, afterRevision, replay, this.watchBufferLimit, () =>
      this.watchers.delete(watcher),
    );
    this.watchers.add(watcher);
    return watcher;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (!Number.isSafeInteger(revision) || revision < 0) throw new InvalidArgumentError(`invalid revision ${revision}`);
    if (revision > this.committed) {
      throw new InvalidArgumentError(`cannot compact revision ${revision}: the store is at ${this.committed}`);
    }
    if (revision <= this.compacted) return;
    // Refuse watches from below `revision` at once; persist the mark before deleting, so a crash in between
    // never lets a resumed watch silently skip deleted events.
    this.compacted = revision;
    const run = this.compaction.then(async () => {
      await this.db.put(META_COMPACTED, String(revision), { sync: true });
      await this.db.clear({ gt: HISTORY, lte: historyKey(revision) });
    });
    this.compaction = run.catch(() => undefined);
    await run;
  }

  close(): Promise<void> {
    this.closingDone ??= this.shutdown();
    return this.closingDone;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    // Writes already accepted are finished, not dropped.
    if (this.pumping) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.compaction;
    for (const w of [...this.watchers]) w.end(undefined);
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closing) throw new StoreClosedError();
  }

  private enqueue(
    kind: PendingWrite['kind'],
    key: string,
    expectedRevision: number | undefined,
    render: ((revision: number) => string) | undefined,
  ): Promise<WriteResult> {
    if (this.closing) return Promise.reject(new StoreClosedError());
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ kind, key, expectedRevision, render, resolve, reject });
      if (!this.pumping) {
        this.pumping = true;
        // Start on a microtask so writes issued in the same tick share the first sync too.
        queueMicrotask(() => void this.pump());
      }
    });
  }

  /** The write pipeline: one sync batch in flight; everything that queued meanwhile forms the next one. */
  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      let writes: PendingWrite[];
      if (this.queue.length <= this.maxBatch) {
        writes = this.queue;
        this.queue = [];
      } else {
        writes = this.queue.slice(0, this.maxBatch);
        this.queue = this.queue.slice(this.maxBatch);
      }
      if (this.failure) {
        for (const w of writes) w.reject(this.failure);
        continue;
      }
      try {
        await this.commit(writes);
      } catch (err) {
        this.failure = new StoreFailedError(err);
        for (const w of writes) w.reject(this.failure);
      }
    }
    this.pumping = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async commit(writes: PendingWrite[]): Promise<void> {
    // Previous values (for events and failed preconditions) that are not in memory: one read for the batch.
    let fetched: Map<string, StoredValue> | undefined;
    let missing: string[] | undefined;
    for (const w of writes) {
      if (this.index.has(w.key) && !this.cache.has(w.key)) (missing ??= []).push(w.key);
    }
    if (missing) {
      const keys = [...new Set(missing)];
      const raws = await this.db.getMany(keys.map((k) => DATA + k));
      fetched = new Map();
      for (let i = 0; i < keys.length; i++) {
        const raw = raws[i];
        const key = keys[i] as string;
        if (raw !== undefined) fetched.set(key, decodeData(key, raw));
      }
    }

    // Decide every write in arrival order against the committed state plus this batch's earlier writes.
    const overlay = new Map<string, StoredValue | null>();
    const current = (key: string): StoredValue | undefined => {
      const o = overlay.get(key);
      if (o !== undefined) return o ?? undefined;
      if (!this.index.has(key)) return undefined;
      const v = this.cache.get(key) ?? fetched?.get(key);
      if (v === undefined) throw new Error(`storage index lists ${key} but its value is missing`);
      return v;
    };
    let rev = this.committed;
    const ops: Op[] = [];
    const events: StoreEvent[] = [];
    const outcomes: Outcome[] = [];
    for (const w of writes) {
      const cur = current(w.key);
      if (w.kind === 'create' && cur) {
        outcomes.push({ result: { ok: false, reason: 'exists', current: cur } });
        continue;
      }
      if (w.kind !== 'create' && !cur) {
        outcomes.push({ result: { ok: false, reason: 'not-found' } });
        continue;
      }
      if (cur && w.expectedRevision !== undefined && cur.modRevision !== w.expectedRevision) {
        outcomes.push({ result: { ok: false, reason: 'conflict', current: cur } });
        continue;
      }
      const revision = rev + 1;
      if (w.kind === 'delete') {
        const prev = cur as StoredValue;
        overlay.set(w.key, null);
        ops.push({ type: 'del', key: DATA + w.key }, { type: 'del', key: INDEX + w.key });
        const event: StoreEvent = { type: 'DELETE', key: w.key, revision, prevValue: prev.value };
        ops.push({ type: 'put', key: historyKey(revision), value: encodeEvent(event) });
        events.push(event);
      } else {
        let value: string;
        try {
          value = (w.render as (revision: number) => string)(revision);
          if (typeof value !== 'string')
            throw new TypeError(`render for ${w.key} returned ${typeof value}, not a string`);
        } catch (error) {
          outcomes.push({ error });
          continue;
        }
        const createRevision = cur ? cur.createRevision : revision;
        overlay.set(w.key, { key: w.key, value, modRevision: revision, createRevision });
        const meta = `${revision},${createRevision}`;
        ops.push(
          { type: 'put', key: DATA + w.key, value: `${meta},${value}` },
          { type: 'put', key: INDEX + w.key, value: meta },
        );
        const event: StoreEvent = cur
          ? { type: 'PUT', key: w.key, revision, value, prevValue: cur.value }
          : { type: 'PUT', key: w.key, revision, value };
        ops.push({ type: 'put', key: historyKey(revision), value: encodeEvent(event) });
        events.push(event);
      }
      rev = revision;
      outcomes.push({ result: { ok: true, revision } });
    }

    if (ops.length > 0) {
      // The revision counter rides in the same atomic batch, so it can never fall behind a stored write.
      ops.push({ type: 'put', key: META_REVISION, value: String(rev) });
      // A chained batch copies each entry into the native batch as it goes; level's array form spends
      // several times longer per entry on the main thread.
      const batch = this.db.batch();
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      const began = performance.now();
      await batch.write({ sync: true });
      this.syncs++;
      this.syncedWrites += events.length;
      for (const l of this.syncListeners) l((performance.now() - began) / 1000, events.length);
    }

    // Acknowledge: memory first, then watchers, then callers, so a caller that reads or watches next sees it.
    this.committed = rev;
    for (const [key, v] of overlay) {
      if (v === null) {
        this.index.delete(key);
        this.dirs.delete(key);
        this.cache.delete(key);
      } else {
        this.index.set(key, { modRevision: v.modRevision, createRevision: v.createRevision });
        this.dirs.add(key);
        this.cache.set(v);
      }
    }
    if (events.length > 0) {
      const now = Date.now();
      const last = this.samples[this.samples.length - 1];
      if (last !== undefined && now - last.start < 1000) {
        last.time = now;
        last.revision = rev;
      } else {
        this.samples.push({ start: now, time: now, revision: rev });
      }
      for (const watcher of this.watchers) watcher.pushAll(events);
    }
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i] as PendingWrite;
      const o = outcomes[i] as Outcome;
      if ('result' in o) w.resolve(o.result);
      else w.reject(o.error);
    }
  }

  private autoCompact(): void {
    const r = this.retention;
    if (!r || this.closing) return;
    let target = this.committed - r.maxEvents;
    const cutoff = Date.now() - r.maxAgeMs;
    // Samples are in time order; the newest one at or before the cutoff bounds what is old enough to drop.
    let drop = 0;
    while (drop < this.samples.length && (this.samples[drop]?.time ?? Infinity) <= cutoff) drop++;
    if (drop > 0) {
      target = Math.max(target, this.samples[drop - 1]?.revision ?? 0);
      this.samples.splice(0, drop - 1);
    }
    if (target > this.compacted) {
      this.compact(target).catch(() => undefined); // a failed compaction is retried at the next check
    }
  }
}

/**
 * A watch on LevelStore: replays history from its snapshot iterator, then live events pushed by the commit
 * path into a bounded buffer.
 */
class LevelWatcher implements Watcher {
  readonly events: AsyncIterable<StoreEvent>;
  private buffer: StoreEvent[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;
  private lastRevision: number;
  private iterated = false;

  constructor(
    private readonly prefix: string,
    private readonly afterRevision: number,
    private replay: EntryIterator | undefined,
    private readonly limit: number,
    private readonly onEnd: () => void,
  ) {
    this.lastRevision = afterRevision;
    this.events = { [Symbol.asyncIterator]: () => this.iterate() };
  }

  pushAll(events: readonly StoreEvent[]): void {
    if (this.ended) return;
    for (const e of events) {
      if (e.revision <= this.afterRevision || !e.key.startsWith(this.prefix)) continue;
      if (this.buffer.length - this.head >= this.limit) {
        this.end(new WatchTooSlowError(this.lastRevision, this.limit));
        return;
      }
      this.buffer.push(e);
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  close(): void {
    this.end(undefined);
  }

  end(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.buffer = [];
    this.head = 0;
    this.onEnd();
    if (this.replay && !this.iterated) void this.replay.close();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async *iterate(): AsyncGenerator<StoreEvent> {
    if (this.iterated) throw new Error('a watcher can be iterated only once');
    this.iterated = true;
    try {
      if (this.replay) {
        const it = this.replay;
        try {
          for (;;) {
            if (this.ended) break;
            let entries: Array<[string, string]>;
            try {
              entries = await it.nextv(512);
            } catch (err) {
              if (this.ended) break; // the store closed under the replay
              throw err;
            }
            if (entries.length === 0 || this.ended) break;
            for (const [k, v] of entries) {
              const event = decodeEvent(k, v);
              if (!event.key.startsWith(this.prefix)) continue;
              this.lastRevision = event.revision;
              yield event;
              if (this.ended) break;
            }
          }
        } finally {
          this.replay = undefined;
          await it.close();
        }
      }
      for (;;) {
        if (this.head < this.buffer.length) {
          const event = this.buffer[this.head] as StoreEvent;
          this.head++;
          if (this.head > 1024 && this.head * 2 > this.buffer.length) {
            this.buffer = this.buffer.slice(this.head);
            this.head = 0;
          }
          this.lastRevision = event.revision;
          yield event;
          continue;
        }
        if (this.ended) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      if (this.error) throw this.error;
    } finally {
      this.end(this.error);
    }
  }
}

/** Lists of at most this many keys may be answered from memory (LevelStore.listFromMemory). */
const MEMORY_LIST_MAX = 256;

/** Keys grouped by their directory (the key up to its last `/`), to find the keys under a prefix in memory. */
class KeyDirectories {
  private readonly dirs = new Map<string, Set<string>>();

  add(key: string): void {
    const dir = key.slice(0, key.lastIndexOf('/') + 1);
    let keys = this.dirs.get(dir);
    if (keys === undefined) this.dirs.set(dir, (keys = new Set()));
    keys.add(key);
  }

  delete(key: string): void {
    const dir = key.slice(0, key.lastIndexOf('/') + 1);
    const keys = this.dirs.get(dir);
    if (keys?.delete(key) && keys.size === 0) this.dirs.delete(dir);
  }

  /** The keys starting with `prefix`, in no order, or undefined when there are more than `max`. */
  under(prefix: string, max: number): string[] | undefined {
    const out: string[] = [];
    const dir = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    // The common case: a collection's own directory, and nothing deeper (keys have no `/` in their names).
    const own = prefix === dir ? this.dirs.get(dir) : undefined;
    if (own !== undefined && own.size > max) return undefined;
    for (const [d, keys] of this.dirs) {
      if (d.startsWith(prefix)) {
        if (out.length + keys.size > max) return undefined;
        for (const k of keys) out.push(k);
      } else if (prefix.startsWith(d)) {
        for (const k of keys) {
          if (!k.startsWith(prefix)) continue;
          if (out.length === max) return undefined;
          out.push(k);
        }
      }
    }
    return out;
  }
}

/**
 * Recently used values, bounded by total size; a Map keeps insertion order, so the first entry is the least
 * recently used (a hit moves its entry to the end, so a value read on every request, a Namespace, stays).
 */
class ValueCache {
  private readonly map = new Map<string, StoredValue>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}

  has(key: string): boolean {
    return this.map.has(key);
  }
  get(key: string): StoredValue | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  /** `get` without counting as a use. */
  peek(key: string): StoredValue | undefined {
    return this.map.get(key);
  }
  set(v: StoredValue): void {
    this.delete(v.key);
    const size = cost(v);
    if (size > this.maxBytes) return;
    this.map.set(v.key, v);
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }
  delete(key: string): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.map.delete(key);
    this.bytes -= cost(old);
  }
}

function cost(v: StoredValue): number {
  return 2 * (v.key.length + v.value.length) + 64;
}

function historyKey(revision: number): string {
  return HISTORY + String(revision).padStart(16, '0');
}

/** The smallest string greater than every string starting with `s` (for a half-open key range). */
function prefixEnd(s: string): string {
  let end = s;
  while (end.length > 0) {
    const last = end.charCodeAt(end.length - 1);
    if (last < 0xffff) return end.slice(0, -1) + String.fromCharCode(last + 1);
    end = end.slice(0, -1);
  }
  throw new InvalidArgumentError('no upper bound for an empty prefix');
}

function decodeData(key: string, raw: string): StoredValue {
  const a = raw.indexOf(',');
  const b = raw.indexOf(',', a + 1);
  return {
    key,
    modRevision: Number(raw.slice(0, a)),
    createRevision: Number(raw.slice(a + 1, b)),
    value: raw.slice(b + 1),
  };
}

// "<P|D><keyLength>,<valueLength or -1>,<prevLength or -1>,<key><value><prevValue>"
function encodeEvent(e: StoreEvent): string {
  const v = e.value ?? '';
  const p = e.prevValue ?? '';
  return `${e.type === 'PUT' ? 'P' : 'D'}${e.key.length},${e.value === undefined ? -1 : v.length},${
    e.prevValue === undefined ? -1 : p.length
  },${e.key}${v}${p}`;
}

function decodeEvent(storageKey: string, raw: string): StoreEvent {
  const revision = Number(storageKey.slice(HISTORY.length));
  const a = raw.indexOf(',');
  const b = raw.indexOf(',', a + 1);
  const c = raw.indexOf(',', b + 1);
  const keyLength = Number(raw.slice(1, a));
  const valueLength = Number(raw.slice(a + 1, b));
  const prevLength = Number(raw.slice(b + 1, c));
  let at = c + 1;
  const key = raw.slice(at, (at += keyLength));
  const value = valueLength < 0 ? undefined : raw.slice(at, (at += valueLength));
  const prevValue = prevLength < 0 ? undefined : raw.slice(at, at + prevLength);
  const type = raw[0] === 'P' ? 'PUT' : 'DELETE';
  if (value !== undefined && prevValue !== undefined) return { type, key, revision, value, prevValue };
  if (value !== undefined) return { type, key, revision, value };
  if (prevValue !== undefined) return { type, key, revision, prevValue };
  return { type, key, revision };
}

function checkPositive(name: string, value: number | undefined, allowZero = false): void {
  checkInteger('LevelStore', name, value, allowZero ? 0 : 1);
}
