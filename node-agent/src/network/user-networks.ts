// A user's Network object as this node runs it: its bridge, subnet and gateway, checked before anything is made.
// The subnet is spec.subnet, or the one the network controller allocated (status.subnet): nodes never pick one,
// so two nodes cannot pick different ones. Once the controller slices the subnet per node (status.nodes), this node
// allocates only from its own slice, its bridge carries its slice's gateway, and a VXLAN port to the other nodes
// with slices joins their bridges into one segment (as a Swarm overlay).
import {
  defaultGateway,
  findCondition,
  formatIpv4,
  networkBridgeName,
  parseIpv4,
  parseIpv4Cidr,
  type Network,
} from '@berth/api';
import { NetworkError } from './errors.js';
import type { NetworkDefinition } from './network.js';

/** [first, last] address of an IPv4 CIDR, or undefined when it is not one. */
export function cidrRange(cidr: string): [number, number] | undefined {
  const c = parseIpv4Cidr(cidr);
  return c === undefined ? undefined : [c.first, c.last];
}

/** The gateway a definition's bridge carries: its own, or the subnet's first host address (host-local's default). */
export function gatewayOf(def: NetworkDefinition): string | undefined {
  return def.gateway ?? defaultGateway(def.subnet);
}

/** VXLAN's overhead on a 1500-byte underlay, as Docker's overlay sets its MTU to 1450. */
const tunnelMtu = 1450;

/**
 * The definition of Network `net` on node `nodeName` (without one, or before the controller slices the subnet, the
 * whole subnet); a Network this node cannot run is an InvalidNetwork error saying why.
 */
export function definitionOf(net: Network, nodeName?: string): NetworkDefinition {
  const namespace = net.metadata?.namespace ?? '';
  const name = net.metadata?.name ?? '';
  const where = `Network ${namespace}/${name}`;
  const spec = net.spec ?? {};
  if (net.metadata.deletionTimestamp !== undefined)
    throw new NetworkError('NetworkNotReady', `${where} is being deleted: no new Container joins it`);
  // The network controller checks a subnet against every other Network's (and allocates one when spec names none)
  // before any node builds the bridge: until it says Ready, nothing is made.
  const ready = findCondition(net.status?.conditions, 'Ready');
  if (ready === undefined)
    throw new NetworkError(
      'NetworkNotReady',
      `${where} is not ready yet: the network controller has not reported on it`,
    );
  if (ready.status !== 'True')
    throw new NetworkError('InvalidNetwork', `${where} is not ready: ${ready.reason ?? ''}: ${ready.message ?? ''}`);
  const subnet = net.status?.subnet ?? spec.subnet;
  if (subnet === undefined) throw new NetworkError('InvalidNetwork', `${where} has no subnet in its status`);
  const range = cidrRange(subnet);
  if (range === undefined)
    throw new NetworkError(
      'InvalidNetwork',
      `${where}: subnet ${JSON.stringify(subnet)} is not an IPv4 CIDR with its host bits zero`,
    );
  if (spec.gateway !== undefined) {
    const gw = parseIpv4(spec.gateway);
    if (gw === undefined || gw <= range[0] || gw >= range[1])
      throw new NetworkError(
        'InvalidNetwork',
        `${where}: spec.gateway ${spec.gateway} is not a host address of ${subnet}`,
      );
  }
  let ipRange = spec.ipRange;
  let gateway = spec.gateway;
  let tunnel: NetworkDefinition['tunnel'];
  const slices = net.status?.nodes;
  if (nodeName !== undefined && slices !== undefined) {
    const mine = slices.find((s) => s.name === nodeName);
    if (mine === undefined)
      throw new NetworkError(
        'NetworkNotReady',
        `${where} has no slice of ${subnet} for node ${nodeName} yet (the network controller gives one to each node running a member)`,
      );
    const slice = parseIpv4Cidr(mine.subnet);
    if (slice === undefined || slice.first < range[0] || slice.last > range[1])
      throw new NetworkError('InvalidNetwork', `${where}: node slice ${mine.subnet} is not inside ${subnet}`);
    ipRange = mine.subnet;
    const vni = net.status?.vni;
    if (mine.tunnelAddress !== undefined && vni !== undefined) {
      // Each host's bridge its own gateway, from its slice: the bridges are one segment, where one address on two
      // would answer ARP twice. (Agents sharing one host's bridge without a tunnel share its one gateway.)
      const gw = spec.gateway === undefined ? undefined : parseIpv4(spec.gateway);
      if (gw === undefined || gw < slice.first || gw > slice.last)
        gateway = formatIpv4(Math.max(slice.first, range[0]) + 1);
      tunnel = {
        vni,
        local: mine.tunnelAddress,
        peers: slices
          .filter((s) => s.name !== nodeName && s.tunnelAddress !== undefined)
          .map((s) => s.tunnelAddress as string)
          .sort(),
      };
    }
  }
  const mtu = spec.mtu ?? (tunnel !== undefined ? tunnelMtu : undefined);
  return {
    name,
    // Namespaces are DNS labels and names DNS subdomains: '_' appears in neither, so this is unique.
    id: `${namespace}_${name}`,
    bridge: spec.bridgeName ?? networkBridgeName(namespace, name),
    subnet,
    ...(gateway !== undefined ? { gateway } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(ipRange !== undefined ? { ipRange } : {}),
    ...(tunnel !== undefined ? { tunnel } : {}),
    internal: spec.internal === true,
    // As Docker's user bridges: members' traffic out is masqueraded unless the network is internal.
    masquerade: spec.internal !== true,
    dns: spec.dns !== false,
    ...(spec.dnsUpstreams !== undefined ? { dnsUpstreams: spec.dnsUpstreams } : {}),
  };
}
