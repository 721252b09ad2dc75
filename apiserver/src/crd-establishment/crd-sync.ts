// Keeps the registry serving exactly the stored CRDs (new ones within milliseconds of their write), and
// finishes a CRD's deletion by deleting its custom resources first, as Kubernetes' cleanup finalizer does.

import { decode } from '../objects/object-store.js';
import type { CustomResourceDefinition } from '../registry/crd.js';
import type { ResourceRegistry } from '../registry/registry.js';
import { resourcePrefix } from '../registry/resource.js';
import { crdCleanupFinalizer } from '../registry/strategies/index.js';
import type { Store, StoredValue } from '../storage/interface.js';
import type { WatchSource } from '../watch/watch-stream.js';
import { follow, type Follower } from '../storage/follow.js';
import type { Logger } from '../logging/logger.js';

const crdPrefix = '/registry/apiextensions.k8s.io/customresourcedefinitions/';

export class CrdSync {
  #follower: Follower | undefined;

  constructor(
    private readonly store: Store,
    private readonly watchSource: WatchSource,
    private readonly registry: ResourceRegistry,
    private readonly log: Logger,
  ) {}

  /** Loads every stored CRD, then follows changes until closed. */
  async start(): Promise<void> {
    this.#follower = follow(
      this.store,
      this.watchSource,
      crdPrefix,
      {
        list: (items) => this.#sync(items),
        event: async (e) => {
          if (e.type === 'DELETE') this.registry.removeCrd(e.key.slice(crdPrefix.length));
          else if (e.value !== undefined) await this.#apply(JSON.parse(e.value) as CustomResourceDefinition);
        },
      },
      'CRD',
      this.log,
    );
    await this.#follower.ready;
  }

  /** Serves every stored CRD now (after bootstrap wrote berth's own, so they are served before the first request). */
  async refresh(): Promise<void> {
    await this.#sync((await this.store.list({ prefix: crdPrefix })).items);
  }

  /** Serves exactly the listed CRDs: a CRD deleted while no watch was open stops being served too. */
  async #sync(items: StoredValue[]): Promise<void> {
    const listed = new Set(items.map((i) => i.key.slice(crdPrefix.length)));
    for (const name of this.registry.crdNames()) if (!listed.has(name)) this.registry.removeCrd(name);
    for (const item of items) await this.#apply(decode(item) as unknown as CustomResourceDefinition);
  }

  async #apply(crd: CustomResourceDefinition): Promise<void> {
    if (crd.metadata.deletionTimestamp !== undefined) {
      this.registry.removeCrd(crd.metadata.name ?? '');
      await this.#cleanup(crd);
      return;
    }
    this.registry.upsertCrd(crd);
  }

  /** Deletes every custom resource of a terminating CRD, then the CRD itself. */
  async #cleanup(crd: CustomResourceDefinition): Promise<void> {
    const prefix = resourcePrefix({ group: crd.spec.group, plural: crd.spec.names.plural });
    for (;;) {
      const { items } = await this.store.list({ prefix, limit: 500 });
      if (items.length === 0) break;
      await Promise.all(items.map((i) => this.store.delete(i.key)));
    }
    const key = `${crdPrefix}${crd.metadata.name}`;
    const current = await this.store.get(key);
    if (current === undefined) return;
    const obj = decode(current);
    const remaining = (obj.metadata.finalizers ?? []).filter((f) => f !== crdCleanupFinalizer);
    if (remaining.length === 0) {
      await this.store.delete(key, current.modRevision);
    } else if (remaining.length !== (obj.metadata.finalizers ?? []).length) {
      obj.metadata.finalizers = remaining;
      await this.store.update(key, current.modRevision, (rev) =>
        JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(rev) } }),
      );
    }
  }

  async close(): Promise<void> {
    await this.#follower?.close();
  }
}
