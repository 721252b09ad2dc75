// Finds, through discovery over the API (/api, /apis), every kind the API server serves, in each group's
// preferred version (one version per group, so an object served in two versions is seen once), with its verbs:
// what the namespace controller empties and what the garbage collector watches.
import type { ApiClient, Resource } from '@berth/controller-runtime';

/** A top-level resource (no subresources) and the verbs it serves. */
export interface ServedResource extends Resource {
  readonly verbs: ReadonlySet<string>;
}

export interface ServedResources {
  /** Sorted by group, then plural. */
  readonly resources: ServedResource[];
  /** Group versions whose resource list could not be read, with why. */
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

export async function discoverServedResources(client: ApiClient, signal: AbortSignal): Promise<ServedResources> {
  const core = (await client.request('GET', '/api', { signal })) as { versions?: readonly string[] };
  const groups = (await client.request('GET', '/apis', { signal })) as GroupList;
  const groupVersions: { group: string; version: string; path: string }[] = [];
  const coreVersion = core.versions?.[0];
  if (coreVersion !== undefined) groupVersions.push({ group: '', version: coreVersion, path: `/api/${coreVersion}` });
  for (const g of groups.groups ?? []) {
    const version = g.preferredVersion?.version ?? g.versions?.[0]?.version;
    if (version !== undefined) groupVersions.push({ group: g.name, version, path: `/apis/${g.name}/${version}` });
  }
  const resources: ServedResource[] = [];
  const failed = new Map<string, string>();
  await Promise.all(
    groupVersions.map(async ({ group, version, path }) => {
      try {
        const list = (await client.request('GET', path, { signal })) as { resources?: readonly ApiResource[] };
        for (const r of list.resources ?? []) {
          if (r.name.includes('/')) continue;
          resources.push({
            group,
            version,
            plural: r.name,
            kind: r.kind,
            namespaced: r.namespaced,
            verbs: new Set(r.verbs ?? []),
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
