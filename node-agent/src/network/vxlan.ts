// A network's VXLAN port, which makes one Ethernet segment of its bridges on several nodes (as a Swarm overlay
// does): a vxlan device per network enslaved to its bridge, with one all-zeros FDB entry per other node so that
// broadcasts (ARP) reach them all; unicast MACs are learnt from what arrives. Members on different nodes are on-link,
// so routing, masquerade and the isolation rules between bridges stay as on one node.
import { runCommand } from '../host/run-command.js';
import { NetworkError } from './errors.js';
import type { NetworkTunnel } from './network.js';

/** The device of VXLAN id `vni` (at most 15 characters). */
export const tunnelDeviceName = (vni: number) => `bvx${vni.toString(16)}`;

/** IANA's VXLAN port, as Linux's and Docker's overlays use. */
const vxlanPort = '4789';
const flood = '00:00:00:00:00:00';

async function must(cmd: string, args: string[]): Promise<string> {
  const out = await runCommand(cmd, args);
  if (out.code !== 0)
    throw new NetworkError('NetworkPluginFailed', `${cmd} ${args.join(' ')} failed: ${out.stderr.trim()}`);
  return out.stdout;
}

/** Makes (or updates) `bridge`'s VXLAN port for `tunnel`: the device, its bridge and one flood entry per peer. */
export async function ensureTunnel(bridge: string, tunnel: NetworkTunnel, mtu: number | undefined): Promise<string> {
  const dev = tunnelDeviceName(tunnel.vni);
  const shown = await runCommand('ip', ['-o', 'link', 'show', 'dev', dev]);
  if (shown.code !== 0) {
    const add = await runCommand('ip', [
      'link',
      'add',
      dev,
      'type',
      'vxlan',
      'id',
      String(tunnel.vni),
      'local',
      tunnel.local,
      'dstport',
      vxlanPort,
    ]);
    // Another agent's call raced this one: the device is there all the same.
    if (add.code !== 0 && !/File exists/i.test(add.stderr))
      throw new NetworkError('NetworkPluginFailed', `creating VXLAN device ${dev} failed: ${add.stderr.trim()}`);
  }
  if (shown.code !== 0 || !shown.stdout.includes(`master ${bridge} `)) {
    await must('ip', ['link', 'set', dev, ...(mtu !== undefined ? ['mtu', String(mtu)] : []), 'master', bridge, 'up']);
  }
  const fdb = await must('bridge', ['fdb', 'show', 'dev', dev]);
  const present = new Set<string>();
  for (const line of fdb.split('\n')) {
    const m = new RegExp(`^${flood} dst (\\S+)`).exec(line.trim());
    if (m?.[1] !== undefined) present.add(m[1]);
  }
  for (const peer of tunnel.peers)
    if (!present.has(peer)) await must('bridge', ['fdb', 'append', flood, 'dev', dev, 'dst', peer]);
  for (const gone of present)
    if (!tunnel.peers.includes(gone)) await runCommand('bridge', ['fdb', 'del', flood, 'dev', dev, 'dst', gone]);
  return dev;
}

/** Removes a VXLAN device; none is fine. */
export async function removeTunnel(dev: string): Promise<void> {
  const out = await runCommand('ip', ['link', 'del', dev]);
  if (out.code !== 0 && !/Cannot find device/i.test(out.stderr))
    throw new NetworkError('NetworkPluginFailed', `deleting VXLAN device ${dev} failed: ${out.stderr.trim()}`);
}
