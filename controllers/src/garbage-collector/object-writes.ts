// The collector's writes, each conditional on what it read so that a concurrent change is a conflict to retry
// rather than a lost update: delete with uid and resourceVersion preconditions and a propagation policy, and JSON
// patches that test what they remove (a finalizer, an owner reference) before removing it.
import { isConflict, isNotFound, resourcePath, type ApiClient, type Resource } from '@berth/controller-runtime';
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { ownerRefsOf, uidOf } from './owner-references.js';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

type JsonPatchOp =
  | { readonly op: 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown };

/** The object as the API server has it now; undefined when it is gone or another object took its name. */
export async function getLatest(
  client: ApiClient,
  resource: Resource,
  obj: KubernetesObject,
  signal: AbortSignal,
): Promise<KubernetesObject | undefined> {
  try {
    const latest = await client.get(resource, obj.metadata?.namespace, obj.metadata?.name ?? '', signal);
    return uidOf(latest) === uidOf(obj) ? latest : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Deletes `latest` if it is still that object at that resourceVersion (its owner references are what the decision
 * was made on); false when it was gone already. A write meanwhile that left the owner references as they were (a
 * status update) does not change the decision: the delete is tried once more at the new resourceVersion, as
 * Kubernetes' collector does.
 */
export async function deleteObject(
  client: ApiClient,
  resource: Resource,
  latest: KubernetesObject,
  policy: PropagationPolicy,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    return await deleteAt(client, resource, latest, policy, signal);
  } catch (err) {
    if (!isConflict(err)) throw err;
    const live = await getLatest(client, resource, latest, signal);
    if (live === undefined) return false;
    if (JSON.stringify(ownerRefsOf(live)) !== JSON.stringify(ownerRefsOf(latest))) throw err;
    return deleteAt(client, resource, live, policy, signal);
  }
}

async function deleteAt(
  client: ApiClient,
  resource: Resource,
  obj: KubernetesObject,
  policy: PropagationPolicy,
  signal: AbortSignal,
): Promise<boolean> {
  const body = {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    propagationPolicy: policy,
    preconditions: { uid: uidOf(obj), resourceVersion: obj.metadata?.resourceVersion },
  };
  try {
    await client.request('DELETE', resourcePath(resource, obj.metadata?.namespace, obj.metadata?.name ?? ''), {
      body,
      signal,
    });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Removes `finalizer` from the object (reading it first); a missing object or finalizer is nothing to do. */
export async function removeFinalizer(
  client: ApiClient,
  resource: Resource,
  obj: KubernetesObject,
  finalizer: string,
  signal: AbortSignal,
): Promise<boolean> {
  const latest = await getLatest(client, resource, obj, signal);
  const at = (latest?.metadata?.finalizers ?? []).indexOf(finalizer);
  if (latest === undefined || at < 0) return false;
  return patch(
    client,
    resource,
    latest,
    [
      { op: 'test', path: '/metadata/uid', value: uidOf(latest) },
      { op: 'test', path: `/metadata/finalizers/${at}`, value: finalizer },
      { op: 'remove', path: `/metadata/finalizers/${at}` },
    ],
    signal,
  );
}

/** Removes the object's owner references to `ownerUids`; false when there were none (or it is gone). */
export async function removeOwnerReferences(
  client: ApiClient,
  resource: Resource,
  obj: KubernetesObject,
  ownerUids: readonly string[],
  signal: AbortSignal,
): Promise<boolean> {
  const latest = await getLatest(client, resource, obj, signal);
  if (latest === undefined) return false;
  const ops: JsonPatchOp[] = [{ op: 'test', path: '/metadata/uid', value: uidOf(latest) }];
  // From the end, so each index still points at the reference it tested.
  const refs = ownerRefsOf(latest);
  for (let i = refs.length - 1; i >= 0; i--) {
    const ref = refs[i] as V1OwnerReference;
    if (!ownerUids.includes(ref.uid)) continue;
    ops.push({ op: 'test', path: `/metadata/ownerReferences/${i}/uid`, value: ref.uid });
    ops.push({ op: 'remove', path: `/metadata/ownerReferences/${i}` });
  }
  if (ops.length === 1) return false;
  return patch(client, resource, latest, ops, signal);
}

/**
 * Makes every owner reference of the object non-blocking (Kubernetes breaks a cycle of foreground deletions this
 * way: an object whose owner and dependent both wait on it).
 */
export async function unblockOwnerReferences(
  client: ApiClient,
  resource: Resource,
  obj: KubernetesObject,
  signal: AbortSignal,
): Promise<boolean> {
  const latest = await getLatest(client, resource, obj, signal);
  const refs = latest === undefined ? [] : ownerRefsOf(latest);
  if (latest === undefined || !refs.some((r) => r.blockOwnerDeletion === true)) return false;
  return patch(
    client,
    resource,
    latest,
    [
      { op: 'test', path: '/metadata/resourceVersion', value: latest.metadata?.resourceVersion },
      {
        op: 'replace',
        path: '/metadata/ownerReferences',
        value: refs.map((r) => ({ ...r, blockOwnerDeletion: false })),
      },
    ],
    signal,
  );
}

async function patch(
  client: ApiClient,
  resource: Resource,
  latest: KubernetesObject,
  ops: readonly JsonPatchOp[],
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await client.patch(resource, latest.metadata?.namespace, latest.metadata?.name ?? '', ops, {
      type: 'json',
      signal,
    });
    return true;
  } catch (err) {
    // Gone meanwhile: nothing left to change. A failed test (someone moved the list) is an error to retry.
    if (isNotFound(err)) return false;
    throw err;
  }
}
