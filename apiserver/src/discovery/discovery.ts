// Discovery documents generated from the live registry: aggregated (apidiscovery.k8s.io/v2) for kubectl, legacy
// APIVersions / APIGroupList / APIResourceList for client-node and older clients.

import type { ResourceRegistry } from '../registry/registry.js';
import type { Resource } from '../registry/resource.js';
import { proxiedSubresources } from '../handlers/node-proxy.js';
import { podSubresources } from '../pod-view/pod-kind.js';
import { containerMetricsGroup, metricsGroup, type ServedGroup } from '../metrics/resource-metrics.js';

/** Groups served by their own handlers rather than the object store (Kubernetes' aggregated APIs). */
const servedGroups: readonly ServedGroup[] = [metricsGroup, containerMetricsGroup];

function servedAggregated(g: ServedGroup) {
  return {
    metadata: { name: g.name },
    versions: [
      {
        version: g.version,
        resources: g.resources.map((r) => ({
          resource: r.plural,
          responseKind: { group: g.name, version: g.version, kind: r.kind },
          scope: r.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: '',
          verbs: r.verbs,
        })),
        freshness: 'Current',
      },
    ],
  };
}

export const aggregatedContentType = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
export const aggregatedContentTypeBeta = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const verbsOfResource = (r: Resource): string[] =>
  r.strategy.createOnly === true
    ? ['create']
    : r.strategy.deleteCollection === false
      ? allVerbs.filter((v) => v !== 'deletecollection')
      : allVerbs;
const subresourceVerbs = ['get', 'patch', 'update'];
/** log (and a Container's top) is read with GET; exec and attach are created (POST/GET with an upgrade), as for Pods. */
const verbsOf = (subresource: string): string[] =>
  subresource === 'log' || subresource === 'top'
    ? ['get']
    : subresource === 'exec' || subresource === 'attach' || subresource === 'portforward'
      ? ['create', 'get']
      : subresource === 'finalize'
        ? ['update']
        : subresource === 'binding' || subresource === 'token' || subresource === 'eviction'
          ? ['create']
          : subresourceVerbs;

/** Which aggregated discovery version the Accept header asks for, if any (v2 preferred). */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (accept === undefined) return undefined;
  for (const part of accept.split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('g') === 'apidiscovery.k8s.io' && params.get('as') === 'APIGroupDiscoveryList') {
      const v = params.get('v');
      if (v === 'v2' || v === 'v2beta1') return v;
    }
  }
  return undefined;
}

function subresourcesOf(r: Resource): { name: string; kind: { group: string; version: string; kind: string } }[] {
  const out = [];
  if (r.subresources.status) out.push({ name: 'status', kind: { group: r.group, version: r.version, kind: r.kind } });
  if (r.subresources.scale !== undefined)
    out.push({ name: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } });
  if (r.strategy.finalize !== undefined)
    out.push({ name: 'finalize', kind: { group: r.group, version: r.version, kind: r.kind } });
  if (r.strategy.binding !== undefined)
    out.push({ name: 'binding', kind: { group: r.group, version: r.version, kind: 'Binding' } });
  if (r.group === '' && r.plural === 'serviceaccounts')
    out.push({ name: 'token', kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } });
  if (r.group === '' && r.plural === 'pods') out.push(...podSubresources);
  for (const name of proxiedSubresources.get(`${r.group}/${r.plural}`) ?? [])
    out.push({ name, kind: { group: r.group, version: r.version, kind: r.kind } });
  return out;
}

function aggregatedResource(r: Resource) {
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: verbsOfResource(r),
    ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    ...(subresourcesOf(r).length > 0
      ? {
          subresources: subresourcesOf(r).map((s) => ({
            subresource: s.name,
            responseKind: s.kind,
            verbs: verbsOf(s.name),
          })),
        }
      : {}),
  };
}

function aggregatedGroup(registry: ResourceRegistry, group: string, versions: readonly string[]) {
  return {
    metadata: { name: group },
    versions: versions.map((version) => ({
      version,
      resources: registry
        .resourcesOf(group, version)
        .sort((a, b) => a.plural.localeCompare(b.plural))
        .map(aggregatedResource),
      freshness: 'Current',
    })),
  };
}

export function aggregatedDiscovery(registry: ResourceRegistry, core: boolean, version: 'v2' | 'v2beta1') {
  const items = core
    ? [aggregatedGroup(registry, '', ['v1'])]
    : [
        ...registry.groups().map((g) => aggregatedGroup(registry, g.name, g.versions)),
        ...servedGroups.map(servedAggregated),
      ];
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

export const apiVersions = () => ({
  kind: 'APIVersions',
  versions: ['v1'],
  serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }],
});

function apiGroup(name: string, versions: readonly string[]) {
  const gvs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: gvs, preferredVersion: gvs[0] };
}

export const apiGroupList = (registry: ResourceRegistry) => ({
  kind: 'APIGroupList',
  apiVersion: 'v1',
  groups: [
    ...registry.groups().map((g) => apiGroup(g.name, g.versions)),
    ...servedGroups.map((g) => apiGroup(g.name, [g.version])),
  ],
});

export function apiGroupDocument(registry: ResourceRegistry, group: string) {
  const g =
    registry.groups().find((x) => x.name === group) ??
    servedGroups.map((x) => ({ name: x.name, versions: [x.version] })).find((x) => x.name === group);
  return g === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g.name, g.versions) };
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string) {
  const served = servedGroups.find((g) => g.name === group && g.version === version);
  if (served !== undefined)
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${group}/${version}`,
      resources: served.resources.map((r) => ({
        name: r.plural,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
      })),
    };
  const resources = registry.resourcesOf(group, version).sort((a, b) => a.plural.localeCompare(b.plural));
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: resources.flatMap((r) => [
      {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: verbsOfResource(r),
        ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
        ...(r.categories.length > 0 ? { categories: r.categories } : {}),
        storageVersionHash: '',
      },
      ...subresourcesOf(r).map((s) => ({
        name: `${r.plural}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(s.name === 'scale' ? { group: 'autoscaling', version: 'v1' } : {}),
        kind: s.kind.kind,
        verbs: verbsOf(s.name),
      })),
    ]),
  };
}
