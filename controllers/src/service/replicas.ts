// What a Container is to a Service: owned or not, active, ready, available (after minReadySeconds), and in which
// order replicas go when there are too many (the ReplicaSet controller's ActivePods ranking).
import { findCondition, type Container, type OwnerReference, type Service } from '@berth/api';
import { templateHashLabel } from './labels.js';

export const serviceApiVersion = 'berth.dev/v1alpha1';

/** The ownerReference a Service puts on the replicas it controls. */
export function controllerRefFor(service: Service): OwnerReference {
  return {
    apiVersion: serviceApiVersion,
    kind: 'Service',
    name: service.metadata.name ?? '',
    uid: service.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The controlling owner of `obj`, if any. */
export function controllerRefOf(obj: { metadata: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function isControlledBy(c: Container, service: Service): boolean {
  const ref = controllerRefOf(c);
  return ref !== undefined && ref.uid === service.metadata.uid;
}

/** Neither terminating nor finished: a replica that counts (ReplicaSet's IsPodActive). */
export function isActive(c: Container): boolean {
  return c.metadata.deletionTimestamp === undefined && c.status?.phase !== 'Succeeded' && c.status?.phase !== 'Failed';
}

export function hashOf(c: Container): string | undefined {
  return c.metadata.labels?.[templateHashLabel];
}

/** When the Container's Ready condition turned True, or undefined while it is not Ready. */
export function readySince(c: Container): number | undefined {
  const ready = findCondition(c.status?.conditions, 'Ready');
  if (ready?.status !== 'True') return undefined;
  const at = Date.parse(ready.lastTransitionTime ?? '');
  return Number.isNaN(at) ? 0 : at;
}

export function isReady(c: Container): boolean {
  return readySince(c) !== undefined;
}

/** Ready for at least minReadySeconds at `now` (Kubernetes' IsPodAvailable). */
export function isAvailable(c: Container, minReadySeconds: number, now: number): boolean {
  const since = readySince(c);
  return since !== undefined && (minReadySeconds === 0 || since + minReadySeconds * 1000 <= now);
}

/** Milliseconds until a Ready but not yet available replica becomes available, or undefined. */
export function untilAvailable(c: Container, minReadySeconds: number, now: number): number | undefined {
  const since = readySince(c);
  if (since === undefined || minReadySeconds === 0) return undefined;
  const left = since + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

const phaseRank: Record<string, number> = { Pending: 0, Pulling: 0, Unknown: 1, Running: 2 };

/**
 * Sorts replicas so the ones to delete first come first: unbound before bound, pending before running, not ready
 * before ready, ready for less time before longer, more restarts before fewer, newer before older.
 */
export function deletionOrder(a: Container, b: Container): number {
  const bound = (c: Container) => (c.spec.nodeName ? 1 : 0);
  const phase = (c: Container) => phaseRank[c.status?.phase ?? 'Pending'] ?? 0;
  const ready = (c: Container) => (isReady(c) ? 1 : 0);
  const created = (c: Container) => Date.parse(c.metadata.creationTimestamp ?? '') || 0;
  return (
    bound(a) - bound(b) ||
    phase(a) - phase(b) ||
    ready(a) - ready(b) ||
    (readySince(b) ?? 0) - (readySince(a) ?? 0) ||
    (b.status?.restartCount ?? 0) - (a.status?.restartCount ?? 0) ||
    created(b) - created(a) ||
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '')
  );
}
