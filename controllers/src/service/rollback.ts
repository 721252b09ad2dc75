// Rollback by annotation: `berth.dev/rollback-to: "N"` on a Service puts revision N's template back into
// spec.template ("0" or "": the revision before the current one) and removes the annotation, in one update; the
// rollout then proceeds as for any template change (extensions/v1beta1 DeploymentRollback's rollbackTo.revision).
// A refused one leaves its reason in berth.dev/rollback-refused, written in that same update.
import type { Service } from '@berth/api';
import type { ApiClient, Resource } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { rollbackAnnotation, rollbackRefusedAnnotation } from './labels.js';
import type { Revision } from './revisions.js';

export type RollbackOutcome =
  | { readonly done: true; readonly revision: number }
  | { readonly done: false; readonly message: string };

/** Picks the revision a rollback annotation asks for among `revisions` (oldest first) with `currentHash` current. */
export function rollbackTarget(value: string, revisions: readonly Revision[], currentHash: string): Revision | string {
  const trimmed = value.trim();
  const n = trimmed === '' ? 0 : Number(trimmed);
  if (!Number.isInteger(n) || n < 0)
    return `${rollbackAnnotation} must be a revision number, got ${JSON.stringify(value)}`;
  const current = revisions.find((r) => r.hash === currentHash);
  const target =
    n === 0
      ? [...revisions]
          .reverse()
          .find((r) => r.hash !== currentHash && (current === undefined || r.revision < current.revision))
      : revisions.find((r) => r.revision === n);
  if (target === undefined)
    return n === 0
      ? 'no previous revision to roll back to'
      : `revision ${n} not found (kept: ${revisions.map((r) => r.revision).join(', ') || 'none'})`;
  if (target.template === undefined) return `revision ${target.revision} has no readable template`;
  return target;
}

/** Writes the target's template (or, refused, why) in place of the annotation, by PUT with the cached resourceVersion. */
export async function rollBack(
  client: ApiClient,
  services: Resource,
  service: Service,
  revisions: readonly Revision[],
  currentHash: string,
  signal: AbortSignal,
): Promise<RollbackOutcome> {
  const value = service.metadata.annotations?.[rollbackAnnotation] ?? '';
  const target = rollbackTarget(value, revisions, currentHash);
  const annotations = { ...service.metadata.annotations };
  delete annotations[rollbackAnnotation];
  if (typeof target === 'string') annotations[rollbackRefusedAnnotation] = target;
  else delete annotations[rollbackRefusedAnnotation];
  const metadata = { ...service.metadata, annotations };
  const spec = typeof target === 'string' ? service.spec : { ...service.spec, template: target.template! };
  await client.update(services, { ...service, metadata, spec } as unknown as KubernetesObject, { signal });
  return typeof target === 'string' ? { done: false, message: target } : { done: true, revision: target.revision };
}
