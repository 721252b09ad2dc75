// What container networking leaves on the host, counted: veths, IP leases, NAT rules, network namespace mounts.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { removeBridgeIsolation } from '../../src/network/isolation.js';
import { removeNetworkMasquerade } from '../../src/network/masquerade.js';

const run = promisify(execFile);

export interface HostNetworkState {
  readonly veths: number;
  readonly leases: number;
  readonly natRules: number;
  readonly netnsMounts: number;
}

/**
 * Counts on bridge `bridge`, leases under `ipamDir`, the rules of portmap's per-container chains of network
 * `network` (others' tests run beside this one), mounts under `netnsDir`.
 */
export async function hostNetworkState(
  network: string,
  bridge: string,
  ipamDir: string,
  netnsDir: string,
): Promise<HostNetworkState> {
  const links = (await run('ip', ['-o', 'link', 'show', 'master', bridge]).catch(() => ({ stdout: '' }))).stdout;
  let leases = 0;
  try {
    for (const net of await readdir(ipamDir)) {
      // host-local keeps one file per leased address, plus its lock and last-reserved cursor.
      for (const f of await readdir(path.join(ipamDir, net))) if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) leases++;
    }
  } catch {
    // No leases directory yet.
  }
  const nat = (await run('iptables-save', ['-t', 'nat'])).stdout;
  const lines = nat.split('\n');
  // portmap's jump into a container's chain carries the network's name in its comment.
  const chains = new Set<string>();
  for (const l of lines) {
    const m = /-j (CNI-DN-[0-9a-f]+)/.exec(l);
    if (m?.[1] !== undefined && l.includes(`dnat name: \\"${network}\\"`)) chains.add(m[1]);
  }
  const natRules = lines.filter((l) => [...chains].some((c) => l.includes(c))).length;
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .filter((l) => path.dirname(l.split(' ')[4] ?? '') === netnsDir).length;
  return { veths: links.split('\n').filter((l) => l.trim() !== '').length, leases, natRules, netnsMounts: mounts };
}

/** A bridge name and /24 of 10.213.0.0/16 of its own, so tests running side by side do not share addresses. */
export function testNetwork(): { name: string; bridge: string; subnet: string } {
  const hex = randomBytes(3).toString('hex');
  const third = randomBytes(1)[0] ?? 0;
  return { name: `test-${hex}`, bridge: `bt${hex}`, subnet: `10.213.${third}.0/24` };
}

export async function deleteBridge(bridge: string): Promise<void> {
  await run('ip', ['link', 'del', bridge]).catch(() => undefined);
  await removeBridgeIsolation(bridge);
  await removeNetworkMasquerade(bridge);
}

/** Lines of the masquerade chain that name `bridge`. */
export async function masqueradeRules(bridge: string): Promise<string[]> {
  const nat = (await run('iptables-save', ['-t', 'nat'])).stdout;
  return nat.split('\n').filter((l) => l.startsWith('-A BERTH-MASQUERADE') && l.split(/\s+/).includes(bridge));
}

/** Lines of the isolation chains that name `bridge`. */
export async function isolationRules(bridge: string): Promise<string[]> {
  const filter = (await run('iptables-save', ['-t', 'filter'])).stdout;
  return filter.split('\n').filter((l) => l.includes('BERTH-ISOLATION') && l.split(/\s+/).includes(bridge));
}
