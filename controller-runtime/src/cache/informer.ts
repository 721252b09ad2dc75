// A shared informer for one kind: list, then watch from the list's resourceVersion into an indexed cache, telling
// registered handlers about every add, update and delete.
//
// It keeps going until stopped: a watch the server ends is reopened from the last resourceVersion; a watch or
// list that fails (API server restarting, connection reset, 429) is retried after a growing, jittered pause
// (retry-backoff.ts; at least a 429's Retry-After) that only a filled cache or a watch event resets, so a process
// whose servers are all gone waits instead of spinning; and 410 Gone (the resourceVersion fell out of the server's
// history) relists from scratch, turning what changed meanwhile into the same add/update/delete events, as
// client-go's Reflector and client-node's ListWatch do.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ApiClient, WatchEvent } from '../client/api-client.js';
import type { Resource } from '../client/resource.js';
import { ApiCallError, ControllerRuntimeError, isGone } from '../errors.js';
import { Indexer, keyOf, objectKey, type IndexFunc } from './indexer.js';
import { RetryBackoff } from './retry-backoff.js';

export interface EventHandler<T> {
  readonly add?: (obj: T) => void;
  readonly update?: (oldObj: T, newObj: T) => void;
  /** For a delete seen only on relist, `obj` is the last state the cache had. */
  readonly delete?: (obj: T) => void;
}

export interface Backoff {
  /** @default 100 */
  readonly initialMs?: number;
  /** @default 10000 */
  readonly maxMs?: number;
  /** Each pause is stretched by up to this fraction of itself. @default 1 */
  readonly jitter?: number;
}

/** A watch that ends this soon without an event is a failure to back off from (client-go's "very short watch"). */
const shortWatchMs = 1000;
/** The longest Retry-After honoured: a server's bad header must not park an informer for hours. */
const maxRetryAfterMs = 300_000;

export interface InformerOptions<T> {
  /** Watch one namespace only; absent watches all (or the cluster-scoped kind). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly indexers?: Readonly<Record<string, IndexFunc<T>>>;
  /** Pause before retrying a failed list or watch; doubles per consecutive failure, jittered. */
  readonly reconnectBackoff?: Backoff;
  /** Told about each failure the informer recovers from by itself. */
  readonly onError?: (err: unknown) => void;
}

class GoneError extends ControllerRuntimeError {}

export class SharedInformer<T extends KubernetesObject = KubernetesObject> {
  readonly resource: Resource;
  readonly #client: ApiClient;
  readonly #options: InformerOptions<T>;
  readonly #store: Indexer<T>;
  readonly #handlers = new Set<EventHandler<T>>();
  readonly #stop = new AbortController();
  readonly #backoff: RetryBackoff;
  readonly #synced: Promise<void>;
  #markSynced: () => void = () => undefined;
  #failSync: (err: unknown) => void = () => undefined;
  #hasSynced = false;
  #resourceVersion = '';
  #loop: Promise<void> | undefined;

  constructor(client: ApiClient, resource: Resource, options: InformerOptions<T> = {}) {
    this.#backoff = new RetryBackoff(options.reconnectBackoff);
    this.#client = client;
    this.resource = resource;
    this.#options = options;
    this.#store = new Indexer<T>(options.indexers);
    this.#synced = new Promise((resolve, reject) => {
      this.#markSynced = resolve;
      this.#failSync = reject;
    });
    // Only waiters care that a stop came before the sync; nobody waiting is no crash.
    this.#synced.catch(() => undefined);
  }

  /** Registers handlers; if the cache is already filled, `add` is called for every object in it first. */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.#handlers.add(handler);
    if (this.#hasSynced) for (const obj of this.#store.list()) this.#call(() => handler.add?.(obj));
    return () => this.#handlers.delete(handler);
  }

  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void {
    this.#store.addIndexers(indexers);
  }

  /** Starts listing and watching in the background (once). */
  start(): void {
    if (this.#stop.signal.aborted)
      throw new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', 'the informer was stopped; make a new one');
    this.#loop ??= this.#run();
  }

  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** The resourceVersion the cache is at ('' before the first list). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Resolves once the first list has filled the cache; rejects with the signal's reason if it aborts first. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#hasSynced) return;
    signal?.throwIfAborted();
    if (signal === undefined) return this.#synced;
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.#synced, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#store.get(keyOf(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.#store.get(key);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    return namespace === undefined ? this.#store.list() : this.#store.byIndex('namespace', namespace);
  }

  byIndex(indexName: string, value: string): T[] {
    return this.#store.byIndex(indexName, value);
  }

  /** Stops the watch; the cache keeps its last contents. */
  async stop(): Promise<void> {
    this.#stop.abort();
    if (!this.#hasSynced)
      this.#failSync(
        new ControllerRuntimeError(
          'BERTH_CONTROLLER_NOT_SYNCED',
          `the ${this.resource.plural} informer stopped before its cache synced`,
        ),
      );
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const backoff = this.#backoff;
    while (!signal.aborted) {
      let pause: number;
      try {
        if (this.#resourceVersion === '' || !this.#hasSynced) {
          await this.#relist(signal);
          backoff.reset();
        }
        const started = Date.now();
        const seen = await this.#watch(signal, () => backoff.reset());
        // A watch the server closed at once is a server in trouble, not a reason to spin.
        if (seen > 0 || Date.now() - started >= shortWatchMs || signal.aborted) continue;
        pause = backoff.next();
      } catch (err) {
        if (signal.aborted) return;
        if (GoneError.isInstance(err) || isGone(err)) {
          // Our resourceVersion is older than the server's history: start over with a fresh list, right away.
          this.#resourceVersion = '';
          continue;
        }
        this.#options.onError?.(err);
        pause = backoff.next();
        // A server that said how long to wait (a 429 from its in-flight limit) is given at least that.
        const after = ApiCallError.isInstance(err) ? err.retryAfterSeconds : undefined;
        if (after !== undefined) pause = Math.max(pause, Math.min(maxRetryAfterMs, after * 1000));
      }
      await sleep(pause, undefined, { signal }).catch(() => undefined);
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.#client.list<T>(this.resource, this.#selectors(), signal);
    if (signal.aborted) return;
    const seen = new Set<string>();
    for (const obj of items) {
      seen.add(objectKey(obj));
      this.#apply(obj);
    }
    for (const key of this.#store.keys()) {
      if (seen.has(key)) continue;
      const old = this.#store.remove(key);
      if (old !== undefined) this.#emit((h) => h.delete?.(old));
    }
    this.#resourceVersion = resourceVersion;
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#markSynced();
    }
  }

  /** Follows one watch until it ends; returns how many events it carried. */
  async #watch(signal: AbortSignal, onProgress: () => void): Promise<number> {
    // 5 to 10 minutes, as client-go's reflector: a watch on a half-dead connection cannot go unnoticed forever.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const events = this.#client.watch(
      this.resource,
      { ...this.#selectors(), resourceVersion: this.#resourceVersion, timeoutSeconds },
      signal,
    );
    let seen = 0;
    for await (const e of events) {
      this.#handle(e);
      seen += 1;
      onProgress();
    }
    return seen;
  }

  #handle(e: WatchEvent): void {
    if (e.type === 'ERROR') {
      const code = typeof e.object['code'] === 'number' ? e.object['code'] : 0;
      const message = typeof e.object['message'] === 'string' ? e.object['message'] : 'watch error';
      if (code === 410) throw new GoneError('BERTH_CONTROLLER_API', message);
      throw new ApiCallError(code, message, e.object);
    }
    const obj = e.object as T;
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '') this.#resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    if (e.type === 'DELETED') {
      this.#store.remove(objectKey(obj));
      this.#emit((h) => h.delete?.(obj));
      return;
    }
    this.#apply(obj);
  }

  /** Stores `obj` and tells handlers, skipping a relist's unchanged copies. */
  #apply(obj: T): void {
    const old = this.#store.upsert(obj);
    if (old === undefined) this.#emit((h) => h.add?.(obj));
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit((h) => h.update?.(old, obj));
  }

  #selectors(): { namespace?: string; labelSelector?: string; fieldSelector?: string } {
    const o = this.#options;
    return {
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      ...(o.labelSelector !== undefined ? { labelSelector: o.labelSelector } : {}),
      ...(o.fieldSelector !== undefined ? { fieldSelector: o.fieldSelector } : {}),
    };
  }

  #emit(fn: (h: EventHandler<T>) => void): void {
    for (const h of this.#handlers) this.#call(() => fn(h));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A handler's bug must not stop the watch for every other controller sharing it.
      this.#options.onError?.(err);
    }
  }
}

export { keyOf, objectKey };
