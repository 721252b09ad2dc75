// Deletes everything in one namespace, kind by kind, over the API (deletecollection where the kind offers it,
// else list and delete each), then counts what is left: objects still held by their finalizers.
import { isNotFound, resourcePath, type ApiClient } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DeletableResource } from './deletable-resources.js';

/** What one pass over a namespace's content found. */
export interface ContentReport {
  /** Objects left per resource (`configmaps`, `widgets.example.com`), only those with some left. */
  readonly remaining: ReadonlyMap<string, number>;
  /** Objects left per finalizer that holds them. */
  readonly finalizers: ReadonlyMap<string, number>;
  /** Resources whose content could not be deleted or counted, with why. */
  readonly failures: ReadonlyMap<string, string>;
}

/** `configmaps` for the core group, `widgets.example.com` otherwise (Kubernetes' GroupResource form). */
export const groupResource = (r: DeletableResource): string => (r.group === '' ? r.plural : `${r.plural}.${r.group}`);

export async function deleteContent(
  client: ApiClient,
  namespace: string,
  resources: readonly DeletableResource[],
  signal: AbortSignal,
): Promise<ContentReport> {
  const remaining = new Map<string, number>();
  const finalizers = new Map<string, number>();
  const failures = new Map<string, string>();
  for (const r of resources) {
    signal.throwIfAborted();
    const name = groupResource(r);
    try {
      await deleteAll(client, r, namespace, signal);
      const { items } = await client.list<KubernetesObject>(r, { namespace }, signal);
      if (items.length > 0) remaining.set(name, items.length);
      for (const item of items)
        for (const f of item.metadata?.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    } catch (err) {
      if (signal.aborted) throw err;
      failures.set(name, err instanceof Error ? err.message : String(err));
    }
  }
  return { remaining, finalizers, failures };
}

async function deleteAll(
  client: ApiClient,
  r: DeletableResource,
  namespace: string,
  signal: AbortSignal,
): Promise<void> {
  if (r.deleteCollection) {
    await client.request('DELETE', resourcePath(r, namespace), { signal });
    return;
  }
  const { items } = await client.list<KubernetesObject>(r, { namespace }, signal);
  for (const item of items) {
    // Already terminating: deleting again changes nothing; its finalizers decide.
    if (item.metadata?.deletionTimestamp !== undefined) continue;
    await client.delete(r, namespace, item.metadata?.name ?? '', { signal }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
}
