// Maps a Container's networkMode, networks and ports onto what the network subsystem attaches, as kubelet maps a
// Pod's onto a sandbox: hostIP defaults to 127.0.0.1 (published on the node's loopback only, never by surprise
// on every address), protocols are CNI's lower-case names.
import type { Container } from '@berth/api';
import type { AttachRequest, NetworkDefinition, PortMapping } from '../network/network.js';
import { AgentError } from './errors.js';

export type NetworkPlan =
  /** Only loopback, in a namespace of the container's own (Docker's --network none). */
  | { readonly mode: 'none' }
  /** The node's network namespace (Docker's --network host); ports are the container's own. */
  | { readonly mode: 'host' }
  | { readonly mode: 'bridge'; readonly request: AttachRequest };

const configError = (message: string) => new AgentError('CreateContainerConfigError', message);

/** The host ports a Container publishes. */
export function publishedPorts(c: Container): PortMapping[] {
  const out: PortMapping[] = [];
  for (const p of c.spec.ports ?? []) {
    if (p.hostPort === undefined) continue;
    const protocol = p.protocol ?? 'TCP';
    if (protocol === 'SCTP')
      throw configError(
        `ports: SCTP (containerPort ${p.containerPort}) cannot be published on this node; use TCP or UDP`,
      );
    const hostIP = p.hostIP === undefined || p.hostIP === '' ? '127.0.0.1' : p.hostIP;
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIP))
      throw configError(`ports: hostIP ${JSON.stringify(hostIP)} is not an IPv4 address`);
    out.push({
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: protocol === 'UDP' ? 'udp' : 'tcp',
      hostIP,
    });
  }
  return out;
}

/**
 * What networking the Container gets. `resolve` finds a named Network (undefined: it does not exist); a Container
 * naming none joins `defaultNetwork`.
 */
export async function networkPlan(
  c: Container,
  defaultNetwork: NetworkDefinition,
  resolve: (name: string) => Promise<NetworkDefinition | undefined>,
): Promise<NetworkPlan> {
  const mode = c.spec.networkMode ?? 'bridge';
  const ports = publishedPorts(c);
  if (mode === 'host') return { mode };
  if (mode === 'none') {
    if (ports.length > 0)
      throw configError('ports: a container with networkMode "none" cannot publish ports (it has only loopback)');
    return { mode };
  }
  const named = c.spec.networks ?? [];
  if (named.length === 0) return { mode, request: { networks: [defaultNetwork], ports } };
  const networks: NetworkDefinition[] = [];
  for (const n of named) {
    const def = await resolve(n.name);
    if (def === undefined)
      throw configError(`network "${n.name}" not found in namespace ${c.metadata.namespace ?? ''}`);
    networks.push(def);
  }
  return { mode, request: { networks, ports } };
}
