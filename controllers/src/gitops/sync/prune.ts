// Deletes what a Sync applied before and its new revision no longer holds. Only objects that still carry this
// Sync's labels are deleted (an object someone else took over, or never ours, stays), never on a failed build,
// and an object annotated sync.berth.dev/prune: disabled is left in place.
import { isNotFound, resourcePath, type ApiClient } from '@berth/controller-runtime';
import type { InventoryEntry } from '@berth/api';
import type { KubernetesObject } from '@kubernetes/client-node';
import { GitOpsError, messageOf } from '../errors.js';
import type { KindResolver } from './apply.js';
import { describeRef, refOfEntry } from './inventory.js';

export const pruneAnnotation = 'sync.berth.dev/prune';

/** Deletes the stale entries; returns the ones it deleted (or found gone). Throws BERTH_GITOPS_PRUNE on failures. */
export async function prune(
  client: ApiClient,
  kinds: KindResolver,
  stale: readonly InventoryEntry[],
  labels: Record<string, string>,
  signal: AbortSignal,
): Promise<string[]> {
  const deleted: string[] = [];
  const failures: string[] = [];
  for (const entry of stale) {
    const ref = refOfEntry(entry);
    if (ref === undefined) continue;
    const r = await kinds.resolve(ref.group, ref.version, ref.kind, signal);
    if (r === undefined) {
      deleted.push(describeRef(ref)); // its kind is gone (a pruned CRD took its objects with it)
      continue;
    }
    const path = resourcePath(r, r.namespaced ? ref.namespace : undefined, ref.name);
    try {
      const current = (await client.request('GET', path, { signal })) as KubernetesObject;
      const ours = Object.entries(labels).every(([k, v]) => current.metadata?.labels?.[k] === v);
      if (!ours || current.metadata?.annotations?.[pruneAnnotation] === 'disabled') continue;
      await client.request('DELETE', path, {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' },
        signal,
      });
      deleted.push(describeRef(ref));
    } catch (err) {
      if (isNotFound(err)) deleted.push(describeRef(ref));
      else if (signal.aborted) throw err;
      else failures.push(`${describeRef(ref)}: ${messageOf(err)}`);
    }
  }
  if (failures.length > 0) throw new GitOpsError('BERTH_GITOPS_PRUNE', `prune failed: ${failures.join('; ')}`);
  return deleted;
}
