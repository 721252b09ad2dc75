// A live collection: one list, then a watch from its resourceVersion (chunked JSON lines over fetch, bookmarks
// on), applied to a map and handed to subscribers in batches. A watch that ends is resumed from the last
// resourceVersion seen; a 410 (history compacted) lists again. No polling: between events nothing is sent.
// Lists ask for no managedFields (KEP-5958's `drop=metadata.managedFields` Accept parameter): with 1,000
// Containers they are most of the bytes, and only an object's YAML tab shows them.

import { ApiFailure, apiFetch, apiJson, streamLines } from './client.js';
import { type KubeList, type KubeObject, objectKey } from './objects.js';

export interface CollectionState {
  readonly items: readonly KubeObject[];
  /** True until the first list has answered. */
  readonly loading: boolean;
  readonly error?: string;
}

interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: KubeObject & { readonly code?: number; readonly message?: string };
}

const retryMs = (attempt: number) => Math.min(5_000, 250 * 2 ** attempt);

export class Collection {
  readonly #objects = new Map<string, KubeObject>();
  readonly #listeners = new Set<(state: CollectionState) => void>();
  readonly #abort = new AbortController();
  #state: CollectionState = { items: [], loading: true };
  #flush: ReturnType<typeof setTimeout> | undefined;

  readonly #accept: string;

  /** `path` is a collection path; `query` more parameters (a field selector). */
  constructor(
    private readonly path: string,
    private readonly query: string,
    private readonly sort: (a: KubeObject, b: KubeObject) => number,
    options: { managedFields?: boolean } = {},
  ) {
    this.#accept = options.managedFields === true ? 'application/json' : 'application/json;drop=metadata.managedFields';
    void this.#run();
  }

  get state(): CollectionState {
    return this.#state;
  }

  subscribe(listener: (state: CollectionState) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#abort.abort();
    clearTimeout(this.#flush);
    this.#listeners.clear();
  }

  #url(extra: string): string {
    const q = [this.query, extra].filter((p) => p !== '').join('&');
    return q === '' ? this.path : `${this.path}?${q}`;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let resourceVersion: string | undefined;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const list = await apiJson<KubeList>(this.#url(''), { signal, accept: this.#accept });
          this.#objects.clear();
          for (const o of list.items) this.#objects.set(objectKey(o), o);
          resourceVersion = list.metadata.resourceVersion ?? '';
          this.#publish(undefined, true);
        }
        const response = await apiFetch(
          this.#url(`watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`),
          { signal, accept: this.#accept },
        );
        attempt = 0;
        if (this.#state.error !== undefined) this.#publish(undefined, true);
        for await (const line of streamLines(response)) {
          if (line.trim() === '') continue;
          const event = JSON.parse(line) as WatchEvent;
          if (event.type === 'ERROR') {
            // 410 Gone: the history we would resume from is compacted; list again.
            if (event.object.code === 410) resourceVersion = undefined;
            break;
          }
          resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
          if (event.type === 'BOOKMARK') continue;
          if (event.type === 'DELETED') this.#objects.delete(objectKey(event.object));
          else this.#objects.set(objectKey(event.object), event.object);
          this.#publish(undefined, false);
        }
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiFailure && e.code === 410) resourceVersion = undefined;
        this.#publish(e instanceof Error ? e.message : String(e), true);
        // Forbidden or gone for good: saying so beats retrying.
        if (e instanceof ApiFailure && (e.code === 401 || e.code === 403 || e.code === 404)) return;
        await new Promise((resolve) => setTimeout(resolve, retryMs(attempt++)));
      }
    }
  }

  /** Hands the current items on, batching bursts of events (a list of 1,000, a rollout) into one render. */
  #publish(error: string | undefined, now: boolean): void {
    const emit = () => {
      this.#flush = undefined;
      this.#state = {
        items: [...this.#objects.values()].sort(this.sort),
        loading: false,
        ...(error === undefined ? {} : { error }),
      };
      for (const l of this.#listeners) l(this.#state);
    };
    if (now) {
      clearTimeout(this.#flush);
      emit();
    } else this.#flush ??= setTimeout(emit, 30);
  }
}

export const byNamespaceAndName = (a: KubeObject, b: KubeObject): number =>
  (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
  a.metadata.name.localeCompare(b.metadata.name);
