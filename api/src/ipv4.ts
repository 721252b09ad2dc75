// IPv4 addresses and CIDRs as numbers, for Networks: parsing, overlap, default gateways, picking a free subnet
// from a pool (Docker's default-address-pools: a base CIDR cut into subnets of one size).

/** An IPv4 CIDR with its host bits zero. */
export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number. */
  readonly first: number;
  /** The broadcast address. */
  readonly last: number;
  readonly prefixLength: number;
}

/** A pool subnets are cut from: `base` in blocks of `/size`. */
export interface SubnetPool {
  readonly base: string;
  readonly size: number;
}

/** The address as a number, or undefined when `ip` is not a dotted quad. */
export function parseIpv4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => String(Math.floor(n / 2 ** s) % 256)).join('.');
}

/** The CIDR, or undefined when it is not IPv4 or has host bits set. */
export function parseIpv4Cidr(cidr: string): Ipv4Cidr | undefined {
  const [ip = '', bits = '', ...rest] = cidr.split('/');
  const base = parseIpv4(ip);
  if (base === undefined || rest.length > 0 || !/^\d{1,2}$/.test(bits) || Number(bits) > 32) return undefined;
  const size = 2 ** (32 - Number(bits));
  if (base % size !== 0) return undefined;
  return { first: base, last: base + size - 1, prefixLength: Number(bits) };
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.first)}/${c.prefixLength}`;
}

/** Two CIDRs share an address (either contains the other). */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** The gateway a bridge carries when none is named: the subnet's first host address (host-local's default too). */
export function defaultGateway(subnet: string): string | undefined {
  const c = parseIpv4Cidr(subnet);
  return c === undefined ? undefined : formatIpv4(c.first + 1);
}

/** The first `/size` block of the pools that overlaps none of `taken`, or undefined when the pools are exhausted. */
export function firstFreeSubnet(pools: readonly SubnetPool[], taken: readonly Ipv4Cidr[]): string | undefined {
  for (const pool of pools) {
    const base = parseIpv4Cidr(pool.base);
    if (base === undefined || pool.size < base.prefixLength || pool.size > 30) continue;
    const block = 2 ** (32 - pool.size);
    for (let first = base.first; first + block - 1 <= base.last; ) {
      const candidate: Ipv4Cidr = { first, last: first + block - 1, prefixLength: pool.size };
      const clash = taken.find((t) => cidrsOverlap(t, candidate));
      if (clash === undefined) return formatIpv4Cidr(candidate);
      // Skip past the clash: a big taken range is stepped over at once, not block by block.
      first = Math.max(first + block, Math.ceil((clash.last + 1) / block) * block);
    }
  }
  return undefined;
}
