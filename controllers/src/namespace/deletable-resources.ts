// Finds, through discovery over the API (/api, /apis), every namespaced kind whose objects a namespace's deletion
// must remove: the kinds that can be listed and deleted, in each group's preferred version (one version per
// group, so an object served in two versions is not counted twice).
import type { ApiClient, Resource } from '@berth/controller-runtime';

/** A namespaced kind to empty, with the verbs that say how (deletecollection, or list then delete each). */
export interface DeletableResource extends Resource {
  readonly deleteCollection: boolean;
}

export interface Discovery {
  readonly resources: DeletableResource[];
  /** Group versions whose resource list could not be read, with why; their content is not deleted this pass. */
  readonly failed: ReadonlyMap<string, string>;
}

interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs?: readonly string[];
}

interface GroupList {
  readonly groups?: readonly {
    readonly name: string;
    readonly preferredVersion?: { readonly version: string };
    readonly versions?: readonly { readonly version: string }[];
  }[];
}

export async function discoverDeletableResources(client: ApiClient, signal: AbortSignal): Promise<Discovery> {
  const core = (await client.request('GET', '/api', { signal })) as { versions?: readonly string[] };
  const groups = (await client.request('GET', '/apis', { signal })) as GroupList;
  const groupVersions: { group: string; version: string; path: string }[] = [];
  const coreVersion = core.versions?.[0];
  if (coreVersion !== undefined) groupVersions.push({ group: '', version: coreVersion, path: `/api/${coreVersion}` });
  for (const g of groups.groups ?? []) {
    const version = g.preferredVersion?.version ?? g.versions?.[0]?.version;
    if (version !== undefined) groupVersions.push({ group: g.name, version, path: `/apis/${g.name}/${version}` });
  }
  const resources: DeletableResource[] = [];
  const failed = new Map<string, string>();
  await Promise.all(
    groupVersions.map(async ({ group, version, path }) => {
      try {
        const list = (await client.request('GET', path, { signal })) as { resources?: readonly ApiResource[] };
        for (const r of list.resources ?? []) {
          const verbs = new Set(r.verbs ?? []);
          if (r.name.includes('/') || !r.namespaced || !verbs.has('delete') || !verbs.has('list')) continue;
          resources.push({
            group,
            version,
            plural: r.name,
            kind: r.kind,
            namespaced: true,
            deleteCollection: verbs.has('deletecollection'),
          });
        }
      } catch (err) {
        if (signal.aborted) throw err;
        failed.set(group === '' ? version : `${group}/${version}`, err instanceof Error ? err.message : String(err));
      }
    }),
  );
  resources.sort((a, b) => `${a.group}/${a.plural}`.localeCompare(`${b.group}/${b.plural}`));
  return { resources, failed };
}
