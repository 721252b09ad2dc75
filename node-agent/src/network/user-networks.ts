// A user's Network object as this node runs it: its bridge, subnet and gateway, checked before anything is made.
// The subnet is spec.subnet, or the one the network controller allocated (status.subnet): nodes never pick one,
// so two nodes cannot pick different ones.
import { defaultGateway, findCondition, networkBridgeName, parseIpv4, parseIpv4Cidr, type Network } from '@berth/api';
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

/** The definition of Network `net`; a Network this node cannot run is an InvalidNetwork error saying why. */
export function definitionOf(net: Network): NetworkDefinition {
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
  return {
    name,
    // Namespaces are DNS labels and names DNS subdomains: '_' appears in neither, so this is unique.
    id: `${namespace}_${name}`,
    bridge: spec.bridgeName ?? networkBridgeName(namespace, name),
    subnet,
    ...(spec.gateway !== undefined ? { gateway: spec.gateway } : {}),
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...(spec.ipRange !== undefined ? { ipRange: spec.ipRange } : {}),
    internal: spec.internal === true,
    // As Docker's user bridges: members' traffic out is masqueraded unless the network is internal.
    masquerade: spec.internal !== true,
    dns: spec.dns !== false,
    ...(spec.dnsUpstreams !== undefined ? { dnsUpstreams: spec.dnsUpstreams } : {}),
  };
}
