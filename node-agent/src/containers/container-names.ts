// The names a Container answers to on a network (its name, its aliases), and a Service's name (its Ready
// replicas' addresses, headless style), for the network's name server. A network is named by its key, the id of
// its definition: the default network's name (every namespace is on it), or `namespace_name` for a user Network,
// so two namespaces' Networks of one name are two networks here too.
import {
  isConditionTrue,
  labelSelectorFromMeta,
  matchesLabels,
  type Container,
  type Network,
  type Service,
} from '@berth/api';

/** Whether `address` (one of `c`'s status.ips) is on the network whose key is `key`. */
function onNetwork(c: Container, address: { network?: string }, key: string): boolean {
  // Names and namespaces never contain '_': a user Network's key never equals a network name.
  return address.network === key || `${c.metadata.namespace ?? ''}_${address.network ?? ''}` === key;
}

/** The network's name in a Container's spec.networks: the key without its namespace. */
const nameOf = (key: string) => key.slice(key.indexOf('_') + 1);

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
  const asker = all.find((c) => c.status?.ips?.some((a) => a.ip === client && onNetwork(c, a, network)));
  const out: string[] = [];
  for (const c of all) {
    const ns = c.metadata.namespace ?? '';
    const names = [
      c.metadata.name ?? '',
      ...(c.spec.networks?.find((n) => n.name === nameOf(network))?.aliases ?? []),
    ].map((n) => n.toLowerCase());
    const matches =
      (names.includes(name) && asker !== undefined && asker.metadata.namespace === ns) ||
      names.some((n) => `${n}.${ns}` === name);
    if (!matches) continue;
    for (const a of c.status?.ips ?? []) if (onNetwork(c, a, network)) out.push(a.ip);
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
  const found = readyReplicas(services, all, network, name, client);
  if (found === undefined) return undefined;
  const out = found.replicas.flatMap((r) => r.ips);
  return out.length > 0 ? out : undefined;
}

interface Replica {
  readonly container: Container;
  /** Its addresses on the network asked about. */
  readonly ips: string[];
}

/** The Service `name` names for the asker, and its Ready replicas with an address on `network`. */
function readyReplicas(
  services: readonly Service[],
  all: readonly Container[],
  network: string,
  name: string,
  client: string,
): { service: Service; replicas: Replica[] } | undefined {
  const asker = all.find((c) => c.status?.ips?.some((a) => a.ip === client && onNetwork(c, a, network)));
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? '';
    const svcName = (svc.metadata.name ?? '').toLowerCase();
    const matches = (svcName === name && asker?.metadata.namespace === ns) || `${svcName}.${ns}` === name;
    if (!matches || svc.metadata.deletionTimestamp !== undefined) continue;
    // An empty selector selects nothing here (a Service always names its replicas' labels).
    const selector = labelSelectorFromMeta(svc.spec.selector);
    if (selector === null || selector.length === 0) continue;
    const replicas: Replica[] = [];
    for (const c of all) {
      if (c.metadata.namespace !== ns || c.metadata.deletionTimestamp !== undefined) continue;
      if (!matchesLabels(selector, c.metadata.labels) || !isConditionTrue(c.status?.conditions, 'Ready')) continue;
      const ips = (c.status?.ips ?? []).filter((a) => onNetwork(c, a, network)).map((a) => a.ip);
      if (ips.length > 0) replicas.push({ container: c, ips });
    }
    return { service: svc, replicas };
  }
  return undefined;
}

/**
 * SRV records of `_port._proto.service[.namespace]`: for the Service port named `port` (protocol `proto`), one
 * record per Ready replica on `network`, its target the replica's name (`name.namespace`) and its port the
 * replica's container port (targetPort by number, or by the replica's port name).
 */
export function serviceRecords(
  services: readonly Service[],
  all: readonly Container[],
  network: string,
  name: string,
  client: string,
): { port: number; target: string }[] | undefined {
  const m = /^_([^.]+)\._(tcp|udp)\.(.+)$/.exec(name);
  if (m === null) return undefined;
  const [, portName, proto, rest] = m;
  const found = readyReplicas(services, all, network, rest ?? '', client);
  const port = found?.service.spec.ports?.find(
    (p) => p.name?.toLowerCase() === portName && (p.protocol ?? 'TCP').toLowerCase() === proto,
  );
  if (found === undefined || port === undefined) return undefined;
  const out: { port: number; target: string }[] = [];
  for (const r of found.replicas) {
    const target = port.targetPort ?? port.port;
    const number =
      typeof target === 'number' ? target : r.container.spec.ports?.find((p) => p.name === target)?.containerPort;
    if (number === undefined) continue;
    out.push({ port: number, target: `${r.container.metadata.name ?? ''}.${r.container.metadata.namespace ?? ''}` });
  }
  return out.length > 0 ? out : undefined;
}

/** The name (`name.namespace`, which resolves back from anywhere on the network) of the member at `ip`, for PTR. */
export function containerNameAt(all: readonly Container[], network: string, ip: string): string | undefined {
  const c = all.find((x) => x.status?.ips?.some((a) => a.ip === ip && onNetwork(x, a, network)));
  return c === undefined ? undefined : `${c.metadata.name ?? ''}.${c.metadata.namespace ?? ''}`;
}

/**
 * What `name` resolves to among user Network `net`'s members on other nodes (its status.members, which the network
 * controller keeps for the whole cluster; this node's informer sees only its own Containers): by name in the
 * Network's namespace, or `name.namespace`. Aliases are not in status.members, so other nodes' members answer to
 * their names only.
 */
export function otherNodesMemberAddresses(
  net: Network | undefined,
  name: string,
  nodeName: string,
): string[] | undefined {
  const ns = net?.metadata.namespace ?? '';
  const out = (net?.status?.members ?? [])
    .filter((m) => m.nodeName !== nodeName && m.ip !== undefined)
    .filter((m) => m.name.toLowerCase() === name || `${m.name.toLowerCase()}.${ns}` === name)
    .map((m) => m.ip as string);
  return out.length > 0 ? out : undefined;
}
