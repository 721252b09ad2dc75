// Which subnet a Network gets, decided from every Network's claim as Docker's IPAM decides it: a subnet named in
// spec must overlap no established one ("Pool overlaps with other one on this address space"), a Network naming
// none gets the first free block of the pools. Pure: the controller feeds it what it read.
import {
  cidrsOverlap,
  findCondition,
  firstFreeSubnet,
  formatIpv4Cidr,
  parseIpv4Cidr,
  type Ipv4Cidr,
  type Network,
  type SubnetPool,
} from '@berth/api';

export type SubnetDecision =
  /** `allocated`: picked from a pool (now or earlier), not named in spec. */
  | { readonly kind: 'assigned'; readonly subnet: string; readonly allocated: boolean }
  | { readonly kind: 'overlap'; readonly subnet: string; readonly other: string }
  | { readonly kind: 'exhausted' };

/** The reason of a Network's Ready condition when it lost an overlap: such a Network holds no address space. */
export const overlapReason = 'SubnetOverlap';

interface Claim {
  readonly cidr: Ipv4Cidr;
  /** Who holds it, as a message names it. */
  readonly holder: string;
  /** Established claims win an overlap: reserved ranges, Ready Networks, and Networks older than the one decided. */
  readonly established: boolean;
}

const keyOf = (n: Network) => `${n.metadata.namespace ?? ''}/${n.metadata.name ?? ''}`;

/** Creation order, then namespace/name: every run of the controller ranks two Networks alike. */
function olderThan(a: Network, b: Network): boolean {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  return ta !== tb ? ta < tb : keyOf(a) < keyOf(b);
}

function claimsFor(net: Network, others: readonly Network[], reserved: readonly string[]): Claim[] {
  const claims: Claim[] = [];
  for (const r of reserved) {
    const cidr = parseIpv4Cidr(r);
    if (cidr !== undefined) claims.push({ cidr, holder: `the nodes' default network (${r})`, established: true });
  }
  for (const o of others) {
    if (o.metadata.uid === net.metadata.uid) continue;
    const ready = findCondition(o.status?.conditions, 'Ready');
    if (ready?.reason === overlapReason) continue;
    const subnet = o.spec?.subnet ?? o.status?.subnet;
    const cidr = subnet === undefined ? undefined : parseIpv4Cidr(subnet);
    if (cidr === undefined) continue;
    claims.push({
      cidr,
      holder: `Network ${keyOf(o)} (${formatIpv4Cidr(cidr)})`,
      established: ready?.status === 'True' || olderThan(o, net),
    });
  }
  return claims;
}

/**
 * The subnet of `net` among `others` (every Network, all namespaces). `members` > 0 pins an allocated subnet that
 * now overlaps: its Containers hold addresses in it.
 */
export function decideSubnet(
  net: Network,
  others: readonly Network[],
  pools: readonly SubnetPool[],
  reserved: readonly string[],
  members: number,
): SubnetDecision {
  const claims = claimsFor(net, others, reserved);
  const clash = (cidr: Ipv4Cidr, among: readonly Claim[]) => among.find((c) => cidrsOverlap(c.cidr, cidr));
  const established = claims.filter((c) => c.established);
  const wanted = net.spec?.subnet;
  if (wanted !== undefined) {
    const cidr = parseIpv4Cidr(wanted);
    // The CRD's rules refuse a malformed subnet; one that slipped through owns nothing.
    if (cidr === undefined) return { kind: 'overlap', subnet: wanted, other: 'nothing: it is not an IPv4 CIDR' };
    const other = clash(cidr, established);
    return other === undefined
      ? { kind: 'assigned', subnet: wanted, allocated: false }
      : { kind: 'overlap', subnet: wanted, other: other.holder };
  }
  const current = net.status?.subnet;
  const held = current === undefined ? undefined : parseIpv4Cidr(current);
  if (current !== undefined && held !== undefined) {
    const other = clash(held, established);
    if (other === undefined) return { kind: 'assigned', subnet: current, allocated: true };
    if (members > 0) return { kind: 'overlap', subnet: current, other: other.holder };
  }
  // A fresh pick avoids every claim, established or not, so it starts no overlap of its own.
  const picked = firstFreeSubnet(
    pools,
    claims.map((c) => c.cidr),
  );
  return picked === undefined ? { kind: 'exhausted' } : { kind: 'assigned', subnet: picked, allocated: true };
}
