// The kinds the dashboard lists: where each lives in the API (group, version, plural) and whether it is
// namespaced; paths for lists, watches, single objects and subresources follow from that.

export interface ResourceType {
  /** The route segment and key: `containers`. */
  readonly id: string;
  readonly title: string;
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const berth = (id: string, title: string, kind: string): ResourceType => ({
  id,
  title,
  kind,
  group: 'berth.dev',
  version: 'v1alpha1',
  plural: id,
  namespaced: true,
});

export const resourceTypes: readonly ResourceType[] = [
  berth('containers', 'Containers', 'Container'),
  berth('services', 'Services', 'Service'),
  { id: 'nodes', title: 'Nodes', kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false },
  berth('images', 'Images', 'Image'),
  berth('networks', 'Networks', 'Network'),
  berth('volumes', 'Volumes', 'Volume'),
  berth('gitrepositories', 'GitOps sources', 'GitRepository'),
  berth('syncs', 'GitOps syncs', 'Sync'),
  { id: 'events', title: 'Events', kind: 'Event', group: '', version: 'v1', plural: 'events', namespaced: true },
  {
    id: 'namespaces',
    title: 'Namespaces',
    kind: 'Namespace',
    group: '',
    version: 'v1',
    plural: 'namespaces',
    namespaced: false,
  },
];

export const resourceType = (id: string): ResourceType | undefined => resourceTypes.find((r) => r.id === id);

const base = (r: ResourceType) => (r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`);

/** The collection path: every namespace's when `namespace` is undefined (or the kind is cluster-scoped). */
export function collectionPath(r: ResourceType, namespace: string | undefined): string {
  return r.namespaced && namespace !== undefined
    ? `${base(r)}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`
    : `${base(r)}/${r.plural}`;
}

export function objectPath(r: ResourceType, namespace: string | undefined, name: string, subresource?: string): string {
  const path = `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
  return subresource === undefined ? path : `${path}/${subresource}`;
}
