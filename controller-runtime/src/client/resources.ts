// The kinds berth's controllers and node agent read and write, each named once: berth.dev's own, and the core and
// coordination kinds of Kubernetes they use.
import type { Resource } from './resource.js';

const berth = (plural: string, kind: string): Resource => ({
  group: 'berth.dev',
  version: 'v1alpha1',
  plural,
  kind,
  namespaced: true,
});
const core = (plural: string, kind: string, namespaced: boolean): Resource => ({
  group: '',
  version: 'v1',
  plural,
  kind,
  namespaced,
});

export const resources = {
  containers: berth('containers', 'Container'),
  services: berth('services', 'Service'),
  volumes: berth('volumes', 'Volume'),
  networks: berth('networks', 'Network'),
  images: berth('images', 'Image'),
  gitRepositories: berth('gitrepositories', 'GitRepository'),
  syncs: berth('syncs', 'Sync'),
  nodes: core('nodes', 'Node', false),
  namespaces: core('namespaces', 'Namespace', false),
  configMaps: core('configmaps', 'ConfigMap', true),
  secrets: core('secrets', 'Secret', true),
  serviceAccounts: core('serviceaccounts', 'ServiceAccount', true),
  resourceQuotas: core('resourcequotas', 'ResourceQuota', true),
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
} as const satisfies Record<string, Resource>;
