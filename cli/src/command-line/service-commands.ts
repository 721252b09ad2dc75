// The definitions of `berth service …`, docker service's commands and flags; each loads its module on first use.

import { Command } from 'commander';
import { collect, namespaceOption } from './options.js';

type Ns = { namespace?: string };

const detach = ['-d, --detach', 'exit at once instead of waiting for the service to converge'] as const;
const quiet = ['-q, --quiet', 'suppress progress output'] as const;

export function serviceCommand(): Command {
  const service = new Command('service')
    .description(
      'manage Services: replicas of a container template, rolled on change, published through the routing mesh',
    )
    // `create IMAGE COMMAND -x` passes -x to the command.
    .enablePositionalOptions();
  service
    .command('create')
    .description('create a Service: berth service create [OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<image>', 'the image reference')
    .argument('[command...]', 'the command and its arguments (replace the image CMD)')
    .passThroughOptions()
    .addOption(namespaceOption())
    .option('--name <name>', 'the service name (default: from the image)')
    .option('--replicas <n>', 'number of replicas', '1')
    .option('--mode <mode>', 'service mode (berth has replicated only)', 'replicated')
    .option(
      '-p, --publish <[published:]target[/proto]>',
      'publish a port through the routing mesh (repeatable)',
      collect,
      [],
    )
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect, [])
    .option('--network <name>', 'attach the replicas to this Network', collect, [])
    .option('--mount <type=volume,source=S,target=/T>', 'mount a Volume or host directory (repeatable)', collect, [])
    .option('-l, --label <key=value>', "the Service's labels (repeatable)", collect, [])
    .option('--container-label <key=value>', "the replicas' labels (repeatable)", collect, [])
    .option('--constraint <node.labels.K==V>', 'place replicas only on matching nodes (repeatable)', collect, [])
    .option('--entrypoint <command>', "replace the image's ENTRYPOINT")
    .option('-w, --workdir <dir>', 'working directory inside the containers')
    .option('-u, --user <uid[:gid]>', 'numeric user (and group) to run as')
    .option('--hostname <name>', "the containers' host name")
    .option('--limit-memory <bytes>', 'memory limit, like 512m')
    .option('--limit-cpu <number>', 'CPU limit, like 0.5')
    .option('--restart-condition <condition>', 'none, on-failure or any', 'any')
    .option('--stop-grace-period <duration>', 'time to wait before killing a container, like 10s')
    .option('--update-parallelism <n>', 'replicas replaced at once in a rolling update')
    .option('--update-order <order>', 'start-first or stop-first')
    .option(...detach)
    .option(...quiet)
    .action(async (image: string, command: string[], opts: Record<string, unknown>) => {
      const { serviceCreate } = await import('../commands/service.js');
      const args = command[0] === '--' ? command.slice(1) : command;
      await serviceCreate(image, args, opts as unknown as Parameters<typeof serviceCreate>[2]);
    });
  service
    .command('ls')
    .alias('list')
    .description('list Services')
    .addOption(namespaceOption())
    .option('-q, --quiet', 'only print ids')
    .option('--format <format>', 'table, json, or a template like "{{.Name}} {{.Replicas}}"')
    .option('-f, --filter <key=value>', 'only matching ones: name, id, label (repeatable)', collect, [])
    .action(async (opts: Ns & { quiet?: boolean; format?: string; filter: string[] }) => {
      const { serviceLs } = await import('../commands/service.js');
      await serviceLs(opts);
    });
  service
    .command('ps')
    .description("list a Service's replicas (tasks): node, desired and current state")
    .argument('<service...>', 'the Services')
    .addOption(namespaceOption())
    .option('-q, --quiet', 'only print ids')
    .option('--no-trunc', 'do not cut ids short')
    .option('-f, --filter <key=value>', 'desired-state=running|shutdown (repeatable)', collect, [])
    .action(async (names: string[], opts: Ns & { quiet?: boolean; trunc: boolean; filter: string[] }) => {
      const { servicePs } = await import('../commands/service.js');
      await servicePs(names, { ...opts, noTrunc: !opts.trunc });
    });
  service
    .command('scale')
    .description('set the replicas of Services: berth service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]')
    .argument('<service=replicas...>', 'what to scale')
    .addOption(namespaceOption())
    .option(...detach)
    .option(...quiet)
    .action(async (specs: string[], opts: Ns & { detach?: boolean; quiet?: boolean }) => {
      const { serviceScale } = await import('../commands/service.js');
      await serviceScale(specs, opts);
    });
  service
    .command('update')
    .description('change a Service; a template change rolls its replicas (waits for convergence unless -d)')
    .argument('<service>', 'the Service')
    .addOption(namespaceOption())
    .option('--image <image>', 'the image to run')
    .option('--replicas <n>', 'number of replicas')
    .option('--env-add <KEY=VALUE>', 'add or change an environment variable (repeatable)', collect, [])
    .option('--env-rm <KEY>', 'remove an environment variable (repeatable)', collect, [])
    .option('--publish-add <[published:]target[/proto]>', 'publish a port (repeatable)', collect, [])
    .option('--publish-rm <published>', 'stop publishing a port (repeatable)', collect, [])
    .option('--label-add <key=value>', 'add a label to the Service (repeatable)', collect, [])
    .option('--label-rm <key>', 'remove a label from the Service (repeatable)', collect, [])
    .option('--container-label-add <key=value>', 'add a label to the replicas (repeatable)', collect, [])
    .option('--container-label-rm <key>', 'remove a label from the replicas (repeatable)', collect, [])
    .option('--args <command>', "the replicas' arguments (replace the image CMD)")
    .option('--limit-memory <bytes>', 'memory limit, like 512m')
    .option('--limit-cpu <number>', 'CPU limit, like 0.5')
    .option('--update-parallelism <n>', 'replicas replaced at once')
    .option('--update-order <order>', 'start-first or stop-first')
    .option('--force', 'replace every replica even when nothing changed')
    .option('--rollback', 'roll back to the previous template')
    .option(...detach)
    .option(...quiet)
    .action(async (name: string, opts: Record<string, unknown>) => {
      const { serviceUpdate } = await import('../commands/service.js');
      await serviceUpdate(name, opts as unknown as Parameters<typeof serviceUpdate>[1]);
    });
  service
    .command('rollback')
    .description("put a previous revision's template back; waits for the rollout unless -d")
    .argument('<service>', 'the Service')
    .addOption(namespaceOption())
    .option('--to-revision <n>', 'the revision to roll back to (default: the one before the current)')
    .option(...detach)
    .option(...quiet)
    .action(async (name: string, opts: Ns & { toRevision?: string; detach?: boolean; quiet?: boolean }) => {
      const { serviceRollback } = await import('../commands/service.js');
      await serviceRollback(name, opts);
    });
  service
    .command('history')
    .description('list the revisions a Service keeps (the newest is current)')
    .argument('<service>', 'the Service')
    .addOption(namespaceOption())
    .action(async (name: string, opts: Ns) => {
      const { serviceHistory } = await import('../commands/service.js');
      await serviceHistory(name, opts);
    });
  service
    .command('rm')
    .alias('remove')
    .description('remove Services (their replicas go with them)')
    .argument('<service...>', 'the Services')
    .addOption(namespaceOption())
    .action(async (names: string[], opts: Ns) => {
      const { serviceRm } = await import('../commands/service.js');
      await serviceRm(names, opts);
    });
  service
    .command('logs')
    .description("every replica's log, each line prefixed with SERVICE.SLOT.ID@NODE")
    .argument('<service>', 'the Service')
    .addOption(namespaceOption())
    .option('-f, --follow', 'keep streaming, including replicas started meanwhile (until Ctrl-C)')
    .option('--tail <lines>', 'only the last N lines of each replica')
    .option('--since <duration>', 'only lines newer than this, like 10s, 5m')
    .option('-t, --timestamps', 'show timestamps')
    .option('--no-task-ids', 'leave the replica ids out of the prefix')
    .option('--raw', 'no prefix')
    .action(async (name: string, opts: Record<string, unknown>) => {
      const { serviceLogs } = await import('../commands/service-logs.js');
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await serviceLogs(name, { ...(opts as Parameters<typeof serviceLogs>[1]), signal: stop.signal });
      process.exit(0);
    });
  return service;
}
