// The kinds the scheduler and the node lifecycle controller read and write, the few fields of a v1 Node and Lease
// they use, and how a Container's tolerations match a Node's taints.
import { resources } from '@berth/controller-runtime';
import type { Condition, Container } from '@berth/api';
import type { KubernetesObject } from '@kubernetes/client-node';

export const { containers, volumes, nodes, leases } = resources;

/** An informer's copy may lack apiVersion and kind; an Event's involvedObject needs them. */
export const containerEventTarget = (c: Container): KubernetesObject =>
  ({ ...c, apiVersion: 'berth.dev/v1alpha1', kind: 'Container' }) as unknown as KubernetesObject;

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
  timeAdded?: string;
}

/** A v1 Node as JSON, only the fields berth's controllers read. */
export interface Node extends KubernetesObject {
  spec?: { unschedulable?: boolean; taints?: Taint[] };
  status?: { allocatable?: Record<string, string>; conditions?: (Condition & { lastHeartbeatTime?: string })[] };
}

/** A coordination.k8s.io/v1 Lease as JSON. */
export interface Lease extends KubernetesObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

export type Toleration = NonNullable<Container['spec']['tolerations']>[number];

/** Whether `tolerations` tolerate `taint` (Kubernetes' Toleration.ToleratesTaint); the matching one, if any. */
export function toleration(tolerations: readonly Toleration[] | undefined, taint: Taint): Toleration | undefined {
  return (tolerations ?? []).find((t) => {
    if (t.effect !== undefined && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

export const tolerates = (tolerations: readonly Toleration[] | undefined, taint: Taint): boolean =>
  toleration(tolerations, taint) !== undefined;
