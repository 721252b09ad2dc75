// The definitions of the image commands (build, tag, push, commit, rmi); each loads its module on first use, so
// `berth --help` and the container commands do not load the build, push and registry code.

import { type Command, Option } from 'commander';
import type { BuildOptions } from '../commands/build.js';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build an image from a Dockerfile on a node: the context is uploaded, progress followed')
    .argument('<dir>', 'the build context')
    .requiredOption('-t, --tag <name>', 'the image name, NAME[:TAG] (with a registry host to push there)')
    .option('-f, --file <path>', 'the Dockerfile, relative to the context', 'Dockerfile')
    .option('--build-arg <k=v>', 'a value for an ARG (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--target <stage>', 'build up to this stage')
    .option('--no-cache', 'run every step, taking nothing from the layer cache')
    .option('--push', 'push the image to its registry once built')
    .option('-q, --quiet', 'print only the image ID')
    .option('--timeout <seconds>', 'how long to wait for the build', '600')
    .addOption(new Option('-n, --namespace <namespace>', "the Image's namespace (default: the kubeconfig context's)"))
    .action(async (dir: string, opts: BuildOptions) => {
      const { build } = await import('../commands/build.js');
      await build(dir, opts);
    });
}

export function registerTag(program: Command): void {
  program
    .command('tag')
    .description('give an image on a node another name (TARGET may name a registry to push to)')
    .argument('<source>', 'the image, NAME[:TAG] or NAME@DIGEST')
    .argument('<target>', 'the new name, NAME[:TAG]')
    .addOption(new Option('-n, --namespace <namespace>', "the Image's namespace (default: the kubeconfig context's)"))
    .option('--timeout <seconds>', 'how long to wait for a node to hold the name', '30')
    .action(async (source: string, target: string, opts: { namespace?: string; timeout?: string }) => {
      const { tag } = await import('../commands/tag.js');
      await tag(source, target, opts);
    });
}

export function registerPush(program: Command): void {
  program
    .command('push')
    .description('push an image built, tagged or committed on a node to the registry its name points at')
    .argument('<name>', 'the image, REGISTRY/NAME[:TAG]')
    .addOption(new Option('-n, --namespace <namespace>', "the Image's namespace (default: the kubeconfig context's)"))
    .option('--timeout <seconds>', 'how long to wait for the push', '120')
    .action(async (name: string, opts: { namespace?: string; timeout?: string }) => {
      const { push } = await import('../commands/push.js');
      await push(name, opts);
    });
}

export function registerCommit(program: Command): void {
  program
    .command('commit')
    .description("create an image from a container's changes")
    .argument('<container>', 'the Container')
    .argument('<name>', 'the new image, NAME[:TAG]')
    .option(
      '-c, --change <instruction>',
      'a Dockerfile instruction for the config, e.g. \'CMD ["sh"]\' (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('-m, --message <message>', 'the commit message')
    .option('--no-pause', 'do not freeze the container while committing (it is frozen by default)')
    .addOption(new Option('-n, --namespace <namespace>', "the objects' namespace (default: the kubeconfig context's)"))
    .option('--timeout <seconds>', 'how long to wait for the commit', '60')
    .action(
      async (
        container: string,
        name: string,
        opts: { change: string[]; message?: string; pause?: boolean; namespace?: string; timeout?: string },
      ) => {
        const { commit } = await import('../commands/commit.js');
        const image = await commit(container, name, opts);
        process.stdout.write(`${image.status?.imageID ?? ''}\n`);
      },
    );
}

export function registerRmi(program: Command): void {
  program
    .command('rmi')
    .description('remove images: their Image objects, and the names nodes gave them')
    .argument('<names...>', 'images, NAME[:TAG]')
    .addOption(new Option('-n, --namespace <namespace>', "the Images' namespace (default: the kubeconfig context's)"))
    .action(async (names: string[], opts: { namespace?: string }) => {
      const { rmi } = await import('../commands/rmi.js');
      await rmi(names, opts);
    });
}
