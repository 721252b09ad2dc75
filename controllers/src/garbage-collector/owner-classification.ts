// Sorts an object's owner references as Kubernetes' collector does (classifyReferences): solid (the owner is
// there), dangling (it is not: verified by a live GET, since the caches may lag, and a different uid under the
// name counts as gone) and waiting (the owner is being deleted in the foreground). A namespaced owner is looked
// for in its dependent's namespace only; a cluster-scoped dependent cannot have one at all.
import { isNotFound, splitApiVersion, type ApiClient, type Resource } from '@berth/controller-runtime';
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import type { DependencyGraph } from './dependency-graph.js';
import { GarbageCollectionError } from './errors.js';
import { isDeletingDependents, isReferencedBy, uidOf, type Item } from './owner-references.js';

export interface Classified {
  readonly solid: V1OwnerReference[];
  readonly dangling: V1OwnerReference[];
  readonly waiting: V1OwnerReference[];
  /** Owners seen (by uid) in another namespace than the dependent's: references that can never resolve. */
  readonly wrongNamespace: V1OwnerReference[];
  /** A reference from a cluster-scoped object to a namespaced kind: invalid, the object is left alone. */
  readonly namespacedOwnerOfClusterScoped?: V1OwnerReference;
}

export async function classifyReferences(
  client: ApiClient,
  graph: DependencyGraph,
  item: Item,
  refs: readonly V1OwnerReference[],
  signal: AbortSignal,
): Promise<Classified> {
  const out: Classified = { solid: [], dangling: [], waiting: [], wrongNamespace: [] };
  const namespace = item.object.metadata?.namespace;
  for (const ref of refs) {
    const resource = await ownerResource(client, graph, ref);
    if (resource.namespaced && (namespace === undefined || namespace === ''))
      return { ...out, namespacedOwnerOfClusterScoped: ref };
    const ownerNamespace = resource.namespaced ? namespace : undefined;
    const cached = graph.byUid(ref.uid);
    let owner: KubernetesObject | undefined;
    if (cached !== undefined && isReferencedBy(cached, ref, ownerNamespace)) {
      owner = cached.object;
    } else {
      if (resource.namespaced && cached !== undefined && (cached.object.metadata?.namespace ?? '') !== ownerNamespace)
        out.wrongNamespace.push(ref);
      owner = await liveOwner(client, resource, ownerNamespace, ref, signal);
    }
    if (owner === undefined) out.dangling.push(ref);
    else if (isDeletingDependents(owner)) out.waiting.push(ref);
    else out.solid.push(ref);
  }
  return out;
}

/** The owner's kind, from what the collector watches, else from discovery; unknown is retried (as Kubernetes). */
async function ownerResource(client: ApiClient, graph: DependencyGraph, ref: V1OwnerReference): Promise<Resource> {
  const watched = graph.resourceFor(splitApiVersion(ref.apiVersion).group, ref.kind);
  if (watched !== undefined) return watched;
  try {
    return await client.resolve({ apiVersion: ref.apiVersion, kind: ref.kind });
  } catch (err) {
    throw new GarbageCollectionError(`cannot resolve the owner's kind ${ref.kind} in ${ref.apiVersion}`, {
      cause: err,
    });
  }
}

/** The owner as the API server has it, by name, if it is the one the reference names (same uid). */
async function liveOwner(
  client: ApiClient,
  resource: Resource,
  namespace: string | undefined,
  ref: V1OwnerReference,
  signal: AbortSignal,
): Promise<KubernetesObject | undefined> {
  try {
    const owner = await client.get(resource, namespace, ref.name, signal);
    return uidOf(owner) === ref.uid ? owner : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
