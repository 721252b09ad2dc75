// The names a Container answers to on a network (its name, its aliases), and a Service's name (its Ready
// replicas' addresses, headless style), for the network's name server.
import { isConditionTrue, labelSelectorFromMeta, matchesLabels, type Container, type Service } from '@berth/api';

/**
 * What `name` resolves to on `network` for the member at `client`: Containers on that network by name or alias,
 * in the asker's namespace, or as `name.namespace` from anywhere on it.
 */
export function containerAddresses(
  all: readonly Container[],
  network: string,
  name: string,
  client: string,
): string[] | undefined {
  const asker = all.find((c) => c.status?.ips?.some((a) => a.ip === client && a.network === network));
  const out: string[] = [];
  for (const c of all) {
    const ns = c.metadata.namespace ?? '';
    const names = [c.metadata.name ?? '', ...(c.spec.networks?.find((n) => n.name === network)?.aliases ?? [])].map(
      (n) => n.toLowerCase(),
    );
    const matches =
      (names.includes(name) && asker !== undefined && asker.metadata.namespace === ns) ||
      names.some((n) => `${n}.${ns}` === name);
    if (!matches) continue;
    for (const a of c.status?.ips ?? []) if (a.network === network) out.push(a.ip);
  }
  return out.length > 0 ? out : undefined;
}

/**
 * What `name` resolves to as a Service on `network` for the member at `client`: the addresses on that network of
 * the Containers its spec.selector selects whose Ready condition is True (no virtual IP: each replica's own, as a
 * headless Kubernetes Service answers). `name` is the Service's name in the asker's namespace, or `name.namespace`.
 */
export function serviceAddresses(
  services: readonly Service[],
  all: readonly Container[],
  network: string,
  name: string,
  client: string,
): string[] | undefined {
  const asker = all.find((c) => c.status?.ips?.some((a) => a.ip === client && a.network === network));
  const out: string[] = [];
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? '';
    const svcName = (svc.metadata.name ?? '').toLowerCase();
    const matches = (svcName === name && asker?.metadata.namespace === ns) || `${svcName}.${ns}` === name;
    if (!matches || svc.metadata.deletionTimestamp !== undefined) continue;
    // An empty selector selects nothing here (a Service always names its replicas' labels).
    const selector = labelSelectorFromMeta(svc.spec.selector);
    if (selector === null || selector.length === 0) continue;
    for (const c of all) {
      if (c.metadata.namespace !== ns || c.metadata.deletionTimestamp !== undefined) continue;
      if (!matchesLabels(selector, c.metadata.labels) || !isConditionTrue(c.status?.conditions, 'Ready')) continue;
      for (const a of c.status?.ips ?? []) if (a.network === network) out.push(a.ip);
    }
  }
  return out.length > 0 ? out : undefined;
}

/** The name (`name.namespace`, which resolves back from anywhere on the network) of the member at `ip`, for PTR. */
export function containerNameAt(all: readonly Container[], network: string, ip: string): string | undefined {
  const c = all.find((x) => x.status?.ips?.some((a) => a.ip === ip && a.network === network));
  return c === undefined ? undefined : `${c.metadata.name ?? ''}.${c.metadata.namespace ?? ''}`;
}
