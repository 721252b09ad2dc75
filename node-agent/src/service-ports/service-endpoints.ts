// Which node ports the Services publish and where each forwards: a Service's ports[] on hostIP:port, spread over
// its Ready replicas (Containers of its namespace matching spec.selector, Ready=True, not being deleted) at their
// first address and the target port. Pure: the same objects always give the same list, in the same order.
import { labelSelectorFromMeta, matchesLabels, type Container, type Service, type ServicePort } from '@berth/api';

export interface Backend {
  readonly ip: string;
  readonly port: number;
  /** namespace/name of the Container, for the rule's comment. */
  readonly container: string;
}

export interface PublishedPort {
  /** namespace/name:port/protocol, unique on this node. */
  readonly key: string;
  readonly protocol: 'tcp' | 'udp';
  /** 0.0.0.0 stands for every address of the node. */
  readonly hostIP: string;
  readonly port: number;
  /** Sorted by address, so that an unchanged set renders the same rules. */
  readonly backends: readonly Backend[];
}

const isReady = (c: Container): boolean =>
  c.metadata.deletionTimestamp === undefined &&
  c.status?.phase === 'Running' &&
  (c.status.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');

/** The container port a Service port forwards to on `c`: by number, by the name of one of its ports, or `port`. */
function targetPortOf(p: ServicePort, c: Container): number | undefined {
  const target = p.targetPort ?? p.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  return (c.spec.ports ?? []).find((cp) => cp.name === target)?.containerPort;
}

/** Every port the Services publish, with their Ready backends (maybe none); SCTP ports are left out. */
export function publishedPorts(services: readonly Service[], containers: readonly Container[]): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const svc of services) {
    if (svc.metadata.deletionTimestamp !== undefined) continue;
    const namespace = svc.metadata.namespace ?? '';
    let selector: ReturnType<typeof labelSelectorFromMeta>;
    try {
      selector = labelSelectorFromMeta(svc.spec.selector);
    } catch {
      // An invalid selector selects nothing (the API server rejects one; a cache could still hold an old one).
      continue;
    }
    // An empty selector would take every Container of the namespace: as a Deployment's, it selects none here.
    if (selector === null || selector.length === 0) continue;
    const members = containers.filter(
      (c) => (c.metadata.namespace ?? '') === namespace && matchesLabels(selector, c.metadata.labels) && isReady(c),
    );
    for (const p of svc.spec.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      if (protocol === 'SCTP') continue;
      const backends: Backend[] = [];
      for (const c of members) {
        const ip = c.status?.ips?.[0]?.ip;
        const port = targetPortOf(p, c);
        if (ip === undefined || port === undefined) continue;
        backends.push({ ip, port, container: `${namespace}/${c.metadata.name ?? ''}` });
      }
      backends.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
      out.push({
        key: `${namespace}/${svc.metadata.name ?? ''}:${p.port}/${protocol.toLowerCase()}`,
        protocol: protocol === 'UDP' ? 'udp' : 'tcp',
        hostIP: p.hostIP !== undefined && p.hostIP !== '' ? p.hostIP : '0.0.0.0',
        port: p.port,
        backends,
      });
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
