// A bridge network's traffic out masqueraded by one rule per network, as Docker's is, rather than by the CNI bridge
// plugin's ipMasq, which makes a chain per container: 3-4 iptables runs on every start and again on every stop
// (~70 ms each way, measured on this 2-core machine).
//
//   nat POSTROUTING    -j BERTH-MASQUERADE
//   BERTH-MASQUERADE   -s SUBNET ! -o BRIDGE ! -d 224.0.0.0/4 -j MASQUERADE     per masqueraded network
//
// Members' traffic to each other stays on the bridge (-o BRIDGE) and is not rewritten; multicast is left alone, as
// the plugin leaves it.
import { ensureJump, iptables, mustIptables, newChain } from './iptables.js';

const CHAIN = 'BERTH-MASQUERADE';

const ruleFor = (bridge: string, subnet: string): string[] => [
  '-s',
  subnet,
  '!',
  '-o',
  bridge,
  '!',
  '-d',
  '224.0.0.0/4',
  '-j',
  'MASQUERADE',
];

/** Masquerades what leaves `bridge` from `subnet` (idempotent). */
export async function masqueradeNetwork(bridge: string, subnet: string): Promise<void> {
  await newChain('nat', CHAIN);
  await ensureJump('nat', 'POSTROUTING', CHAIN, 'last');
  const rule = ruleFor(bridge, subnet);
  if ((await iptables(['-t', 'nat', '-C', CHAIN, ...rule])).code === 0) return;
  await mustIptables(['-t', 'nat', '-A', CHAIN, ...rule]);
}

/** Removes every masquerade rule naming `bridge`, whatever its subnet (duplicates too); none is fine. */
export async function removeNetworkMasquerade(bridge: string): Promise<void> {
  const listed = await iptables(['-t', 'nat', '-S', CHAIN]);
  if (listed.code !== 0) return; // no chain: nothing was ever masqueraded here
  for (const line of listed.stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    const out = words.indexOf('-o');
    if (words[0] !== '-A' || out < 0 || words[out + 1] !== bridge) continue;
    await iptables(['-t', 'nat', '-D', ...words.slice(1)]);
  }
}
