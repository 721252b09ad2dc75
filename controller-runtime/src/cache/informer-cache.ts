// The process's informers, one per kind and selector set, so every controller watching a kind shares one watch.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ApiClient } from '../client/api-client.js';
import { resourceId, type KindRef, type Resource } from '../client/resource.js';
import { SharedInformer, type Backoff } from './informer.js';
import { RetryBackoff } from './retry-backoff.js';

export interface InformerCacheOptions {
  readonly reconnectBackoff?: Backoff;
  readonly onError?: (err: unknown) => void;
}

export interface InformerSelector {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export class InformerCache {
  readonly client: ApiClient;
  readonly #options: InformerCacheOptions;
  readonly #informers = new Map<string, SharedInformer>();
  #started = false;
  #closed = false;

  constructor(client: ApiClient, options: InformerCacheOptions = {}) {
    // Checked here so bad back-off options fail now, not at the first informer.
    new RetryBackoff(options.reconnectBackoff);
    this.client = client;
    this.#options = options;
  }

  /** The shared informer of a kind (made on first ask; started at once if the cache already runs). */
  async informerFor<T extends KubernetesObject = KubernetesObject>(
    kind: KindRef,
    selector: InformerSelector = {},
  ): Promise<SharedInformer<T>> {
    const resource = await this.client.resolve(kind);
    const key = informerKey(resource, selector);
    let informer = this.#informers.get(key);
    if (informer === undefined) {
      informer = new SharedInformer(this.client, resource, {
        ...selector,
        ...(this.#options.reconnectBackoff !== undefined ? { reconnectBackoff: this.#options.reconnectBackoff } : {}),
        ...(this.#options.onError !== undefined ? { onError: this.#options.onError } : {}),
      });
      this.#informers.set(key, informer);
      if (this.#started && !this.#closed) informer.start();
    }
    // One informer serves every T a caller names for this kind; the type is the caller's claim.
    return informer as unknown as SharedInformer<T>;
  }

  /**
   * Stops and forgets the informer of a kind the API server no longer serves (a deleted CRD), so it does not retry
   * its watch forever; whoever still holds it keeps its last contents. Asking for the kind again makes a new one.
   */
  async remove(kind: KindRef, selector: InformerSelector = {}): Promise<void> {
    const key = informerKey(await this.client.resolve(kind), selector);
    const informer = this.#informers.get(key);
    if (informer === undefined) return;
    this.#informers.delete(key);
    await informer.stop();
  }

  /** How many informers (watches) the cache holds. */
  get size(): number {
    return this.#informers.size;
  }

  /** Starts every informer made so far and every one made later. */
  start(): void {
    this.#started = true;
    for (const i of this.#informers.values()) i.start();
  }

  get hasSynced(): boolean {
    return this.#started && [...this.#informers.values()].every((i) => i.hasSynced);
  }

  /** Waits until every informer made so far has filled its cache. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(signal)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }
}

const informerKey = (resource: Resource, selector: InformerSelector): string =>
  [resourceId(resource), selector.namespace ?? '', selector.labelSelector ?? '', selector.fieldSelector ?? ''].join(
    '\0',
  );
