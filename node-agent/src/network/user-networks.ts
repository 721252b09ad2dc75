// A user's Network object as this node runs it: its bridge, subnet and gateway, checked before anything is made.
import { createHash } from 'node:crypto';
import type { Network } from '@berth/api';
import { NetworkError } from './errors.js';
import type { NetworkDefinition } from './network.js';

const toInt = (ip: string): number | undefined => {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
};

/** [first, last] address of an IPv4 CIDR, or undefined when it is not one. */
export function cidrRange(cidr: string): [number, number] | undefined {
  const [ip = '', bits = ''] = cidr.split('/');
  const base = toInt(ip);
  if (base === undefined || !/^\d{1,2}$/.test(bits) || Number(bits) > 32) return undefined;
  const size = 2 ** (32 - Number(bits));
  if (base % size !== 0) return undefined;
  return [base, base + size - 1];
}

/** The gateway a definition's bridge carries: its own, or the subnet's first host address (host-local's default). */
export function gatewayOf(def: NetworkDefinition): string | undefined {
  if (def.gateway !== undefined) return def.gateway;
  const range = cidrRange(def.subnet);
  if (range === undefined) return undefined;
  const n = range[0] + 1;
  return [24, 16, 8, 0].map((s) => String(Math.floor(n / 2 ** s) % 256)).join('.');
}

/** The definition of Network `net`; a Network this node cannot run is an InvalidNetwork error saying why. */
export function definitionOf(net: Network): NetworkDefinition {
  const namespace = net.metadata?.namespace ?? '';
  const name = net.metadata?.name ?? '';
  const where = `Network ${namespace}/${name}`;
  const spec = net.spec ?? {};
  if (spec.subnet === undefined)
    throw new NetworkError(
      'InvalidNetwork',
      `${where} has no spec.subnet (allocation from a pool is not implemented yet)`,
    );
  const range = cidrRange(spec.subnet);
  if (range === undefined)
    throw new NetworkError(
      'InvalidNetwork',
      `${where}: spec.subnet ${JSON.stringify(spec.subnet)} is not an IPv4 CIDR with its host bits zero`,
    );
  if (spec.gateway !== undefined) {
    const gw = toInt(spec.gateway);
    if (gw === undefined || gw <= range[0] || gw >= range[1])
      throw new NetworkError(
        'InvalidNetwork',
        `${where}: spec.gateway ${spec.gateway} is not a host address of ${spec.subnet}`,
      );
  }
  // Bridge names are at most 15 characters: a digest of namespace/name keeps them unique on the node.
  const bridge =
    spec.bridgeName ?? `bn${createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 10)}`;
  return {
    name,
    // Namespaces are DNS labels and names DNS subdomains: '_' appears in neither, so this is unique.
    id: `${namespace}_${name}`,
    bridge,
    subnet: spec.subnet,
    ...(spec.gateway !== undefined ? { gateway: spec.gateway } : {}),
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
  };
}
