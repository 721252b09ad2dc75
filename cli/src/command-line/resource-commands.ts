// The definitions of kubectl's object commands for users without kubectl: apply (server-side), get, delete and
// describe, over every kind the server's discovery lists.

import { Command } from 'commander';
import { collect, namespaceOption } from './options.js';

type Ns = { namespace?: string };

function applyCommand(): Command {
  return new Command('apply')
    .description('create or update objects from files by server-side apply (as kubectl apply --server-side)')
    .addOption(namespaceOption())
    .option(
      '-f, --filename <file>',
      'a YAML or JSON file, a directory of them, or - for stdin (repeatable)',
      collect,
      [],
    )
    .option('--force-conflicts', 'take over fields another manager owns')
    .option('--field-manager <name>', 'the manager the applied fields are recorded under', 'berth-cli')
    .action(async (opts: Ns & { filename: string[]; forceConflicts?: boolean; fieldManager: string }) => {
      const { apply } = await import('../commands/apply.js');
      await apply(opts);
    });
}

function getCommand(): Command {
  return new Command('get')
    .description("list objects of a kind (or the named ones) in the server's columns: berth get KIND [NAME...]")
    .argument('<kind>', 'a kind, plural or short name: containers, ctr, volume, nodes, configmaps, …')
    .argument('[names...]', 'only these objects')
    .addOption(namespaceOption())
    .option('-o, --output <format>', 'yaml, json, wide or name')
    .option('-A, --all-namespaces', 'every namespace')
    .option('-l, --selector <selector>', 'only objects with these labels, like app=web')
    .action(
      async (
        kind: string,
        names: string[],
        opts: Ns & { output?: string; allNamespaces?: boolean; selector?: string },
      ) => {
        const { get } = await import('../commands/get.js');
        await get(kind, names, opts);
      },
    );
}

function deleteCommand(): Command {
  return new Command('delete')
    .description('delete objects and wait until they are gone: berth delete KIND NAME... | -f FILE')
    .argument('[args...]', 'KIND NAME...')
    .addOption(namespaceOption())
    .option('-f, --filename <file>', 'delete the objects of this file, directory or - (repeatable)', collect, [])
    .option('--no-wait', 'return once the deletes are accepted')
    .option('--ignore-not-found', 'no error for an object that does not exist')
    .action(async (args: string[], opts: Ns & { filename: string[]; wait: boolean; ignoreNotFound?: boolean }) => {
      const { deleteObjects } = await import('../commands/delete.js');
      await deleteObjects(args, opts);
    });
}

function describeCommand(): Command {
  return new Command('describe')
    .description('show objects in detail, with their Events: berth describe KIND NAME...')
    .argument('<kind>', 'a kind, plural or short name')
    .argument('<names...>', 'the objects')
    .addOption(namespaceOption())
    .action(async (kind: string, names: string[], opts: Ns) => {
      const { describe } = await import('../commands/describe.js');
      await describe(kind, names, opts);
    });
}

export const resourceCommands = (): Command[] => [applyCommand(), getCommand(), deleteCommand(), describeCommand()];
