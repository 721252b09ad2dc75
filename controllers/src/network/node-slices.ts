// Each node's slice of a Network's address space, as Kubernetes' node IPAM gives each Node a podCIDR: a node that
// runs a member gets the lowest free slice and keeps it while the Node exists, so two hosts never hand out one
// address. Also the Network's VXLAN id, unique among Networks. Pure: the controller feeds it what it read.
import { formatIpv4Cidr, type Network, type NetworkStatus, parseIpv4Cidr } from '@berth/api';

export { tunnelAddressAnnotation } from '@berth/api';

export type NodeSlice = NonNullable<NetworkStatus['nodes']>[number];

/**
 * The slice length for a space of `prefix`: a /24 per node when the space holds at least four (as Kubernetes'
 * default node-cidr-mask-size), else a quarter; a space smaller than a /28 is not sliced (one node only).
 */
export function slicePrefix(prefix: number): number {
  if (prefix <= 22) return 24;
  return prefix <= 26 ? prefix + 2 : prefix;
}

/**
 * The slices of `space` (ipRange, else the subnet) for `wanted` nodes (those running a member) and `existing`
 * nodes (those whose Node still stands keep theirs). Nodes left without a slice are absent: their members wait.
 */
export function nodeSlices(
  space: string,
  current: readonly NodeSlice[],
  wanted: readonly string[],
  existing: ReadonlySet<string>,
  tunnelAddressOf: (node: string) => string | undefined,
): NodeSlice[] {
  const cidr = parseIpv4Cidr(space);
  if (cidr === undefined) return [];
  const size = 2 ** (32 - slicePrefix(cidr.prefixLength));
  const count = (cidr.last - cidr.first + 1) / size;
  const taken = new Map<number, string>();
  for (const s of current) {
    const c = parseIpv4Cidr(s.subnet);
    if (c === undefined || c.first < cidr.first || c.last > cidr.last || (c.first - cidr.first) % size !== 0) continue;
    if (!existing.has(s.name) && !wanted.includes(s.name)) continue;
    taken.set((c.first - cidr.first) / size, s.name);
  }
  const named = new Set(taken.values());
  for (const node of [...wanted].sort()) {
    if (named.has(node)) continue;
    let i = 0;
    while (i < count && taken.has(i)) i++;
    if (i === count) break;
    taken.set(i, node);
    named.add(node);
  }
  return [...taken.entries()]
    .sort(([a], [b]) => a - b)
    .map(([i, name]) => {
      const tunnel = tunnelAddressOf(name);
      const subnet = formatIpv4Cidr({
        first: cidr.first + i * size,
        last: cidr.first + (i + 1) * size - 1,
        prefixLength: 32 - Math.log2(size),
      });
      return { name, subnet, ...(tunnel !== undefined ? { tunnelAddress: tunnel } : {}) };
    });
}

/** A VXLAN id no other Network holds: its own, else the first free from one its uid picks (fewer clashes on races). */
export function pickVni(net: Network, others: readonly Network[]): number {
  if (net.status?.vni !== undefined) return net.status.vni;
  const used = new Set(others.filter((o) => o.metadata.uid !== net.metadata.uid).map((o) => o.status?.vni));
  let h = 0;
  for (const ch of net.metadata.uid ?? net.metadata.name ?? '') h = (h * 31 + ch.charCodeAt(0)) % 0xfff000;
  let vni = 4096 + h;
  while (used.has(vni)) vni = vni >= 0xffffff ? 1 : vni + 1;
  return vni;
}
