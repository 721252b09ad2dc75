// The definitions of docker's container commands beyond run/ps/stop/start/rm (kill, wait, restart, rename, port,
// attach, cp); each loads its module on first use, as main.ts's commands do.

import { Command } from 'commander';
import { namespaceOption } from './options.js';

type Ns = { namespace?: string };

export function killCommand(): Command {
  return new Command('kill')
    .description('send a signal to running Containers (KILL by default, which also keeps them stopped)')
    .argument('<container...>', 'names or ids')
    .addOption(namespaceOption())
    .option('-s, --signal <signal>', 'the signal, like HUP, SIGUSR1 or 9', 'KILL')
    .action(async (refs: string[], opts: Ns & { signal: string }) => {
      const { kill } = await import('../commands/kill.js');
      await kill(refs, opts);
    });
}

export function waitCommand(): Command {
  return new Command('wait')
    .description('wait until Containers stop, then print their exit codes')
    .argument('<container...>', 'names or ids')
    .addOption(namespaceOption())
    .action(async (refs: string[], opts: Ns) => {
      const { wait } = await import('../commands/wait.js');
      await wait(refs, opts);
    });
}

export function restartCommand(): Command {
  return new Command('restart')
    .description('stop, then start Containers again (their writable layers are kept)')
    .argument('<container...>', 'names or ids')
    .addOption(namespaceOption())
    .option('-t, --time <seconds>', 'seconds to wait before killing it (default: its --stop-timeout)')
    .action(async (refs: string[], opts: Ns & { time?: string }) => {
      const { restart } = await import('../commands/start-stop.js');
      await restart(refs, opts);
    });
}

export function renameCommand(): Command {
  return new Command('rename')
    .description('give a Container a new name (a new Container with the same spec: API names cannot change)')
    .argument('<container>', 'name or id')
    .argument('<new-name>', 'the new name')
    .addOption(namespaceOption())
    .action(async (ref: string, newName: string, opts: Ns) => {
      const { rename } = await import('../commands/rename.js');
      await rename(ref, newName, opts);
    });
}

export function portCommand(): Command {
  return new Command('port')
    .description("list a Container's published ports, or the host address of one")
    .argument('<container>', 'name or id')
    .argument('[port]', 'PRIVATE_PORT[/PROTO]')
    .addOption(namespaceOption())
    .action(async (ref: string, wanted: string | undefined, opts: Ns) => {
      const { port } = await import('../commands/port.js');
      await port(ref, wanted, opts);
    });
}

export function attachCommand(): Command {
  return new Command('attach')
    .description("attach the terminal to a running Container's own input and output")
    .argument('<container>', 'name or id')
    .addOption(namespaceOption())
    .option('--no-stdin', 'do not attach stdin')
    .action(async (ref: string, opts: Ns & { stdin: boolean }) => {
      const { attach } = await import('../commands/attach.js');
      process.exit(await attach(ref, opts));
    });
}

export function cpCommand(): Command {
  return new Command('cp')
    .description('copy files between a Container and this machine: berth cp NAME:PATH DEST | berth cp SRC NAME:PATH')
    .argument('<source>', 'NAME:PATH or a local path')
    .argument('<destination>', 'a local path or NAME:PATH')
    .addOption(namespaceOption())
    .action(async (source: string, destination: string, opts: Ns) => {
      const { cp } = await import('../commands/cp.js');
      await cp(source, destination, opts);
    });
}
