// The dependency graph, as Kubernetes' GraphBuilder keeps it, read straight from the informer caches: every
// monitored kind's informer is indexed by uid and by owner uid, so an object's owners and dependents are lookups,
// not a second copy of the cluster. Its event handlers decide which objects the collector must look at.
import {
  resourceId,
  splitApiVersion,
  type EventHandler,
  type InformerCache,
  type Resource,
  type SharedInformer,
} from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  isDeletingDependents,
  isOrphaningDependents,
  isReferencedBy,
  ownerRefsOf,
  uidOf,
  type Item,
} from './owner-references.js';

const uidIndex = 'garbage-collector/uid';
const ownerIndex = 'garbage-collector/owner-uid';

export class DependencyGraph {
  readonly #cache: InformerCache;
  /** Called with the uid of each object the collector should look at. */
  readonly #enqueue: (uid: string) => void;
  readonly #informers = new Map<string, SharedInformer>();
  /** Per watched kind: how to stop listening to its informer. */
  readonly #unwatch = new Map<string, () => void>();

  constructor(cache: InformerCache, enqueue: (uid: string) => void) {
    this.#cache = cache;
    this.#enqueue = enqueue;
  }

  /** Starts watching the kinds in `resources` not watched yet (the manager's shared informers); returns those. */
  async monitor(resources: readonly Resource[]): Promise<Resource[]> {
    const added: Resource[] = [];
    for (const r of resources) {
      const id = resourceId(r);
      if (this.#informers.has(id)) continue;
      const informer = await this.#cache.informerFor(r);
      // Another controller may have asked for this kind at another version: the index is on the informer.
      informer.addIndexers({
        [uidIndex]: (o) => [uidOf(o)],
        [ownerIndex]: (o) => ownerRefsOf(o).map((ref) => ref.uid),
      });
      this.#informers.set(id, informer);
      this.#unwatch.set(id, informer.addEventHandler(this.#handler(informer.resource)));
      added.push(informer.resource);
    }
    return added;
  }

  /**
   * Stops watching the kinds not in `served` (a deleted CRD's): their informers would retry a watch the API server
   * answers with 404 forever. Returns those.
   */
  async forget(served: readonly Resource[]): Promise<Resource[]> {
    const keep = new Set(served.map(resourceId));
    const removed: Resource[] = [];
    for (const [id, informer] of this.#informers) {
      if (keep.has(id)) continue;
      this.#unwatch.get(id)?.();
      this.#unwatch.delete(id);
      this.#informers.delete(id);
      await this.#cache.remove(informer.resource);
      removed.push(informer.resource);
    }
    return removed;
  }

  /** The kinds watched. */
  get resources(): Resource[] {
    return [...this.#informers.values()].map((i) => i.resource);
  }

  /** Whether every watched kind's cache is filled (orphaning and finishing a foreground deletion wait for it). */
  get synced(): boolean {
    return [...this.#informers.values()].every((i) => i.hasSynced);
  }

  /** The watched kind of `group` named `kind`. */
  resourceFor(group: string, kind: string): Resource | undefined {
    return this.resources.find((r) => r.group === group && r.kind === kind);
  }

  /** The object with this uid, of whichever kind. */
  byUid(uid: string): Item | undefined {
    for (const informer of this.#informers.values()) {
      const [object] = informer.byIndex(uidIndex, uid);
      if (object !== undefined) return { object, resource: informer.resource };
    }
    return undefined;
  }

  /** The objects whose ownerReferences name `uid`. */
  dependents(uid: string): Item[] {
    const out: Item[] = [];
    for (const informer of this.#informers.values())
      for (const object of informer.byIndex(ownerIndex, uid)) out.push({ object, resource: informer.resource });
    return out;
  }

  /** Stops telling the collector about changes (the informers belong to the manager's cache). */
  close(): void {
    for (const unwatch of this.#unwatch.values()) unwatch();
    this.#unwatch.clear();
  }

  #handler(resource: Resource): EventHandler<KubernetesObject> {
    return {
      add: (obj) => this.#observed({ object: obj, resource }),
      update: (old, obj) => {
        if (uidOf(old) !== uidOf(obj)) {
          // Replaced under the same name between two lists: the old one is gone.
          this.#gone(old);
          this.#observed({ object: obj, resource });
          return;
        }
        // A dependent that let go of a foreground-deleting owner, or stopped blocking it, may be its last blocker.
        this.#enqueueDeletingOwners(old);
        this.#observed({ object: obj, resource });
      },
      delete: (obj) => this.#gone(obj),
    };
  }

  /** An object as it is now: what about it, or about its dependents, needs the collector. */
  #observed(item: Item): void {
    const obj = item.object;
    const uid = uidOf(obj);
    if (isDeletingDependents(obj)) {
      // Foreground: every dependent is deleted (they find their owner waiting); the owner waits for the blocking.
      this.#enqueue(uid);
      for (const d of this.dependents(uid)) this.#enqueue(uidOf(d.object));
    } else if (isOrphaningDependents(obj)) {
      this.#enqueue(uid);
    }
    this.#enqueueDeletingOwners(obj);
    if (this.#hasUnsettledOwner(item)) this.#enqueue(uid);
  }

  /** Gone: its dependents may have lost their last owner, and a foreground-deleting owner a blocker. */
  #gone(obj: KubernetesObject): void {
    for (const d of this.dependents(uidOf(obj))) this.#enqueue(uidOf(d.object));
    this.#enqueueDeletingOwners(obj);
  }

  #enqueueDeletingOwners(obj: KubernetesObject): void {
    for (const ref of ownerRefsOf(obj)) {
      const owner = this.byUid(ref.uid);
      if (owner !== undefined && isDeletingDependents(owner.object)) this.#enqueue(ref.uid);
    }
  }

  /**
   * Whether some owner of `item` is not plainly there in the caches: missing (gone, or of a kind not watched,
   * or not listed yet), not the object the reference names, or waiting for its dependents' deletion.
   */
  #hasUnsettledOwner(item: Item): boolean {
    for (const ref of ownerRefsOf(item.object)) {
      const owner = this.byUid(ref.uid);
      if (owner === undefined || isDeletingDependents(owner.object)) return true;
      const ownerNamespaced = this.resourceFor(splitApiVersion(ref.apiVersion).group, ref.kind)?.namespaced ?? true;
      const namespace = ownerNamespaced ? item.object.metadata?.namespace : undefined;
      if (!isReferencedBy(owner, ref, namespace)) return true;
    }
    return false;
  }
}
