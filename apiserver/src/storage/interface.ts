// The storage contract every backend (level now, etcd later) fulfils: a flat, ordered key space of JSON
// objects under one global, monotonically increasing revision, as etcd has it.

import { BerthError } from '@berth/api';

/** A stored object: its JSON text and the revision of the write that produced it. */
export interface StoredValue {
  readonly key: string;
  /** The object as JSON text; the store never parses it. */
  readonly value: string;
  /** Revision of the last write to this key (becomes the object's resourceVersion). */
  readonly modRevision: number;
  /** Revision at which this key was created (reset when a key is deleted and created again). */
  readonly createRevision: number;
}

export interface ListOptions {
  /** List keys starting with this prefix. */
  readonly prefix: string;
  /** At most this many items; 0 or absent means all. */
  readonly limit?: number;
  /** Resume after this key (exclusive); taken from a previous page's `next`. */
  readonly startAfter?: string;
  /** Drop items failing this test before counting them against `limit`. */
  readonly filter?: (item: StoredValue) => boolean;
}

export interface ListResult {
  readonly items: StoredValue[];
  /** The store revision this list reflects. */
  readonly revision: number;
  /**
   * The last key returned when more keys remain under the prefix, else undefined. With a filter, a page after
   * `next` may turn out empty (as with etcd-backed Kubernetes lists).
   */
  readonly next?: string;
}

export type WatchEventType = 'PUT' | 'DELETE';

export interface StoreEvent {
  readonly type: WatchEventType;
  readonly key: string;
  /** Revision of this write. */
  readonly revision: number;
  /** New value for PUT; undefined for DELETE. */
  readonly value?: string;
  /** Value before this write, when the key existed. */
  readonly prevValue?: string;
}

/** Outcome of a conditional write. */
export type WriteResult =
  | { readonly ok: true; readonly revision: number }
  | { readonly ok: false; readonly reason: 'exists' | 'not-found' | 'conflict'; readonly current?: StoredValue };

export interface Watcher {
  /**
   * Events in revision order, starting after the requested revision; ends when closed, and throws
   * WatchTooSlowError (or the store's error) when the watch was ended for the reader. Iterate it once;
   * leaving the loop closes the watcher.
   */
  readonly events: AsyncIterable<StoreEvent>;
  close(): void;
}

export interface Store {
  /** What keeps the data, as /readyz?verbose names its check (kube-apiserver's `etcd`, or `level`). */
  readonly backend?: 'etcd' | 'level';
  /**
   * Other processes write this store too (several API servers on one etcd): a revision above `revision()` may
   * exist already and show here once this process's watch delivers it.
   */
  readonly shared?: boolean;
  /** Current revision (the newest write acknowledged). */
  revision(): number;
  /** Oldest revision still retained in history; watching from before it fails with CompactedError. */
  compactedRevision(): number;

  get(key: string): Promise<StoredValue | undefined>;
  list(options: ListOptions): Promise<ListResult>;

  /**
   * Create `key`. The callback receives the revision the write will get, so the value can carry its own
   * resourceVersion; it runs inside the write's critical section, so keep it quick. If it throws, that
   * write's promise rejects with the error and nothing is written for it. Writes resolve once durable.
   */
  create(key: string, render: (revision: number) => string): Promise<WriteResult>;
  /**
   * Replace `key` only if its modRevision equals `expectedRevision` (an etcd transaction's compare).
   */
  update(key: string, expectedRevision: number, render: (revision: number) => string): Promise<WriteResult>;
  /** Delete `key`, optionally only at `expectedRevision`. */
  delete(key: string, expectedRevision?: number): Promise<WriteResult>;

  /**
   * Events for keys under `prefix` with revision > `afterRevision`, then live ones.
   * Throws CompactedError at once when `afterRevision` < compactedRevision().
   */
  watch(prefix: string, afterRevision: number): Watcher;

  /** Drop history at or below `revision` (never moves back; InvalidArgumentError above `revision()`). */
  compact(revision: number): Promise<void>;

  close(): Promise<void>;

  /**
   * Tells `listener` after each durable sync how long it took and how many writes it carried (metrics); returns
   * the unsubscribe. Optional: a backend whose syncs happen elsewhere (etcd) leaves it out.
   */
  onSync?(listener: (seconds: number, writes: number) => void): () => void;
}

/** A watch or read asked for history the store has already dropped (Kubernetes: 410 Gone, reason Expired). */
export class CompactedError extends BerthError<'BERTH_STORE_COMPACTED'> {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super('BERTH_STORE_COMPACTED', `too old resource version: ${requested} (${oldest})`);
  }
}

/** The store (or watch cache) was closed; the operation was not carried out. */
export class StoreClosedError extends BerthError<'BERTH_STORE_CLOSED'> {
  constructor() {
    super('BERTH_STORE_CLOSED', 'store is closed');
  }
}

/**
 * A durable write failed (disk error). The store refuses every later write, because it can no longer tell
 * which revisions reached the disk; reopen it to continue. The disk error is in `cause`.
 */
export class StoreFailedError extends BerthError<'BERTH_STORE_FAILED'> {
  constructor(cause: unknown) {
    super('BERTH_STORE_FAILED', `store failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * A watcher fell so far behind that its events could no longer be buffered; it was ended so it cannot hold
 * up writers or other watchers. The client should re-watch from its last revision (or relist on 410).
 */
export class WatchTooSlowError extends BerthError<'BERTH_WATCH_TOO_SLOW'> {
  constructor(
    /** Revision of the last event the watcher was given. */
    readonly lastRevision: number,
    readonly limit: number,
  ) {
    super('BERTH_WATCH_TOO_SLOW', `watcher fell more than ${limit} events behind after revision ${lastRevision}`);
  }
}
