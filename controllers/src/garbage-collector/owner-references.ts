// The words of garbage collection on one object's metadata: its owner references, the finalizers the API server
// sets for foreground and orphan deletion, and how an owner reference names its owner's kind.
import { splitApiVersion, type Resource } from '@berth/controller-runtime';
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';

/** Set by the API server on a Foreground delete: the owner stays until its blocking dependents are gone. */
export const foregroundFinalizer = 'foregroundDeletion';
/** Set by the API server on an Orphan delete: the owner stays until its dependents no longer point at it. */
export const orphanFinalizer = 'orphan';

/** An object with the kind it was listed as (informer caches hold objects of one kind each). */
export interface Item {
  readonly object: KubernetesObject;
  readonly resource: Resource;
}

export const uidOf = (obj: KubernetesObject): string => obj.metadata?.uid ?? '';
export const ownerRefsOf = (obj: KubernetesObject): readonly V1OwnerReference[] => obj.metadata?.ownerReferences ?? [];
export const isTerminating = (obj: KubernetesObject): boolean => obj.metadata?.deletionTimestamp !== undefined;
export const hasFinalizer = (obj: KubernetesObject, f: string): boolean => (obj.metadata?.finalizers ?? []).includes(f);

/** Terminating with foregroundDeletion: its dependents are being deleted before it. */
export const isDeletingDependents = (obj: KubernetesObject): boolean =>
  isTerminating(obj) && hasFinalizer(obj, foregroundFinalizer);

/** Terminating with orphan: its dependents are being let go. */
export const isOrphaningDependents = (obj: KubernetesObject): boolean =>
  isTerminating(obj) && hasFinalizer(obj, orphanFinalizer);

/** Whether `dependent`'s reference to `ownerUid` blocks the owner's foreground deletion. */
export const blocksOwner = (dependent: KubernetesObject, ownerUid: string): boolean =>
  ownerRefsOf(dependent).some((r) => r.uid === ownerUid && r.blockOwnerDeletion === true);

/** Whether `item` is the object `ref` names (a reference carries kind, name and uid; a version may differ). */
export function isReferencedBy(item: Item, ref: V1OwnerReference, namespace: string | undefined): boolean {
  return (
    uidOf(item.object) === ref.uid &&
    item.object.metadata?.name === ref.name &&
    item.resource.kind === ref.kind &&
    item.resource.group === splitApiVersion(ref.apiVersion).group &&
    (item.object.metadata?.namespace ?? '') === (namespace ?? '')
  );
}

/** `ConfigMap web`, as the collector's Events name an object. */
export const describeRef = (ref: { readonly kind: string; readonly name: string }): string => `${ref.kind} ${ref.name}`;

/** Kubernetes' objectReference form: `[v1/ConfigMap, namespace: ns, name: web, uid: …]`. */
export const formatRef = (ref: V1OwnerReference, namespace: string): string =>
  `[${ref.apiVersion}/${ref.kind}, namespace: ${namespace}, name: ${ref.name}, uid: ${ref.uid}]`;
