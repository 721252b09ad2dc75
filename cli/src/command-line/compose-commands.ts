// `berth compose logs|restart|pull|config|convert`, added to the `compose` command main.ts defines (its -f, -p and
// -n apply to each); each loads its module on first use.

import type { Command } from 'commander';

type ComposeFlags = { file?: string; projectName?: string; namespace?: string };

export function addComposeCommands(compose: Command): void {
  const flags = () => compose.opts<ComposeFlags>();
  compose
    .command('logs')
    .description("the services' logs, each line behind its container's name (all services unless named)")
    .argument('[service...]', 'only these services')
    .option('-f, --follow', 'keep streaming, containers started later and restarted ones too, until Ctrl-C')
    .option('--tail <lines>', 'only the last N lines of each container')
    .option('-t, --timestamps', 'show timestamps')
    .option('--no-log-prefix', 'leave the container names out')
    .action(
      async (
        services: string[],
        opts: { follow?: boolean; tail?: string; timestamps?: boolean; logPrefix: boolean },
      ) => {
        const { composeLogs } = await import('../commands/compose.js');
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        await composeLogs(services, { ...flags(), ...opts, signal: stop.signal });
        process.exit(0);
      },
    );
  compose
    .command('restart')
    .description("stop and start the project's containers again (all services unless named)")
    .argument('[service...]', 'only these services')
    .option('-t, --timeout <seconds>', 'seconds to wait before killing each')
    .action(async (services: string[], opts: { timeout?: string }) => {
      const { composeRestart } = await import('../commands/compose.js');
      await composeRestart(services, { ...flags(), ...opts });
    });
  compose
    .command('pull')
    .description("record the services' images as Image objects and wait for a node to pull them")
    .argument('[service...]', 'only these services')
    .option('-q, --quiet', 'print nothing')
    .action(async (services: string[], opts: { quiet?: boolean }) => {
      const { composePull } = await import('../commands/compose.js');
      await composePull(services, { ...flags(), ...opts });
    });
  compose
    .command('config')
    .description('print the normalized Compose model (short forms written long, names resolved)')
    .option('--format <format>', 'yaml or json', 'yaml')
    .option('--services', 'print the service names, one a line')
    .option('--volumes', 'print the volume names, one a line')
    .option('-q, --quiet', 'only check the file')
    .action(async (opts: { format?: string; services?: boolean; volumes?: boolean; quiet?: boolean }) => {
      const { composeConfig } = await import('../commands/compose.js');
      await composeConfig({ ...flags(), ...opts });
    });
  compose
    .command('convert')
    .description('print the berth objects the file becomes, as YAML (berth compose convert | kubectl apply -f -)')
    .option('--format <format>', 'yaml or json (a v1 List)', 'yaml')
    .action(async (opts: { format?: string }) => {
      const { composeConvert } = await import('../commands/compose.js');
      await composeConvert({ ...flags(), ...opts });
    });
}
