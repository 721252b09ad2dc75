#!/usr/bin/env node
// The `berth` command: docker's commands on berth's API, plus `up`, the all-in-one.

import nodeModule from 'node:module';
import { Command, CommanderError } from 'commander';
import { collect, namespaceLongOption, namespaceOption } from './command-line/options.js';
import { clientVersion } from './client-version.js';

// Node 22.1+ keeps the modules it compiles on disk for the next start; the modules below load after this line.
// Node 20 has no such cache (the guard).
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// Start-up is most of a short command's time, so this module loads only commander: each top-level command is
// defined (and its command-line module loaded) only when it is the one typed, or when all are needed (help,
// completion, a mistyped word); each command's implementation is loaded by its action.

const program = new Command('berth')
  .description('Docker-style workloads through a Kubernetes-style declarative API')
  .enablePositionalOptions()
  // docker's `--version`: the client's alone, without asking the server (`berth version` asks it too).
  .version(`berth version ${clientVersion()}`, '-v, --version', "print the client's version")
  .exitOverride();

/** Adds top-level commands to `program`, by the names they go by. */
type Definition = () => void | Promise<void>;
const definitions: Array<{ readonly names: readonly string[]; readonly add: Definition }> = [];
function define(names: string | readonly string[], add: Definition): void {
  definitions.push({ names: typeof names === 'string' ? [names] : names, add });
}

/** The exit status docker gives a failed run/start/create (125: the daemon failed), or 1. */
let failureStatus = 1;

define('up', () => {
  program
    .command('up')
    .description(
      'run berth all-in-one: the API server on its embedded store, the controller manager and the node agent',
    )
    .option('--data-dir <dir>', 'where berth keeps its state', '/var/lib/berth')
    .option('--listen <host:port>', 'address of the HTTPS API', '127.0.0.1:6443')
    .option('--kubeconfig <path>', 'write the kubeconfig here instead of merging into $KUBECONFIG or ~/.kube/config')
    .option('--no-agent', 'run without the node agent (API server only: Containers stay unbound and nothing is pulled)')
    .option('--no-controllers', 'run without the controller manager (`berth controllers` runs it elsewhere)')
    .option('--log-level <level>', 'JSON-lines log on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
    .option(
      '--store <where>',
      'where the cluster is kept: embedded (a store in --data-dir) or etcd://host:port[,host:port...][/prefix/]',
      'embedded',
    )
    .option('--etcd-cafile <file>', 'CA of the etcd members (TLS to etcd)')
    .option('--etcd-certfile <file>', 'client certificate for etcd')
    .option('--etcd-keyfile <file>', 'its private key')
    .option(
      '--token <token>',
      'server token shared by every server of the cluster: they share its CA and keys through the store (or $BERTH_TOKEN)',
    )
    .option(
      '--servers <url,...>',
      "the cluster's other API servers: the kubeconfig lists them too, so clients, agents and controllers fail over",
    )
    .option(
      '--allow-host-path <dir>',
      'let Containers mount hostPath volumes under this directory (repeatable; none by default)',
      collect,
      [] as string[],
    )
    .action(
      async (opts: {
        dataDir: string;
        listen: string;
        kubeconfig?: string;
        agent: boolean;
        controllers: boolean;
        logLevel: string;
        allowHostPath: string[];
        store: string;
        etcdCafile?: string;
        etcdCertfile?: string;
        etcdKeyfile?: string;
        token?: string;
        servers?: string;
      }) => {
        const started = performance.now();
        const { up } = await import('./commands/up.js');
        const { parseServerList } = await import('./failover/server-list.js');
        const token = opts.token ?? process.env['BERTH_TOKEN'];
        const { servers, ...rest } = opts;
        const running = await up({
          ...rest,
          ...(token === undefined || token === '' ? {} : { token }),
          ...(servers === undefined ? {} : { servers: parseServerList(servers) }),
        });
        const ms = Math.round(performance.now() - started);
        process.stdout.write(
          `berth is up at ${running.server.url} (ready in ${ms} ms)\n` +
            `kubeconfig: ${running.kubeconfigPath} (context "berth")\n` +
            `try: kubectl${opts.kubeconfig === undefined ? '' : ` --kubeconfig ${running.kubeconfigPath}`} get namespaces\n`,
        );
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          process.stdout.write(`berth: ${signal}, shutting down\n`);
          running.close().then(
            () => process.exit(0),
            (e: unknown) => {
              process.stderr.write(`berth: shutdown failed: ${(e as Error).message}\n`);
              process.exit(1);
            },
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      },
    );
});

define('run', () => {
  program
    .command('run')
    .description('create a Container from an image and run it: berth run [OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<image>', 'the image reference')
    .argument('[command...]', 'the command and its arguments (replace the image CMD)')
    .passThroughOptions()
    .addOption(namespaceOption())
    .option('-d, --detach', 'run in the background and print the Container name')
    .option('-i, --interactive', 'keep stdin open and pass it to the container')
    .option('-t, --tty', 'give the container a terminal (with -i, when stdin is one)')
    .option('--rm', 'remove the Container when it exits')
    .option('--name <name>', 'name the Container (default: generated from the image)')
    .option(
      '-p, --publish <[ip:]host:container[/udp]>',
      'publish a container port on the node (repeatable)',
      collect,
      [],
    )
    .option(
      '-e, --env <KEY=VALUE>',
      'set an environment variable (KEY alone: from this environment; repeatable)',
      collect,
      [],
    )
    .option('--env-file <file>', 'read environment variables from a file of KEY=VALUE lines (repeatable)', collect, [])
    .option(
      '-v, --volume <name:/path[:ro]>',
      'mount a named Volume, or a host directory /host:/path (repeatable)',
      collect,
      [],
    )
    .option('--network <name>', 'attach to this Network (bridge: the default network; host; none)')
    .option('--restart <policy>', 'no, always, unless-stopped or on-failure[:N]', 'no')
    .option('-m, --memory <bytes>', 'memory limit, like 512m or 1g')
    .option('--cpus <number>', 'CPU limit, like 0.5 or 2')
    .option('--pids-limit <number>', 'maximum number of processes')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <uid[:gid]>', 'numeric user (and group) to run as')
    .option('--entrypoint <command>', "replace the image's ENTRYPOINT")
    .option('-l, --label <key=value>', 'set a label on the Container (repeatable)', collect, [])
    .option('--hostname <name>', "the container's host name")
    .option('--pull <policy>', 'pull the image: missing, always or never', 'missing')
    .option('--stop-timeout <seconds>', 'seconds between SIGTERM and SIGKILL when it is stopped', '10')
    .option('--privileged', 'every capability and device, no seccomp (the namespace must allow it)')
    .option('--cap-add <capability>', 'add a Linux capability, like NET_ADMIN (repeatable)', collect, [])
    .option('--cap-drop <capability>', 'drop a Linux capability, or ALL (repeatable)', collect, [])
    .option('--read-only', "mount the container's root filesystem read-only")
    .option('--userns <mode>', 'auto: a user namespace of its own (root is an unprivileged id on the node); host')
    .action(async (image: string, command: string[], opts: Record<string, unknown>) => {
      failureStatus = 125;
      const { run } = await import('./commands/run.js');
      const args = command[0] === '--' ? command.slice(1) : command;
      process.exit(await run(image, args, opts as unknown as import('./commands/run.js').RunOptions));
    });
});

define('ps', () => {
  program
    .command('ps')
    .description("list Containers (running ones unless -a; -n is docker's --last here, the namespace is --namespace)")
    .addOption(namespaceLongOption())
    .option('-a, --all', 'show all Containers, not only running ones')
    .option('-n, --last <n>', 'show the n last created Containers (all states)')
    .option('-l, --latest', 'show the last created Container (all states)')
    .option('-q, --quiet', 'only print ids')
    .option('--no-trunc', 'do not cut ids and commands short')
    .option('--format <format>', 'table, json, or a template like "table {{.ID}}\\t{{.Names}}" or "{{.Names}}"')
    .option(
      '-f, --filter <key=value>',
      'only matching ones: id, name, label, ancestor, status (repeatable)',
      collect,
      [],
    )
    .option('-s, --size', "show each writable layer's size (and with its image's, virtual)")
    .action(
      async (opts: {
        namespace?: string;
        all?: boolean;
        quiet?: boolean;
        trunc: boolean;
        format?: string;
        filter: string[];
        size?: boolean;
        last?: string;
        latest?: boolean;
      }) => {
        const { ps } = await import('./commands/ps.js');
        await ps({ ...opts, noTrunc: !opts.trunc });
      },
    );
});

define('stats', () => {
  program
    .command('stats')
    .description("live CPU, memory, network and processes of running Containers, in docker stats' columns")
    .argument('[containers...]', 'names or id prefixes (default: every running Container of the namespace)')
    .addOption(namespaceOption())
    .option('--no-stream', 'print once instead of redrawing every second')
    .option('--format <format>', 'table, json, or a template like "table {{.Name}}\\t{{.CPUPerc}}"')
    .action(async (names: string[], opts: { namespace?: string; stream: boolean; format?: string }) => {
      const { stats } = await import('./commands/stats.js');
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      await stats(names, { ...opts, noStream: !opts.stream, signal: stop.signal });
    });
});

define('top', () => {
  program
    .command('top')
    .description(
      "what the Nodes and the namespace's Containers use now (kubectl top node and top pod in one); with NAME, the Container's processes as docker top lists them",
    )
    .argument('[name]', 'the Container whose processes to list (ps runs on its node, -ef by default)')
    .argument('[ps-options...]', 'ps options made of letters, and -o field lists (e.g. -o pid,user,args)')
    .passThroughOptions()
    .addOption(namespaceOption())
    .action(async (name: string | undefined, psArgs: string[], opts: { namespace?: string }) => {
      const { containerTop, top } = await import('./commands/top.js');
      if (name === undefined) await top(opts);
      else await containerTop(name, psArgs[0] === '--' ? psArgs.slice(1) : psArgs, opts);
    });
});

define('stop', () => {
  program
    .command('stop')
    .description('stop running Containers, keeping them (SIGTERM, then SIGKILL after the timeout)')
    .argument('<container...>', 'names or ids')
    .addOption(namespaceOption())
    .option('-t, --time <seconds>', 'seconds to wait before killing it (default: its --stop-timeout)')
    .action(async (refs: string[], opts: { namespace?: string; time?: string }) => {
      const { stop } = await import('./commands/start-stop.js');
      await stop(refs, opts);
    });
});

define('start', () => {
  program
    .command('start')
    .description('start stopped Containers again: berth start [-a] [-i] NAME')
    .argument('<container...>', 'names or ids')
    .addOption(namespaceOption())
    .option('-a, --attach', "attach to the container's output and exit with its exit code")
    .option('-i, --interactive', "attach the container's stdin (and its terminal, if it has one)")
    .action(async (refs: string[], opts: { namespace?: string; attach?: boolean; interactive?: boolean }) => {
      failureStatus = 125;
      const { start } = await import('./commands/start-stop.js');
      process.exit(await start(refs, opts));
    });
});

define('rm', () => {
  program
    .command('rm')
    .description('remove Containers')
    .argument('<container...>', 'names or ids')
    .addOption(namespaceOption())
    .option('-f, --force', 'remove a running Container too (stopping it)')
    .option('-v, --volumes', 'also remove the named Volumes it mounted, when no other Container uses them')
    .action(async (refs: string[], opts: { namespace?: string; force?: boolean; volumes?: boolean }) => {
      const { rm } = await import('./commands/rm.js');
      await rm(refs, opts);
    });
});

define('inspect', () => {
  program
    .command('inspect')
    .description('print the API objects (Container, Volume, Network or Image) with these names as JSON')
    .argument('<name...>', 'names (or container ids)')
    .addOption(namespaceOption())
    .option('-f, --format <template>', 'a template of paths into the object, like "{{.status.phase}}"')
    .option('--type <kind>', 'only look for this kind: container, volume, network or image')
    .action(async (refs: string[], opts: { namespace?: string; format?: string; type?: string }) => {
      const { inspect } = await import('./commands/inspect.js');
      await inspect(refs, opts);
    });
});

define('dashboard', () => {
  program
    .command('dashboard')
    .description('print a link that signs in to the web dashboard (and open it on a desktop)')
    .option('--url', 'only print the link')
    .option('--duration <seconds>', "how long the link's token is good for", '1800')
    .action(async (opts: { url?: boolean; duration?: string }) => {
      const { dashboard } = await import('./commands/dashboard.js');
      await dashboard(opts);
    });
});

define('version', () => {
  program
    .command('version')
    .description("print the client's and the server's versions")
    .option('-f, --format <format>', 'json, or a template like "{{.Server.gitVersion}}"')
    .action(async (opts: { format?: string }) => {
      const { version } = await import('./commands/version.js');
      await version(opts);
    });
});

define('images', () => {
  program
    .command('images')
    .description('list images: the Image objects and the images Containers run')
    .addOption(namespaceOption())
    .option('-q, --quiet', 'only print image ids')
    .option('--format <format>', 'table, json, or a template like "{{.Repository}}:{{.Tag}}"')
    .action(async (opts: Record<string, unknown>) => {
      const { images } = await import('./commands/images.js');
      await images(opts);
    });
});

define('pull', () => {
  program
    .command('pull')
    .description('record an image to pull as an Image object, and report its digest once a node has pulled it')
    .argument('<image>', 'the image reference')
    .addOption(namespaceOption())
    .option('-q, --quiet', 'print only the reference')
    .option('--wait <seconds>', 'how long to wait for a node to report the pull', '15')
    .action(async (reference: string, opts: Record<string, unknown>) => {
      const { pull } = await import('./commands/images.js');
      await pull(reference, opts);
    });
});

define('build', async () => {
  const { registerBuild } = await import('./command-line/image-commands.js');
  registerBuild(program);
});
define('tag', async () => {
  const { registerTag } = await import('./command-line/image-commands.js');
  registerTag(program);
});
define('push', async () => {
  const { registerPush } = await import('./command-line/image-commands.js');
  registerPush(program);
});
define('commit', async () => {
  const { registerCommit } = await import('./command-line/image-commands.js');
  registerCommit(program);
});
define('rmi', async () => {
  const { registerRmi } = await import('./command-line/image-commands.js');
  registerRmi(program);
});
define('save', async () => {
  const { registerSave } = await import('./commands/save.js');
  registerSave(program);
});
define('load', async () => {
  const { registerLoad } = await import('./commands/load.js');
  registerLoad(program);
});

define('volume', async () => {
  const volume = program.command('volume').description('manage Volumes');
  volume
    .command('create')
    .description('create a Volume (prints its name)')
    .argument('[name]', 'the name (default: generated)')
    .addOption(namespaceOption())
    .option('-d, --driver <driver>', 'volume driver', 'local')
    .option('-o, --opt <key=value>', 'driver option (repeatable)', collect, [])
    .option('--label <key=value>', 'set a label (repeatable)', collect, [])
    .action(async (name: string | undefined, opts: Record<string, unknown>) => {
      const { volumeCreate } = await import('./commands/volume.js');
      await volumeCreate(name, opts);
    });
  volume
    .command('ls')
    .alias('list')
    .description('list Volumes')
    .addOption(namespaceOption())
    .option('-q, --quiet', 'only print names')
    .option('--format <format>', 'table, json, or a template like "{{.Name}}"')
    .action(async (opts: Record<string, unknown>) => {
      const { volumeLs } = await import('./commands/volume.js');
      await volumeLs(opts);
    });
  volume
    .command('rm')
    .alias('remove')
    .description('remove Volumes (not while a Container uses one, unless -f)')
    .argument('<name...>', 'the Volumes')
    .addOption(namespaceOption())
    .option('-f, --force', 'delete even while in use (it goes when the last Container using it does)')
    .action(async (names: string[], opts: Record<string, unknown>) => {
      const { volumeRm } = await import('./commands/volume.js');
      await volumeRm(names, opts);
    });
  volume
    .command('inspect')
    .description('print Volumes as JSON')
    .argument('<name...>', 'the Volumes')
    .addOption(namespaceOption())
    .option('-f, --format <template>', 'a template of paths into the object, like "{{.status.path}}"')
    .action(async (names: string[], opts: Record<string, unknown>) => {
      const { volumeInspect } = await import('./commands/volume.js');
      await volumeInspect(names, opts);
    });
  const { addVolumePrune } = await import('./command-line/system-commands.js');
  addVolumePrune(volume);
});

define('network', async () => {
  const network = program.command('network').description('manage Networks');
  network
    .command('create')
    .description('create a Network (prints its name)')
    .argument('<name>', 'the name')
    .addOption(namespaceOption())
    .option('-d, --driver <driver>', 'network driver', 'bridge')
    .option('--subnet <cidr>', 'subnet, like 10.89.1.0/24 (default: allocated)')
    .option('--gateway <ip>', "gateway address (default: the subnet's first)")
    .option('--ip-range <cidr>', 'allocate container addresses from this sub-range')
    .option('--internal', 'no route outside the network')
    .option('--label <key=value>', 'set a label (repeatable)', collect, [])
    .action(async (name: string, opts: Record<string, unknown>) => {
      const { networkCreate } = await import('./commands/network.js');
      await networkCreate(name, opts);
    });
  network
    .command('ls')
    .alias('list')
    .description('list Networks')
    .addOption(namespaceOption())
    .option('-q, --quiet', 'only print ids')
    .option('--format <format>', 'table, json, or a template like "{{.Name}}"')
    .action(async (opts: Record<string, unknown>) => {
      const { networkLs } = await import('./commands/network.js');
      await networkLs(opts);
    });
  network
    .command('rm')
    .alias('remove')
    .description('remove Networks')
    .argument('<name...>', 'the Networks')
    .addOption(namespaceOption())
    .action(async (names: string[], opts: Record<string, unknown>) => {
      const { networkRm } = await import('./commands/network.js');
      await networkRm(names, opts);
    });
  network
    .command('inspect')
    .description('print Networks as JSON')
    .argument('<name...>', 'the Networks')
    .addOption(namespaceOption())
    .option('-f, --format <template>', 'a template of paths into the object, like "{{.status.subnet}}"')
    .action(async (names: string[], opts: Record<string, unknown>) => {
      const { networkInspect } = await import('./commands/network.js');
      await networkInspect(names, opts);
    });
  const { addNetworkAttach } = await import('./command-line/system-commands.js');
  addNetworkAttach(network);
});

define('service', async () => {
  const { serviceCommand } = await import('./command-line/service-commands.js');
  program.addCommand(serviceCommand());
});
define('secrets', () => {
  program
    .command('secrets')
    .description('Secrets at rest')
    .command('rotate-key')
    .description('put a new encryption key first; berth up re-encrypts stored Secrets with it on its next start')
    .option('--data-dir <dir>', 'where berth keeps its state', '/var/lib/berth')
    .action(async (opts: { dataDir: string }) => {
      const { rotateKey } = await import('./commands/secrets.js');
      process.stdout.write(await rotateKey(opts));
    });
});
define('compose', async () => {
  const compose = program
    .command('compose')
    .description('run a Compose project (compose.yaml) as berth objects')
    .option('-f, --file <file>', 'the Compose file (default: compose.yaml, compose.yml, docker-compose.y(a)ml)')
    .option('-p, --project-name <name>', "the project's name (default: the file's name: field, else its folder)")
    .addOption(namespaceOption());
  compose
    .command('up')
    .description("create or update the project's Networks, Volumes and Containers; delete what the file no longer has")
    .option('-d, --detach', 'return once the containers run, instead of following their logs')
    .action(async (opts: { detach?: boolean }) => {
      const { composeUp } = await import('./commands/compose.js');
      await composeUp({ ...compose.opts<ComposeFlags>(), ...opts });
    });
  compose
    .command('down')
    .description("delete the project's Containers and Networks (and with -v its Volumes)")
    .option('-v, --volumes', "also delete the project's Volumes")
    .action(async (opts: { volumes?: boolean }) => {
      const { composeDown } = await import('./commands/compose.js');
      await composeDown({ ...compose.opts<ComposeFlags>(), ...opts });
    });
  compose
    .command('ps')
    .description("list the project's Containers")
    .action(async () => {
      const { composePs } = await import('./commands/compose.js');
      await composePs(compose.opts<ComposeFlags>());
    });
  const { addComposeCommands } = await import('./command-line/compose-commands.js');
  addComposeCommands(compose);
});
type ComposeFlags = { file?: string; projectName?: string; namespace?: string };

define('logs', () => {
  program
    .command('logs')
    .description("print a Container's log (-n is docker's --tail here; the namespace is --namespace)")
    .argument('<name>', 'the Container')
    .addOption(namespaceLongOption())
    .option('-f, --follow', 'keep streaming new lines until the container stops')
    .option('-n, --tail <lines>', 'only the last N lines (all, or -1, for all)')
    .option('--since <duration>', 'only lines newer than this, like 10s, 5m, 1h')
    .option('-t, --timestamps', 'prefix each line with its RFC3339 timestamp')
    .action(
      async (
        name: string,
        opts: { namespace?: string; follow?: boolean; tail?: string; since?: string; timestamps?: boolean },
      ) => {
        const { logs } = await import('./commands/logs.js');
        await logs(name, opts);
        process.exit(0);
      },
    );
});

type ExecCommandOptions = {
  namespace?: string;
  stdin?: boolean;
  tty?: boolean;
  env: string[];
  workdir?: string;
  user?: string;
};

define('exec', () => {
  program
    .command('exec')
    .description('run a command in a running Container: berth exec [-i] [-t] NAME -- COMMAND [ARGS...]')
    .argument('<name>', 'the Container')
    .argument('<command...>', 'the command and its arguments (after --)')
    .passThroughOptions()
    .addOption(namespaceOption())
    .option('-i, --stdin', 'pass stdin to the command')
    .option('-t, --tty', 'give the command a terminal (when stdin is one)')
    .option('-e, --env <NAME=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', "run as this user (a name or uid, and group, from the container's files)")
    .action(async (name: string, command: string[], opts: ExecCommandOptions) => {
      const { exec } = await import('./commands/exec.js');
      // Options after NAME pass through to the command; a `--` there is only the separator.
      process.exit(await exec(name, command[0] === '--' ? command.slice(1) : command, opts));
    });
});

define('kill', async () => {
  const { killCommand } = await import('./command-line/container-commands.js');
  program.addCommand(killCommand());
});
define('wait', async () => {
  const { waitCommand } = await import('./command-line/container-commands.js');
  program.addCommand(waitCommand());
});
define('restart', async () => {
  const { restartCommand } = await import('./command-line/container-commands.js');
  program.addCommand(restartCommand());
});
define('rename', async () => {
  const { renameCommand } = await import('./command-line/container-commands.js');
  program.addCommand(renameCommand());
});
define('port', async () => {
  const { portCommand } = await import('./command-line/container-commands.js');
  program.addCommand(portCommand());
});
define('attach', async () => {
  const { attachCommand } = await import('./command-line/container-commands.js');
  program.addCommand(attachCommand());
});
define('cp', async () => {
  const { cpCommand } = await import('./command-line/container-commands.js');
  program.addCommand(cpCommand());
});
define('context', async () => {
  const { contextCommand } = await import('./command-line/client-commands.js');
  program.addCommand(contextCommand());
});
define('login', async () => {
  const { loginCommand } = await import('./command-line/client-commands.js');
  program.addCommand(loginCommand());
});
define('logout', async () => {
  const { logoutCommand } = await import('./command-line/client-commands.js');
  program.addCommand(logoutCommand());
});
define('gitops', async () => {
  const { gitopsCommand } = await import('./command-line/gitops-commands.js');
  program.addCommand(gitopsCommand());
});
define(['apply', 'get', 'delete', 'describe'], async () => {
  const { resourceCommands } = await import('./command-line/resource-commands.js');
  for (const command of resourceCommands()) program.addCommand(command);
});
define('info', async () => {
  const { infoCommand } = await import('./command-line/system-commands.js');
  program.addCommand(infoCommand());
});
define('system', async () => {
  const { systemCommand } = await import('./command-line/system-commands.js');
  program.addCommand(systemCommand());
});
define('completion', async () => {
  const { completionCommand } = await import('./command-line/client-commands.js');
  program.addCommand(completionCommand(program));
});

/** docker's words for a mistyped command, with cobra's suggestions; undefined when `word` is a command. */
async function unknownCommand(word: string | undefined): Promise<string | undefined> {
  if (word === undefined || word.startsWith('-') || word === 'help') return undefined;
  const known = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  if (known.includes(word)) return undefined;
  const { suggestions } = await import('./output/suggest.js');
  const close = suggestions(word, known);
  return (
    `berth: '${word}' is not a berth command.\n` +
    (close.length > 0 ? `Did you mean this?\n${close.map((c) => `\t${c}\n`).join('')}` : '') +
    "See 'berth --help'\n"
  );
}

/** Stops `close` on SIGTERM or SIGINT, then exits. */
function stopOnSignals(name: string, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`berth ${name}: ${signal}, shutting down\n`);
    close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`berth ${name}: shutdown failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

define('controllers', () => {
  program
    .command('controllers')
    .description('run the controller manager alone (scheduler, node lifecycle, …) with leader election on a Lease')
    .requiredOption('--kubeconfig <path>', 'kubeconfig of the API server to work on')
    .option(
      '--no-leader-elect',
      'act at once instead of waiting to hold the Lease kube-system/berth-controller-manager',
    )
    .option(
      '--leader-elect-lease-duration <seconds>',
      'seconds a leader holds the Lease unrenewed (default: 15)',
      Number,
    )
    .option(
      '--leader-elect-renew-deadline <seconds>',
      'seconds the leader tries to renew before it stops (default: 10)',
      Number,
    )
    .option(
      '--leader-elect-retry-period <seconds>',
      'seconds between tries to take or renew the Lease (default: 2)',
      Number,
    )
    .option(
      '--node-monitor-grace-period <seconds>',
      'seconds without a Lease renewal before a Node is not Ready',
      Number,
    )
    .option('--pod-eviction-timeout <seconds>', 'seconds a Node is not Ready before its Service replicas move', Number)
    .option('--log-level <level>', 'JSON-lines log on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--metrics-listen <host:port>', 'serve /metrics here (plain HTTP; callers checked with the API server)')
    .action(
      async (opts: {
        kubeconfig: string;
        leaderElect: boolean;
        leaderElectLeaseDuration?: number;
        leaderElectRenewDeadline?: number;
        leaderElectRetryPeriod?: number;
        nodeMonitorGracePeriod?: number;
        podEvictionTimeout?: number;
        logLevel: string;
        metricsListen?: string;
      }) => {
        const { controllers } = await import('./commands/controllers.js');
        const running = await controllers(opts);
        process.stdout.write(
          `berth controllers: started${running.identity === undefined ? '' : ` (identity ${running.identity})`}\n`,
        );
        stopOnSignals('controllers', () => running.close());
        // Stopped on its own (the Lease lost): exit, as kube-controller-manager does, for a supervisor to restart.
        void running.closed.then(() => process.exit(1));
      },
    );
});

/** The store flags `berth up` takes, for the commands that open the store themselves. */
function storeOptions(command: Command, what: string): Command {
  return command
    .option(
      '--data-dir <dir>',
      "berth's data dir (the embedded store, and the keys Secrets are sealed with)",
      '/var/lib/berth',
    )
    .option('--store <where>', `${what}: embedded (in --data-dir) or etcd://host:port[,…][/prefix/]`, 'embedded')
    .option('--etcd-cafile <file>', 'CA of the etcd members (TLS to etcd)')
    .option('--etcd-certfile <file>', 'client certificate for etcd')
    .option('--etcd-keyfile <file>', 'its private key');
}
type StoreFlags = import('./commands/backup.js').StoreOptions;

define('backup', () => {
  storeOptions(
    program
      .command('backup')
      .description('write the cluster state at one revision to FILE (stop berth up first for the embedded store)')
      .argument('<file>', 'the backup file')
      .option('--etcd-snapshot', "write etcd's own snapshot instead (etcdctl snapshot save; restored by etcdctl)"),
    'the store to back up',
  ).action(async (file: string, opts: StoreFlags & { etcdSnapshot?: boolean }) => {
    const { backup } = await import('./commands/backup.js');
    process.stdout.write(await backup(file, opts));
  });
});

define('restore', () => {
  storeOptions(
    program
      .command('restore')
      .description('make the store hold the state of a backup FILE again (watches see it as ordinary changes)')
      .argument('<file>', 'a file from berth backup'),
    'the store to restore into',
  ).action(async (file: string, opts: StoreFlags) => {
    const { restore } = await import('./commands/backup.js');
    process.stdout.write(await restore(file, opts));
  });
});

define('migrate', () => {
  program
    .command('migrate')
    .description('copy the embedded store of --data-dir into etcd (stop berth up first)')
    .requiredOption('--to <etcd-url>', 'etcd://host:port[,host:port…][/prefix/]')
    .option('--data-dir <dir>', "berth's data dir", '/var/lib/berth')
    .option('--etcd-cafile <file>', 'CA of the etcd members (TLS to etcd)')
    .option('--etcd-certfile <file>', 'client certificate for etcd')
    .option('--etcd-keyfile <file>', 'its private key')
    .action(async (opts: StoreFlags & { to: string }) => {
      const { migrate } = await import('./commands/backup.js');
      process.stdout.write(await migrate(opts));
    });
});

define('token', () => {
  program
    .command('token')
    .description('bootstrap tokens for agents that join (berth agent --server URL --token TOKEN)')
    .command('create')
    .description('make a bootstrap token (a kube-system Secret, as kubeadm token create) and print it')
    .option('--ttl <duration>', 'how long it may be used: 24h, 1h30m, 90s, or 0 for never', '24h')
    .option('--description <text>', 'what the token is for')
    .action(async (opts: { ttl: string; description?: string }) => {
      const { createToken } = await import('./commands/token.js');
      process.stdout.write(`${await createToken(opts)}\n`);
    });
});

define('agent', () => {
  program
    .command('agent')
    .description('run a node agent alone: registers a Node and runs the Containers bound to it')
    .option('--kubeconfig <path>', 'kubeconfig of the API server to work with')
    .option(
      '--server <url,...>',
      'join this API server with a bootstrap token instead (needs --token); several, comma-separated, to fail over',
    )
    .option('--token <token>', 'bootstrap token from `berth token create` (K10<ca hash>::id.secret, or id.secret)')
    .option('--ca-file <file>', "the cluster's CA, for a token without the CA's hash")
    .option('--node-name <name>', "the Node's name (default: the host name)")
    .option('--data-dir <dir>', "this agent's images, layers and containers (default: /var/lib/berth/agents/NODE)")
    .option('--runtime-root <dir>', "this agent's crun state (default: /run/berth/agents/NODE/crun)")
    .option(
      '--allow-host-path <dir>',
      'let Containers mount hostPath volumes under this directory (repeatable; none by default)',
      (dir: string, dirs: string[]) => [...dirs, dir],
      [] as string[],
    )
    .option('--lease-renew-interval <seconds>', 'seconds between renewals of the Node Lease (default: 10)', Number)
    .option(
      '--server-refresh-interval <seconds>',
      "seconds between looks at the API servers' Leases for the list of servers, once joined (default: 30)",
      Number,
    )
    .option('--log-level <level>', 'JSON-lines log on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--metrics-listen <host:port>', 'serve /metrics here (plain HTTP; callers checked with the API server)')
    .option('--pod-subnet <cidr>', "this host's own subnet for the default bridge network (hosts routed to each other)")
    .option(
      '--tunnel-address <ip>',
      "this host's address between hosts: user Networks span the hosts that give one (VXLAN, UDP 4789)",
    )
    .action(
      async (opts: {
        podSubnet?: string;
        tunnelAddress?: string;
        metricsListen?: string;
        kubeconfig?: string;
        server?: string;
        token?: string;
        caFile?: string;
        leaseRenewInterval?: number;
        serverRefreshInterval?: number;
        nodeName?: string;
        dataDir?: string;
        runtimeRoot?: string;
        allowHostPath: string[];
        logLevel: string;
      }) => {
        const { agent } = await import('./commands/agent.js');
        const running = await agent(opts);
        process.stdout.write(`berth agent: node ${running.nodeName} is up (data in ${running.root})\n`);
        stopOnSignals('agent', () => running.close());
      },
    );
});

// The command typed, alone; everything for help and completion (which list them all) and for a word that may be
// mistyped (checked once every command is defined, so none of them counts as unknown).
const word = process.argv[2];
const typed = word === 'completion' ? undefined : definitions.find((d) => word !== undefined && d.names.includes(word));
if (typed !== undefined) await typed.add();
else {
  for (const d of definitions) await d.add();
  const unknown = await unknownCommand(word);
  if (unknown !== undefined) {
    process.stderr.write(unknown);
    process.exit(1);
  }
}

program.parseAsync().catch(async (e: unknown) => {
  if (e instanceof CommanderError) {
    // commander has printed its message (and help, for --help); docker exits 125 on a flag error.
    process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 125);
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`berth: ${message.split('\n')[0]}\n`);
  const { CliError } = await import('./errors.js');
  process.exit(CliError.isInstance(e) && e.exitCode !== undefined ? e.exitCode : failureStatus);
});
