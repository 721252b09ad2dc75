// Applies the rendered Service port rules to the host's nat table: one iptables-save to see what this agent has
// there, one iptables-restore --noflush to replace it atomically (other tables' and other agents' rules untouched).
import { runCommand } from '../host/run-command.js';
import { ServicePortError } from './errors.js';
import { chainNames, presentRules, renderRules } from './iptables-rules.js';
import { RouteLocalnet } from './route-localnet.js';
import type { PublishedPort } from './service-endpoints.js';

const isLoopbackOrAny = (ip: string): boolean => ip === '0.0.0.0' || ip.startsWith('127.');

export class IptablesServicePorts {
  readonly #tag: string;
  readonly #localnet = new RouteLocalnet();

  /** `tag`: 8 hex digits naming this agent's chains. */
  constructor(tag: string) {
    this.#tag = tag;
  }

  /** This agent's chains and jumps as the nat table holds them now. */
  async present(): Promise<ReturnType<typeof presentRules>> {
    const save = await runCommand('iptables-save', ['-t', 'nat']);
    if (save.code !== 0) throw new ServicePortError('IptablesFailed', `iptables-save -t nat: ${save.stderr.trim()}`);
    return presentRules(save.stdout, chainNames(this.#tag));
  }

  /** Makes the nat table publish exactly `ports` (an empty list removes all of this agent's rules). */
  async apply(ports: readonly PublishedPort[]): Promise<void> {
    const loopback = ports.filter((p) => isLoopbackOrAny(p.hostIP)).flatMap((p) => p.backends.map((b) => b.ip));
    await this.#localnet.ensure(new Set(loopback));
    const present = await this.present();
    if (present.chains.size === 0 && ports.every((p) => p.backends.length === 0)) return;
    const input = renderRules(this.#tag, ports, present);
    const out = await runCommand('iptables-restore', ['--noflush', '-w', '5'], { input });
    if (out.code !== 0)
      throw new ServicePortError('IptablesFailed', `iptables-restore: ${out.stderr.trim()}\n${input}`);
  }
}
