// Turns an informer's object events into reconcile requests: for the object itself, for its controlling
// owner, or through a caller's map function (controller-runtime's pkg/handler).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventHandler } from '../cache/informer.js';
import { splitApiVersion } from '../client/resource.js';
import type { Request } from '../reconcile/reconcile.js';

/** Which requests an object's change should cause. */
export type MapFunc<T extends KubernetesObject = KubernetesObject> = (obj: T) => readonly Request[];

/** The object's own key (controller-runtime's EnqueueRequestForObject). */
export function enqueueForObject<T extends KubernetesObject>(): MapFunc<T> {
  return (obj) => {
    const name = obj.metadata?.name;
    if (name === undefined) return [];
    const namespace = obj.metadata?.namespace;
    return [namespace !== undefined && namespace !== '' ? { namespace, name } : { name }];
  };
}

export interface OwnerKind {
  /** Matched by group only: an owner written at another version is still the same owner. */
  readonly group: string;
  readonly kind: string;
  /** A namespaced owner lives in its child's namespace; a cluster-scoped one has none. */
  readonly namespaced: boolean;
}

/**
 * The key of the object's controlling owner of `owner`'s kind (controller-runtime's EnqueueRequestForOwner with
 * OnlyControllerOwner): ownerReferences without `controller: true` are not followed.
 */
export function enqueueForOwner<T extends KubernetesObject>(owner: OwnerKind): MapFunc<T> {
  return (obj) => {
    const refs = obj.metadata?.ownerReferences ?? [];
    const out: Request[] = [];
    for (const ref of refs) {
      if (ref.controller !== true || ref.kind !== owner.kind || splitApiVersion(ref.apiVersion).group !== owner.group)
        continue;
      const namespace = obj.metadata?.namespace;
      out.push(
        owner.namespaced && namespace !== undefined && namespace !== ''
          ? { namespace, name: ref.name }
          : { name: ref.name },
      );
    }
    return out;
  };
}

/** An informer handler that sends each event's requests to `enqueue`; an update maps both copies (owners move). */
export function mappingHandler<T extends KubernetesObject>(
  map: MapFunc<T>,
  enqueue: (req: Request) => void,
): EventHandler<T> {
  return {
    add: (obj) => map(obj).forEach(enqueue),
    update: (oldObj, newObj) => {
      map(oldObj).forEach(enqueue);
      map(newObj).forEach(enqueue);
    },
    delete: (obj) => map(obj).forEach(enqueue),
  };
}
