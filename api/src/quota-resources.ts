// What a ResourceQuota's object counts name (Kubernetes' generic object-count evaluator): `count/<plural>.<group>`
// (`count/<plural>` in the core group) for any kind, and the core short forms Kubernetes keeps (`pods`,
// `services`, `secrets`, `configmaps`, …). berth's Pods are a view of Containers, so `pods` and `count/pods`
// count Containers, as a Pod create is a Container create.

/** A resource an object count is kept of. */
export interface CountedResource {
  readonly group: string;
  readonly plural: string;
}

/** The core short forms Kubernetes' quota accepts beside `count/…`. */
const legacyCounts = new Set([
  'pods',
  'services',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'replicationcontrollers',
  'resourcequotas',
]);

const containers: CountedResource = { group: 'berth.dev', plural: 'containers' };

/** The resource a quota's key counts, or undefined when the key is no object count berth keeps. */
export function countedResource(key: string): CountedResource | undefined {
  let counted: CountedResource | undefined;
  if (legacyCounts.has(key)) counted = { group: '', plural: key };
  else if (key.startsWith('count/')) {
    const rest = key.slice('count/'.length);
    const dot = rest.indexOf('.');
    counted = dot < 0 ? { group: '', plural: rest } : { group: rest.slice(dot + 1), plural: rest.slice(0, dot) };
    if (counted.plural === '') return undefined;
  }
  if (counted?.group === '' && counted.plural === 'pods') return containers;
  return counted;
}

/** Whether `key` counts only objects still running (Kubernetes' `pods`: not Succeeded or Failed). */
export const countsOnlyRunning = (key: string): boolean => key === 'pods' || key === 'count/pods';

/** The keys of `hard` that count objects of `resource`. */
export function countKeysFor(hard: Readonly<Record<string, unknown>>, resource: CountedResource): string[] {
  return Object.keys(hard).filter((k) => {
    const c = countedResource(k);
    return c !== undefined && c.group === resource.group && c.plural === resource.plural;
  });
}
