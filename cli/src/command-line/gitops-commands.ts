// The definition of `berth gitops`: list, reconcile now, suspend and resume GitRepositories and Syncs.

import { Command } from 'commander';
import { namespaceOption } from './options.js';

type Ns = { namespace?: string };

export function gitopsCommand(): Command {
  const gitops = new Command('gitops').description('GitOps sources (GitRepository) and Syncs: status and control');
  gitops
    .command('get')
    .description('list sources and Syncs with their revision, readiness and health')
    .argument('[kind]', 'sources or syncs (default: both)')
    .addOption(namespaceOption())
    .option('--format <format>', 'table, json, or a template like "{{.Name}} {{.Revision}}"')
    .action(async (kind: string | undefined, opts: Ns & { format?: string }) => {
      const { gitopsGet } = await import('../commands/gitops.js');
      await gitopsGet(kind, opts);
    });
  gitops
    .command('reconcile')
    .description('fetch or apply now instead of at the next interval, and wait for the outcome')
    .argument('<kind>', 'source or sync')
    .argument('<name>', 'the object')
    .addOption(namespaceOption())
    .option('--no-wait', 'return once the request is made')
    .option('--timeout <seconds>', 'how long to wait for the controller', '60')
    .action(async (kind: string, name: string, opts: Ns & { wait: boolean; timeout: string }) => {
      const { gitopsReconcile } = await import('../commands/gitops.js');
      await gitopsReconcile(kind, name, opts);
    });
  for (const [verb, on] of [
    ['suspend', true],
    ['resume', false],
  ] as const)
    gitops
      .command(verb)
      .description(on ? 'stop fetching or applying; what is applied stays' : 'fetch or apply again, starting now')
      .argument('<kind>', 'source or sync')
      .argument('<name...>', 'the objects')
      .addOption(namespaceOption())
      .action(async (kind: string, names: string[], opts: Ns) => {
        const { gitopsSuspend } = await import('../commands/gitops.js');
        await gitopsSuspend(kind, names, on, opts);
      });
  return gitops;
}
