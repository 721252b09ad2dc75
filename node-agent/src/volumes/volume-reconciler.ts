// reconcile(ctx, req): keeps a Volume of this node protected while in use, its status true, and deletes it when unused.
//
// Volume protection as Kubernetes' pvc-protection: the `berth.dev/volume-protection` finalizer is added to every
// Volume this node holds, and removed only once no Container that refers to it is left on this node; then
// `reclaimPolicy` decides whether the data directory goes (Delete, the default) or stays (Retain). Level-triggered:
// users are the Containers in the informer's cache, the directory is what is on disk; Container changes enqueue
// the Volumes they name.
import type { Container, Volume, VolumeStatus } from '@berth/api';
import type { ReconcileContext, Reconciler, Request, Result } from '@berth/controller-runtime';
import { isNotFound, type ClusterApi, type JsonPatchOperation } from '../cluster/cluster-api.js';
import { MutationCache, type ObjectCache } from '../cluster/mutation-cache.js';
import { volumeNode, volumeRefs } from './volume-refs.js';
import type { Volumes } from './volumes.js';

export const volumeFinalizer = 'berth.dev/volume-protection';

export interface VolumeReconcilerOptions {
  readonly nodeName: string;
  /** Take Volumes that name no node (all-in-one `berth up`), as Containers are adopted. */
  readonly adoptUnbound: boolean;
  readonly api: Pick<ClusterApi, 'jsonPatchVolume' | 'patchVolumeStatus'>;
  readonly cache: ObjectCache<Volume>;
  /** The Containers this agent sees (its Container informer). */
  readonly containers: { list(): Container[] };
  readonly volumes: Volumes;
  /** A Volume was deleted from disk or kept (its reclaimPolicy applied). */
  readonly event?: (v: Volume, reason: string, message: string) => void;
}

type StatusPatch = Partial<Record<keyof VolumeStatus, unknown>>;

export class VolumeReconciler implements Reconciler {
  readonly #o: VolumeReconcilerOptions;
  readonly #cache: MutationCache<Volume>;

  constructor(options: VolumeReconcilerOptions) {
    this.#o = options;
    this.#cache = new MutationCache(options.cache);
  }

  /** Names of the Containers on this node (or waiting to be bound here) that refer to `namespace/name`. */
  users(namespace: string, name: string): string[] {
    const here = (c: Container) =>
      c.spec.nodeName === this.#o.nodeName || (this.#o.adoptUnbound && (c.spec.nodeName ?? '') === '');
    return this.#o.containers
      .list()
      .filter((c) => c.metadata.namespace === namespace && here(c) && volumeRefs(c).includes(name))
      .map((c) => c.metadata.name ?? '')
      .sort();
  }

  async reconcile(_ctx: ReconcileContext, req: Request): Promise<Result> {
    const namespace = req.namespace ?? '';
    const v = this.#cache.get(namespace, req.name);
    if (v === undefined) return {};
    const node = volumeNode(v);
    if (node !== undefined && node !== this.#o.nodeName) return {};
    // Nobody named a node: it is ours if we adopt, or once a Container here made its directory.
    if (node === undefined && !this.#o.adoptUnbound && !(await this.#o.volumes.exists(namespace, req.name))) return {};
    const finalizers = v.metadata.finalizers ?? [];
    const users = this.users(namespace, req.name);

    if (v.metadata.deletionTimestamp !== undefined) {
      if (!finalizers.includes(volumeFinalizer)) return {};
      if (users.length > 0) {
        // Container deletions enqueue this Volume again.
        await this.#writeStatus(v, {
          usedBy: users,
          message: `deletion waits until no Container uses the volume (used by ${users.join(', ')})`,
        });
        return {};
      }
      if ((v.spec?.reclaimPolicy ?? 'Delete') === 'Delete') {
        await this.#o.volumes.remove(namespace, req.name);
        this.#o.event?.(
          v,
          'VolumeDeleted',
          `Deleted the volume's data at ${this.#o.volumes.dataDir(namespace, req.name)}`,
        );
      } else {
        await this.#o.volumes.unmount(namespace, req.name);
        this.#o.event?.(
          v,
          'VolumeRetained',
          `Kept the volume's data at ${this.#o.volumes.dataDir(namespace, req.name)} (reclaimPolicy Retain)`,
        );
      }
      await this.#removeFinalizer(v);
      return {};
    }
    if (!finalizers.includes(volumeFinalizer)) {
      await this.#addFinalizer(v);
      return {};
    }
    const exists = await this.#o.volumes.exists(namespace, req.name);
    await this.#writeStatus(v, {
      phase: exists ? 'Available' : 'Pending',
      ...(exists ? { nodeName: this.#o.nodeName, path: this.#o.volumes.dataDir(namespace, req.name) } : {}),
      usedBy: users,
      message: exists
        ? users.length > 0
          ? `in use by ${users.join(', ')}`
          : 'not in use'
        : 'created on this node when a Container first mounts it',
      ...(v.metadata.generation !== undefined ? { observedGeneration: v.metadata.generation } : {}),
    });
    return {};
  }

  async #writeStatus(v: Volume, desired: StatusPatch): Promise<void> {
    const current = (v.status ?? {}) as Record<string, unknown>;
    const patch: StatusPatch = {};
    for (const [k, value] of Object.entries(desired)) {
      if (JSON.stringify(current[k]) !== JSON.stringify(value)) patch[k as keyof VolumeStatus] = value;
    }
    if (Object.keys(patch).length === 0) return;
    try {
      this.#cache.mutated(
        await this.#o.api.patchVolumeStatus(v.metadata.namespace ?? '', v.metadata.name ?? '', patch),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async #addFinalizer(v: Volume): Promise<void> {
    // Conditional on the copy read: a stale one is a 422/409 the queue retries with a fresh read.
    const ops: JsonPatchOperation[] = [
      { op: 'test', path: '/metadata/uid', value: v.metadata.uid },
      { op: 'test', path: '/metadata/resourceVersion', value: v.metadata.resourceVersion },
      v.metadata.finalizers === undefined
        ? { op: 'add', path: '/metadata/finalizers', value: [volumeFinalizer] }
        : { op: 'add', path: '/metadata/finalizers/-', value: volumeFinalizer },
    ];
    this.#cache.mutated(await this.#o.api.jsonPatchVolume(v.metadata.namespace ?? '', v.metadata.name ?? '', ops));
  }

  async #removeFinalizer(v: Volume): Promise<void> {
    const at = (v.metadata.finalizers ?? []).indexOf(volumeFinalizer);
    if (at < 0) return;
    try {
      await this.#o.api.jsonPatchVolume(v.metadata.namespace ?? '', v.metadata.name ?? '', [
        { op: 'test', path: '/metadata/uid', value: v.metadata.uid },
        { op: 'test', path: `/metadata/finalizers/${at}`, value: volumeFinalizer },
        { op: 'remove', path: `/metadata/finalizers/${at}` },
      ]);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
