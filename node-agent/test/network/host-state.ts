// What container networking leaves on the host, counted: veths, IP leases, NAT rules, network namespace mounts.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);

export interface HostNetworkState {
  readonly veths: number;
  readonly leases: number;
  readonly natRules: number;
  readonly netnsMounts: number;
}

/** Counts on bridge `bridge`, leases under `ipamDir`, portmap's per-container chains, mounts under `netnsDir`. */
export async function hostNetworkState(bridge: string, ipamDir: string, netnsDir: string): Promise<HostNetworkState> {
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
  const natRules = nat.split('\n').filter((l) => /CNI-DN-/.test(l)).length;
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => path.dirname(l.split(' ')[4] ?? '') === netnsDir).length;
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
}
