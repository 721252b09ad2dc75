// The annotation that asks for a reconcile now (`berth gitops reconcile`, `kubectl annotate`, the webhook
// receiver), as Flux's reconcile.fluxcd.io/requestedAt: any new value triggers one pass, recorded in
// status.lastHandledReconcileAt so the controller can tell a new request from one already handled.
import type { KubernetesObject } from '@kubernetes/client-node';

export const requestedAtAnnotation = 'reconcile.berth.dev/requestedAt';

/** The annotation's value, or undefined. */
export function requestedAt(obj: KubernetesObject): string | undefined {
  return obj.metadata?.annotations?.[requestedAtAnnotation];
}

/** True when the object carries a request not yet recorded as handled. */
export function hasPendingRequest(obj: KubernetesObject, lastHandled: string | undefined): boolean {
  const at = requestedAt(obj);
  return at !== undefined && at !== lastHandled;
}
