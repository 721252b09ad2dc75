// Which REST resource a kind names, from the server's aggregated discovery (as kubectl finds it): plural,
// singular, Kind and short names all resolve, optionally qualified by group (`containers.berth.dev`).

import type { ApiClient } from '../api/client.js';
import { UsageError } from '../errors.js';

export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly verbs: readonly string[];
}

interface DiscoveryList {
  items?: {
    metadata?: { name?: string };
    versions?: {
      version?: string;
      resources?: {
        resource?: string;
        singularResource?: string;
        responseKind?: { kind?: string };
        scope?: string;
        shortNames?: string[];
        verbs?: string[];
      }[];
    }[];
  }[];
}

const aggregated = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Every resource the server serves, core first, each group at its preferred (first) version. */
export async function discoverResources(client: ApiClient): Promise<ResourceInfo[]> {
  const lists = await Promise.all(
    ['/api', '/apis'].map((path) => client.request<DiscoveryList>('GET', path, undefined, undefined, aggregated)),
  );
  const out: ResourceInfo[] = [];
  for (const group of lists.flatMap((l) => l.items ?? [])) {
    const preferred = group.versions?.[0];
    for (const r of preferred?.resources ?? []) {
      if (r.resource === undefined || r.responseKind?.kind === undefined) continue;
      out.push({
        group: group.metadata?.name ?? '',
        version: preferred?.version ?? 'v1',
        plural: r.resource,
        singular: r.singularResource || r.responseKind.kind.toLowerCase(),
        kind: r.responseKind.kind,
        namespaced: r.scope !== 'Cluster',
        shortNames: r.shortNames ?? [],
        verbs: r.verbs ?? [],
      });
    }
  }
  return out;
}

/** The resource `word` names (`ctr`, `container`, `Containers`, `containers.berth.dev`); a usage error if none. */
export function resolveResource(resources: readonly ResourceInfo[], word: string): ResourceInfo {
  const lower = word.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  const matches = (r: ResourceInfo) =>
    (group === undefined || r.group === group) &&
    (r.plural === name || r.singular === name || r.kind.toLowerCase() === name || r.shortNames.includes(name));
  // The core group first, then berth's own, then the others: `svc` is berth's Service only if core has none.
  const rank = (r: ResourceInfo) => (r.group === '' ? 0 : r.group === 'berth.dev' ? 1 : 2);
  const found = resources.filter(matches).sort((a, b) => rank(a) - rank(b))[0];
  if (found === undefined)
    throw new UsageError(`the server doesn't have a resource type "${word}" (see: kubectl api-resources)`);
  return found;
}

/** The resource a manifest's apiVersion and kind name. */
export function resourceOfKind(resources: readonly ResourceInfo[], apiVersion: string, kind: string): ResourceInfo {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const found = resources.find((r) => r.group === group && r.kind === kind);
  if (found === undefined)
    throw new UsageError(`resource mapping not found for kind "${kind}" in version "${apiVersion}"`);
  return found;
}

/** `/api/v1/namespaces/NS/pods[/NAME]` or `/apis/G/V/…`; cluster-scoped kinds have no namespace part. */
export function resourcePath(r: ResourceInfo, namespace: string | undefined, name?: string): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

/** `container.berth.dev/web`, `configmap/x`: how kubectl names an object in its one-line answers. */
export function qualifiedName(r: ResourceInfo, name: string): string {
  return `${r.kind.toLowerCase()}${r.group === '' ? '' : `.${r.group}`}/${name}`;
}
