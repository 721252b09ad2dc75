// The definitions of the client's own commands: contexts over the kubeconfig, registry login, shell completion.

import { Command } from 'commander';
import { namespaceOption } from './options.js';

export function contextCommand(): Command {
  const context = new Command('context').description('choose which berth this client talks to (kubeconfig contexts)');
  context
    .command('ls')
    .alias('list')
    .description('list the contexts; the current one is marked *')
    .option('-q, --quiet', 'only print names')
    .option('--format <format>', 'table, json, or a template like "{{.Name}}"')
    .action(async (opts: { quiet?: boolean; format?: string }) => {
      const { contextLs } = await import('../commands/context.js');
      await contextLs(opts);
    });
  context
    .command('use')
    .description('make a context the current one (for kubectl too)')
    .argument('<name>', 'the context')
    .action(async (name: string) => {
      const { contextUse } = await import('../commands/context.js');
      await contextUse(name);
    });
  context
    .command('create')
    .description("add a context: another context's cluster and user (or --cluster and --user), maybe another namespace")
    .argument('<name>', 'the new context')
    .option('--from <context>', 'copy cluster and user from this context (default: the current one)')
    .option('-n, --namespace <namespace>', "the context's namespace")
    .option('--cluster <name>', 'a cluster of the kubeconfig')
    .option('--user <name>', 'a user of the kubeconfig')
    .action(async (name: string, opts: { from?: string; namespace?: string; cluster?: string; user?: string }) => {
      const { contextCreate } = await import('../commands/context.js');
      await contextCreate(name, opts);
    });
  context
    .command('rm')
    .alias('remove')
    .description('remove contexts (not the current one)')
    .argument('<name...>', 'the contexts')
    .action(async (names: string[]) => {
      const { contextRm } = await import('../commands/context.js');
      await contextRm(names);
    });
  return context;
}

export function loginCommand(): Command {
  return new Command('login')
    .description("store a registry's credentials in the namespace's pull Secret (berth-registry-login)")
    .argument('[server]', 'the registry, like 127.0.0.1:5000 (default: Docker Hub)')
    .addOption(namespaceOption())
    .option('-u, --username <name>', 'user name')
    .option('-p, --password <password>', 'password or token (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (server: string | undefined, opts: Record<string, unknown>) => {
      const { login } = await import('../commands/login.js');
      await login(server, opts);
    });
}

export function logoutCommand(): Command {
  return new Command('logout')
    .description("remove a registry's credentials from the pull Secret")
    .argument('[server]', 'the registry (default: Docker Hub)')
    .addOption(namespaceOption())
    .action(async (server: string | undefined, opts: { namespace?: string }) => {
      const { logout } = await import('../commands/login.js');
      await logout(server, opts);
    });
}

export function completionCommand(program: Command): Command {
  return new Command('completion')
    .description('print a shell completion script: eval "$(berth completion bash)" (or zsh)')
    .argument('<shell>', 'bash or zsh')
    .action(async (shell: string) => {
      const { completionScript } = await import('../commands/completion.js');
      process.stdout.write(completionScript(program, shell));
    });
}
