// The definitions of docker's system-wide commands: info, system df|prune, and the prune and connect commands
// added to `volume` and `network`; each loads its module on first use.

import { Command } from 'commander';
import { collect, namespaceOption } from './options.js';

type Ns = { namespace?: string };
type Prune = Ns & { all?: boolean; volumes?: boolean; force?: boolean };

export function infoCommand(): Command {
  return new Command('info')
    .description(
      'show system-wide information: the server, its Containers and images, each Node as its agent reports it',
    )
    .option('-f, --format <format>', 'json')
    .action(async (opts: { format?: string }) => {
      const { info } = await import('../commands/info.js');
      await info(opts);
    });
}

export function systemCommand(): Command {
  const system = new Command('system').description('manage berth: disk usage, pruning, information');
  system
    .command('df')
    .description(
      "show the disk space the nodes' images and build cache and the namespace's Containers and Volumes take",
    )
    .addOption(namespaceOption())
    .option('-v, --verbose', 'show each image, Container, Volume and build cache entry')
    .option('--format <format>', 'table, json, or a template like "{{.Type}}\\t{{.Size}}" (the summary)')
    .action(async (opts: Ns & { verbose?: boolean; format?: string }) => {
      const { systemDf } = await import('../commands/system.js');
      await systemDf(opts);
    });
  system
    .command('prune')
    .description('remove stopped Containers, unused Networks, unused images (-a) and unused Volumes (--volumes)')
    .addOption(namespaceOption())
    .option('-a, --all', 'remove every image no Container uses, not only failed ones')
    .option('--volumes', 'prune anonymous Volumes too')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(async (opts: Prune) => {
      const { systemPrune } = await import('../commands/system.js');
      await systemPrune(opts);
    });
  system.addCommand(infoCommand());
  return system;
}

/** Adds `prune` to `berth volume`. */
export function addVolumePrune(volume: Command): void {
  volume
    .command('prune')
    .description('remove anonymous Volumes no Container uses (-a: every unused Volume)')
    .addOption(namespaceOption())
    .option('-a, --all', 'all unused Volumes, not only anonymous ones')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(async (opts: Prune) => {
      const { volumePrune } = await import('../commands/system.js');
      await volumePrune(opts);
    });
}

/** Adds `connect` and `disconnect` to `berth network`. */
export function addNetworkAttach(network: Command): void {
  for (const verb of ['connect', 'disconnect'] as const)
    network
      .command(verb)
      .description(
        verb === 'connect'
          ? 'attach a Container to a Network (a running one is restarted: its interfaces are made at start)'
          : 'detach a Container from a Network (a running one is restarted)',
      )
      .argument('<network>', 'the Network')
      .argument('<container>', 'name or id')
      .addOption(namespaceOption())
      .option('--alias <name>', 'an extra DNS name on the network (repeatable; connect)', collect, [])
      .option('--ip <address>', 'a fixed address from its subnet (connect)')
      .action(async (network: string, container: string, opts: Ns & { alias: string[]; ip?: string }) => {
        const { networkAttach } = await import('../commands/network.js');
        await networkAttach(verb, network, container, opts);
      });
}
