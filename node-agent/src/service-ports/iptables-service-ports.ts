// Applies the rendered Service port rules to the host's nat table: one iptables-save to see what this agent has
// there, one iptables-restore --noflush to replace it atomically (other tables' and other agents' rules untouched);
// then the UDP conntrack entries of backends that went are cleared (conntrack.ts). Each published port is held
// with a socket meanwhile (port-holder.ts), so nothing else on the host binds it.
import { runCommand } from '../host/run-command.js';
import { clearUdpFlow, staleUdpFlows, type StaleFlow } from './conntrack.js';
import { ServicePortError } from './errors.js';
import { chainNames, presentRules, renderRules } from './iptables-rules.js';
import { PortHolder } from './port-holder.js';
import { RouteLocalnet } from './route-localnet.js';
import type { PublishedPort } from './service-endpoints.js';

const isLoopbackOrAny = (ip: string): boolean => ip === '0.0.0.0' || ip.startsWith('127.');

export class IptablesServicePorts {
  readonly #tag: string;
  readonly #localnet = new RouteLocalnet();
  readonly #holder = new PortHolder();
  /** The chains of the last rendering applied: what need not be written again. */
  #applied: ReadonlyMap<string, string> = new Map();
  /** The ports of the last apply, to see which UDP backends a new one drops. */
  #ports: readonly PublishedPort[] = [];
  /** UDP flows still to clear (a failed conntrack is retried by the next apply). */
  #stale: StaleFlow[] = [];

  /** `tag`: 8 hex digits naming this agent's chains. */
  constructor(tag: string) {
    this.#tag = tag;
  }

  /** Lets go of the sockets holding the published ports (the agent is closing; its rules may stay). */
  releasePorts(): void {
    this.#holder.close();
  }

  /** This agent's chains and jumps as the nat table holds them now. */
  async present(): Promise<ReturnType<typeof presentRules>> {
    const save = await runCommand('iptables-save', ['-t', 'nat']);
    if (save.code !== 0) throw new ServicePortError('IptablesFailed', `iptables-save -t nat: ${save.stderr.trim()}`);
    return presentRules(save.stdout, chainNames(this.#tag));
  }

  /** What the last apply left: its chains, and the three hook jumps it makes sure of. */
  #remembered(): ReturnType<typeof presentRules> {
    const names = chainNames(this.#tag);
    return {
      chains: new Set(this.#applied.keys()),
      jumps: [
        `-A PREROUTING -j ${names.ports}`,
        `-A OUTPUT -j ${names.ports}`,
        `-A POSTROUTING -j ${names.masquerade}`,
      ],
    };
  }

  /**
   * Makes the nat table publish exactly `ports` (an empty list removes all of this agent's rules). `full` rewrites
   * every chain (a resync repairing what someone else changed); otherwise unchanged chains are left alone.
   */
  async apply(ports: readonly PublishedPort[], options: { readonly full?: boolean } = {}): Promise<void> {
    const taken = await this.#holder.hold(ports);
    const loopback = ports.filter((p) => isLoopbackOrAny(p.hostIP)).flatMap((p) => p.backends.map((b) => b.ip));
    await this.#localnet.ensure(new Set(loopback));
    // Between full syncs the table holds what the last apply wrote (a big nat table makes iptables-save cost as
    // much as the restore): only a full sync, the first one included, reads it back.
    // Removing jumps needs their exact words: that too reads the table. A failed apply forgets, so the retry reads it.
    const remembered = options.full !== true && this.#applied.size > 0 && ports.some((p) => p.backends.length > 0);
    const present = remembered ? this.#remembered() : await this.present();
    if (present.chains.size === 0 && ports.every((p) => p.backends.length === 0)) return;
    const { input, chains } = renderRules(this.#tag, ports, present, options.full === true ? new Map() : this.#applied);
    // Until it is known to have applied, nothing counts as written.
    this.#applied = new Map();
    const out = await runCommand('iptables-restore', ['--noflush', '-w', '5'], { input });
    if (out.code !== 0)
      // iptables-restore names the failing line by number: the first lines of the input are what makes it readable.
      throw new ServicePortError(
        'IptablesFailed',
        `iptables-restore: ${out.stderr.trim()}\n${input.split('\n').slice(0, 40).join('\n')}`,
      );
    this.#applied = chains;
    // Cleared only once the rules no longer DNAT to them: else a packet in between would make the entry again.
    this.#stale.push(...staleUdpFlows(this.#ports, ports));
    this.#ports = ports;
    const failed: StaleFlow[] = [];
    let error: unknown;
    for (const flow of this.#stale)
      await clearUdpFlow(flow).catch((err: unknown) => {
        failed.push(flow);
        error = err;
      });
    this.#stale = failed;
    if (error !== undefined) throw error;
    // Thrown after the rules are in, so the Service is published anyway and the next sync tries to hold it again.
    if (taken.length > 0)
      throw new ServicePortError('PortInUse', `published ports already bound by another process: ${taken.join(', ')}`);
  }
}
