// Clears the kernel's UDP connection-tracking entries that still lead to a backend a published port no longer
// has, as kube-proxy does: a UDP "connection" is a conntrack entry that keeps its DNAT for as long as packets keep
// coming (a client resending to a DNS port never times out), so without this a client would keep sending to a
// replica that is gone. TCP needs nothing: a new connection picks again, an old one ends with its backend.
import { runCommand } from '../host/run-command.js';
import { ServicePortError } from './errors.js';
import type { PublishedPort } from './service-endpoints.js';

/** A UDP flow to clear: packets to `hostIP:port` (0.0.0.0: any address) DNATed to `backendIP`. */
export interface StaleFlow {
  readonly hostIP: string;
  readonly port: number;
  readonly backendIP: string;
}

const flowKey = (f: StaleFlow) => `${f.hostIP}:${f.port}>${f.backendIP}`;

/** The UDP backends of `before` that `after` no longer has at the same port. */
export function staleUdpFlows(before: readonly PublishedPort[], after: readonly PublishedPort[]): StaleFlow[] {
  const now = new Map(after.map((p) => [p.key, new Set(p.backends.map((b) => b.ip))]));
  const out = new Map<string, StaleFlow>();
  for (const p of before) {
    if (p.protocol !== 'udp') continue;
    const kept = now.get(p.key);
    for (const b of p.backends) {
      if (kept?.has(b.ip) === true) continue;
      const flow = { hostIP: p.hostIP, port: p.port, backendIP: b.ip };
      out.set(flowKey(flow), flow);
    }
  }
  return [...out.values()];
}

/** Deletes the conntrack entries of `flow` (`conntrack -D`, from Debian's conntrack); none there is fine. */
export async function clearUdpFlow(flow: StaleFlow): Promise<void> {
  const args = ['-D', '-p', 'udp', '--orig-port-dst', String(flow.port), '--reply-src', flow.backendIP];
  if (flow.hostIP !== '0.0.0.0') args.push('--orig-dst', flow.hostIP);
  const out = await runCommand('conntrack', args).catch((err: unknown) => {
    throw new ServicePortError(
      'ConntrackFailed',
      `conntrack could not run (Debian package conntrack): ${String(err)}`,
      {
        cause: err,
      },
    );
  });
  // Exit 1 with "0 flow entries have been deleted" is conntrack's word for "nothing matched".
  if (out.code === 0 || / 0 flow entries have been deleted/.test(out.stderr)) return;
  throw new ServicePortError('ConntrackFailed', `conntrack ${args.join(' ')}: ${out.stderr.trim()}`);
}
