// The nat table rules that publish Service ports, rendered as one iptables-restore transaction, as kube-proxy's
// iptables mode lays them out: a chain of this agent's ports (jumped to from PREROUTING and OUTPUT for local
// destinations, so the host's own loopback connections are caught too), a chain per port choosing a backend with
// `statistic --mode random` (1/n, then 1/(n-1), … — an even spread of new connections), a chain per backend with
// the DNAT, and a POSTROUTING chain masquerading what was DNATed (loopback sources cannot leave lo; a replica on
// the client's own bridge would answer it directly). Every chain carries the agent's tag: agents sharing a host
// (tests, two nodes on one machine) each own theirs. Pure.
import { createHash } from 'node:crypto';
import type { PublishedPort } from './service-endpoints.js';

export interface ChainNames {
  /** Service ports of this agent, from PREROUTING and OUTPUT. */
  readonly ports: string;
  /** Masquerade of connections to them, from POSTROUTING. */
  readonly masquerade: string;
  /** Whether `chain` is one of this agent's (any of the above, a port's or a backend's). */
  owns(chain: string): boolean;
  port(key: string): string;
  backend(key: string, ip: string, port: number): string;
}

const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 10);

/** `tag`: 8 hex digits naming the agent (28 characters is the limit of a chain name). */
export function chainNames(tag: string): ChainNames {
  const ports = `BERTH-SP-${tag}`;
  const masquerade = `BERTH-SPM-${tag}`;
  const perPort = `BSP-${tag}-`;
  const perBackend = `BSE-${tag}-`;
  return {
    ports,
    masquerade,
    owns: (chain) =>
      chain === ports || chain === masquerade || chain.startsWith(perPort) || chain.startsWith(perBackend),
    port: (key) => `${perPort}${hash(key)}`,
    backend: (key, ip, port) => `${perBackend}${hash(`${key} ${ip}:${port}`)}`,
  };
}

/** What the nat table holds of this agent's now (from iptables-save). */
export interface PresentRules {
  readonly chains: ReadonlySet<string>;
  /** The rules of PREROUTING, OUTPUT and POSTROUTING that jump to this agent's chains, as iptables-save prints them. */
  readonly jumps: readonly string[];
}

/** Reads this agent's chains and jumps out of `iptables-save -t nat` output. */
export function presentRules(save: string, names: ChainNames): PresentRules {
  const chains = new Set<string>();
  const jumps: string[] = [];
  for (const line of save.split('\n')) {
    const declared = /^:(\S+) /.exec(line);
    if (declared?.[1] !== undefined && names.owns(declared[1])) chains.add(declared[1]);
    const jump = /^-A (PREROUTING|OUTPUT|POSTROUTING) .*-j (\S+)$/.exec(line);
    if (jump?.[2] !== undefined && names.owns(jump[2])) jumps.push(line);
  }
  return { chains, jumps };
}

const hookJumps = (names: ChainNames, tag: string): Array<{ chain: string; rule: string }> => [
  {
    chain: 'PREROUTING',
    rule: `-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "berth service ports ${tag}" -j ${names.ports}`,
  },
  {
    chain: 'OUTPUT',
    rule: `-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "berth service ports ${tag}" -j ${names.ports}`,
  },
  {
    chain: 'POSTROUTING',
    rule: `-A POSTROUTING -m comment --comment "berth service ports ${tag}" -j ${names.masquerade}`,
  },
];

const matchDestination = (hostIP: string): string => (hostIP === '0.0.0.0' ? '' : ` -d ${hostIP}/32`);

/** A rendering: the iptables-restore input, and every chain of the desired state with its rules (for the next one). */
export interface RenderedRules {
  readonly input: string;
  readonly chains: ReadonlyMap<string, string>;
}

/**
 * The iptables-restore input (for `--noflush`) turning `present` into `ports`: this agent's chains declared (which
 * empties them) and refilled, the hook jumps added when missing, chains no longer used deleted. A chain whose rules
 * are the same as in `previous` (the last rendering applied) and that is still there is left alone, as kube-proxy
 * skips unchanged Services: a change of one port rewrites that port's chain and the two top chains only. With no
 * port that has a backend, everything of this agent's goes, jumps included.
 */
export function renderRules(
  tag: string,
  ports: readonly PublishedPort[],
  present: PresentRules,
  previous: ReadonlyMap<string, string> = new Map(),
): RenderedRules {
  const names = chainNames(tag);
  const live = ports.filter((p) => p.backends.length > 0);
  const lines: string[] = ['*nat'];
  if (live.length === 0) {
    for (const rule of present.jumps) lines.push(rule.replace(/^-A /, '-D '));
    for (const chain of present.chains) lines.push(`:${chain} - [0:0]`);
    for (const chain of present.chains) lines.push(`-X ${chain}`);
    lines.push('COMMIT', '');
    return { input: lines.join('\n'), chains: new Map() };
  }
  const chains = new Map<string, string[]>([
    [names.ports, []],
    [names.masquerade, []],
  ]);
  const add = (chain: string, rule: string) => {
    const list = chains.get(chain);
    if (list === undefined) chains.set(chain, [rule]);
    else list.push(rule);
  };
  for (const p of live) {
    const portChain = names.port(p.key);
    const proto = `-p ${p.protocol} -m ${p.protocol}`;
    add(
      names.ports,
      `-A ${names.ports}${matchDestination(p.hostIP)} ${proto} --dport ${p.port} -m comment --comment "${p.key}" -j ${portChain}`,
    );
    const n = p.backends.length;
    p.backends.forEach((b, i) => {
      const backendChain = names.backend(p.key, b.ip, b.port);
      // The i-th of n takes 1/(n-i) of what the earlier ones left: each gets 1/n of new connections.
      const pick = i === n - 1 ? '' : ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}`;
      add(portChain, `-A ${portChain} -m comment --comment "${b.container}"${pick} -j ${backendChain}`);
      add(backendChain, `-A ${backendChain} ${proto} -j DNAT --to-destination ${b.ip}:${b.port}`);
    });
    const origDst = p.hostIP === '0.0.0.0' ? '' : ` --ctorigdst ${p.hostIP}/32`;
    add(
      names.masquerade,
      `-A ${names.masquerade} -p ${p.protocol} -m conntrack --ctstate DNAT${origDst} --ctorigdstport ${p.port} -m comment --comment "${p.key}" -j MASQUERADE`,
    );
  }
  const rendered = new Map<string, string>();
  const rules: string[] = [];
  for (const [chain, list] of chains) {
    const content = list.join('\n');
    rendered.set(chain, content);
    if (present.chains.has(chain) && previous.get(chain) === content) continue;
    lines.push(`:${chain} - [0:0]`);
    rules.push(...list);
  }
  for (const { chain, rule } of hookJumps(names, tag)) {
    const target = chain === 'POSTROUTING' ? names.masquerade : names.ports;
    if (!present.jumps.some((j) => j.startsWith(`-A ${chain} `) && j.endsWith(`-j ${target}`))) rules.push(rule);
  }
  lines.push(...rules);
  // Chains of ports and backends gone since: emptied by their declaration, then deleted (nothing jumps to them now).
  const stale = [...present.chains].filter((c) => !chains.has(c));
  for (const chain of stale) lines.push(`:${chain} - [0:0]`);
  for (const chain of stale) lines.push(`-X ${chain}`);
  lines.push('COMMIT', '');
  return { input: lines.join('\n'), chains: rendered };
}
