// The definition of `berth gitops`: create, list, reconcile now, suspend and resume GitRepositories and Syncs.

import { Command } from 'commander';
import { namespaceOption } from './options.js';

import type { SourceFlags, SyncFlags } from '../commands/gitops.js';

type Ns = { namespace?: string };

export function gitopsCommand(): Command {
  const gitops = new Command('gitops').description('GitOps sources (GitRepository) and Syncs: status and control');
  const create = gitops.command('create').description('create or update a source or a Sync (server-side apply)');
  create
    .command('source')
    .description('a GitRepository the controller fetches every interval')
    .argument('<name>', 'the GitRepository')
    .requiredOption('--url <url>', 'https://, http://, ssh://, git:// or file:// repository')
    .option('--branch <branch>', 'follow a branch (default: main unless another ref is given)')
    .option('--tag <tag>', 'pin a tag')
    .option('--semver <range>', 'the highest tag in a semver range')
    .option('--commit <sha>', 'pin a commit')
    .option('--interval <duration>', 'how often to fetch, a Go duration', '1m')
    .option('--secret-ref <secret>', 'Secret with username/password, bearerToken, or identity and known_hosts')
    .option('--ignore <patterns>', 'gitignore-style patterns of files to leave out')
    .addOption(namespaceOption())
    .action(async (name: string, opts: Ns & SourceFlags) => {
      const { gitopsCreateSource } = await import('../commands/gitops.js');
      await gitopsCreateSource(name, opts);
    });
  create
    .command('sync')
    .description('a Sync that applies a path of a source every interval')
    .argument('<name>', 'the Sync')
    .requiredOption('--source <name>', 'the GitRepository to apply from')
    .option('--path <path>', 'the directory in the repository', './')
    .option('--interval <duration>', 'how often to apply (and revert drift), a Go duration', '5m')
    .option('--prune', 'delete what this Sync applied once it leaves the repository')
    .option('--wait', 'be Ready only once what was applied is healthy')
    .option('--force', 'recreate objects whose immutable fields changed')
    .option('--target-namespace <ns>', 'put every namespaced object in this namespace')
    .option('--depends-on <sync...>', 'Syncs that must be Ready first')
    .addOption(namespaceOption())
    .action(async (name: string, opts: Ns & SyncFlags) => {
      const { gitopsCreateSync } = await import('../commands/gitops.js');
      await gitopsCreateSync(name, opts);
    });
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
