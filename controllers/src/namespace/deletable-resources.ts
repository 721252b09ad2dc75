// The namespaced kinds whose objects a namespace's deletion must remove: those discovery says can be listed and
// deleted (served-resources.ts: each group's preferred version, so no object is counted twice).
import type { ApiClient, Resource } from '@berth/controller-runtime';
import { discoverServedResources } from '../discovery/served-resources.js';

/** A namespaced kind to empty, with the verbs that say how (deletecollection, or list then delete each). */
export interface DeletableResource extends Resource {
  readonly deleteCollection: boolean;
}

export interface Discovery {
  readonly resources: DeletableResource[];
  /** Group versions whose resource list could not be read, with why; their content is not deleted this pass. */
  readonly failed: ReadonlyMap<string, string>;
}

export async function discoverDeletableResources(client: ApiClient, signal: AbortSignal): Promise<Discovery> {
  const { resources, failed } = await discoverServedResources(client, signal);
  const deletable: DeletableResource[] = [];
  for (const { verbs, ...r } of resources) {
    if (!r.namespaced || !verbs.has('delete') || !verbs.has('list')) continue;
    deletable.push({ ...r, namespaced: true, deleteCollection: verbs.has('deletecollection') });
  }
  return { resources: deletable, failed };
}
