// Finishes namespace deletion: once a namespace is terminating, deletes everything in it (waiting for objects
// held by finalizers), then removes the namespace. Kubernetes runs this in its namespace controller; berth
// runs it beside the store until the controllers package exists.

import type { ObjectStore } from '../objects/object-store.js';
import { decode, isTerminating } from '../objects/object-store.js';
import type { ResourceRegistry } from '../registry/registry.js';
import { collectionPrefix } from '../registry/resource.js';
import type { Store } from '../storage/interface.js';
import type { WatchSource } from '../watch/watch-stream.js';
import { follow, type Follower } from '../storage/follow.js';
import type { Logger } from '../logging/logger.js';

const namespacePrefix = '/registry/core/namespaces/';
const retryMs = 1000;

export class NamespaceCleanup {
  #closed = false;
  #follower: Follower | undefined;
  #busy = new Set<string>();
  #timers = new Set<NodeJS.Timeout>();
  #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly watchSource: WatchSource,
    private readonly registry: ResourceRegistry,
    private readonly objects: ObjectStore,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.#follower = follow(
      this.store,
      this.watchSource,
      namespacePrefix,
      {
        list: async (items) => {
          for (const item of items) this.#consider(item.key);
        },
        event: async (e) => {
          if (e.type === 'PUT') this.#consider(e.key);
        },
      },
      'namespace',
      this.log,
    );
    await this.#follower.ready;
  }

  #consider(key: string): void {
    if (this.#busy.has(key) || this.#closed) return;
    this.#busy.add(key);
    const work = this.#finish(key)
      .catch((err: unknown) => {
        this.log.warn({ namespace: key, err }, 'deleting namespace failed; retrying');
        return true;
      })
      .then((again) => {
        this.#inFlight.delete(work);
        this.#busy.delete(key);
        if (again === true && !this.#closed) {
          const t = setTimeout(() => {
            this.#timers.delete(t);
            this.#consider(key);
          }, retryMs);
          this.#timers.add(t);
        }
      });
    this.#inFlight.add(work);
  }

  /** Returns true while contents remain (held by finalizers), so the caller retries. */
  async #finish(key: string): Promise<boolean> {
    const stored = await this.store.get(key);
    if (stored === undefined) return false;
    const ns = decode(stored);
    if (!isTerminating(ns)) return false;
    const name = ns.metadata.name ?? '';
    let remaining = 0;
    for (const resource of this.registry.all()) {
      if (!resource.namespaced || resource.version !== resource.storageVersion) continue;
      const { items } = await this.store.list({ prefix: collectionPrefix(resource, name) });
      remaining += items.length;
      for (const item of items) {
        const obj = decode(item);
        if (isTerminating(obj)) continue;
        await this.objects.delete({ resource, namespace: name }, obj.metadata.name ?? '', { dryRun: false }).catch(() => undefined);
      }
    }
    if (remaining > 0) return true;
    const latest = await this.store.get(key);
    if (latest !== undefined && (decode(latest).metadata.finalizers ?? []).length === 0) await this.store.delete(key, latest.modRevision);
    return latest !== undefined && (decode(latest).metadata.finalizers ?? []).length > 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    await this.#follower?.close();
    await Promise.all(this.#inFlight);
  }
}
