// Isolation between bridge networks as Docker's iptables rules make it: traffic from one berth bridge to another
// is dropped in FORWARD, so members of network A cannot reach members of network B (they share only what is
// published on the node); an internal network's bridge forwards nothing in or out at all.
//
//   FORWARD            -j BERTH-ISOLATION-1                   (first, before any accept)
//   BERTH-ISOLATION-1  -i X ! -o X -j BERTH-ISOLATION-2       per bridge X: leaving X for elsewhere…
//   BERTH-ISOLATION-2  -o X -j DROP                           …is dropped when elsewhere is another berth bridge
//   BERTH-ISOLATION-1  -i X ! -o X -j DROP, -o X ! -i X -j DROP   per internal bridge X
//
// Rules are added when a network is first attached on the node and removed with the network.
import { ensureJump, iptables, mustIptables, newChain } from './iptables.js';

const STAGE1 = 'BERTH-ISOLATION-1';
const STAGE2 = 'BERTH-ISOLATION-2';

type Rule = readonly [chain: string, ...spec: string[]];

function rulesFor(bridge: string, internal: boolean): Rule[] {
  const rules: Rule[] = [
    [STAGE1, '-i', bridge, '!', '-o', bridge, '-j', STAGE2],
    [STAGE2, '-o', bridge, '-j', 'DROP'],
  ];
  if (internal)
    rules.unshift(
      [STAGE1, '-i', bridge, '!', '-o', bridge, '-j', 'DROP'],
      [STAGE1, '-o', bridge, '!', '-i', bridge, '-j', 'DROP'],
    );
  return rules;
}

async function ensureChains(): Promise<void> {
  await newChain('filter', STAGE1);
  await newChain('filter', STAGE2);
  await ensureJump('filter', 'FORWARD', STAGE1, 'first');
}

/** Adds `bridge`'s isolation rules (idempotent). */
export async function isolateBridge(bridge: string, internal: boolean): Promise<void> {
  await ensureChains();
  for (const [chain, ...spec] of rulesFor(bridge, internal)) {
    if ((await iptables(['-C', chain, ...spec])).code === 0) continue;
    // Internal drops go first: they must win over the stage-2 jump.
    await mustIptables(
      chain === STAGE1 && spec.at(-1) === 'DROP' ? ['-I', chain, '1', ...spec] : ['-A', chain, ...spec],
    );
  }
}

/** Removes every isolation rule of `bridge` (internal or not; duplicates too); none is fine. */
export async function removeBridgeIsolation(bridge: string): Promise<void> {
  for (const [chain, ...spec] of rulesFor(bridge, true)) {
    // A rule added twice by two agents racing is deleted twice.
    for (let i = 0; i < 8 && (await iptables(['-D', chain, ...spec])).code === 0; i++);
  }
}
