// Which Container events are worth a reconcile, as an informer handler feeding a controller's queue.
//
// Every add and delete, and an update only when it changes what the agent acts on: the spec (generation),
// deletion, finalizers, identity, a signal asked for (`berth kill`). Status-only updates are the agent's own
// writes; reacting to them would retry a failed pull at once instead of after the queue's back-off
// (controller-runtime's GenerationChangedPredicate, plus the metadata the agent acts on).
import type { EventHandler, Request } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { signalAnnotation } from './signal-request.js';

interface Meta {
  readonly uid?: string;
  readonly generation?: number;
  readonly deletionTimestamp?: unknown;
  readonly finalizers?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** True when `newObj` differs from `oldObj` in something the agent acts on. */
export function actionableChange(oldObj: KubernetesObject, newObj: KubernetesObject): boolean {
  const a = (oldObj.metadata ?? {}) as Meta;
  const b = (newObj.metadata ?? {}) as Meta;
  return (
    a.uid !== b.uid ||
    a.generation !== b.generation ||
    String(a.deletionTimestamp ?? '') !== String(b.deletionTimestamp ?? '') ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? []) ||
    a.annotations?.[signalAnnotation] !== b.annotations?.[signalAnnotation]
  );
}

const requestFor = (obj: KubernetesObject): Request => ({
  namespace: obj.metadata?.namespace ?? '',
  name: obj.metadata?.name ?? '',
});

/** An informer handler enqueueing each Container whose change is actionable. */
export function containerChanges(enqueue: (req: Request) => void): EventHandler<KubernetesObject> {
  return {
    add: (obj) => enqueue(requestFor(obj)),
    update: (oldObj, newObj) => {
      if (actionableChange(oldObj, newObj)) enqueue(requestFor(newObj));
    },
    delete: (obj) => enqueue(requestFor(obj)),
  };
}
