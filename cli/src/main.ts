#!/usr/bin/env node
// The `berth` command.

import { Command } from 'commander';

// Commands load their modules on first use: `berth logs` need not load the API server.

const program = new Command('berth').description('Docker-style workloads through a Kubernetes-style declarative API');

program
  .command('up')
  .description('run berth all-in-one: the API server on its embedded store, the controller manager and the node agent')
  .option('--data-dir <dir>', 'where berth keeps its state', '/var/lib/berth')
  .option('--listen <host:port>', 'address of the HTTPS API', '127.0.0.1:6443')
  .option('--kubeconfig <path>', 'write the kubeconfig here instead of merging into $KUBECONFIG or ~/.kube/config')
  .option('--no-agent', 'run without the node agent (API server only: Containers stay unbound and nothing is pulled)')
  .option('--log-level <level>', 'JSON-lines log on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
  .option(
    '--allow-host-path <dir>',
    'let Containers mount hostPath volumes under this directory (repeatable; none by default)',
    (dir: string, dirs: string[]) => [...dirs, dir],
    [] as string[],
  )
  .action(
    async (opts: {
      dataDir: string;
      listen: string;
      kubeconfig?: string;
      agent: boolean;
      logLevel: string;
      allowHostPath: string[];
    }) => {
      const started = performance.now();
      const { up } = await import('./commands/up.js');
      const running = await up(opts);
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

program
  .command('logs')
  .description("print a Container's log")
  .argument('<name>', 'the Container')
  .option('-n, --namespace <namespace>', "the Container's namespace (default: the kubeconfig context's)")
  .option('-f, --follow', 'keep streaming new lines until the container stops')
  .option('--tail <lines>', 'only the last N lines (-1 for all)')
  .option('--since <duration>', 'only lines newer than this, like 10s, 5m, 1h')
  .option('--timestamps', 'prefix each line with its RFC3339 timestamp')
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

program
  .command('exec')
  .description('run a command in a running Container: berth exec [-i] [-t] NAME -- COMMAND [ARGS...]')
  .argument('<name>', 'the Container')
  .argument('<command...>', 'the command and its arguments (after --)')
  .option('-n, --namespace <namespace>', "the Container's namespace (default: the kubeconfig context's)")
  .option('-i, --stdin', 'pass stdin to the command')
  .option('-t, --tty', 'give the command a terminal (when stdin is one)')
  .action(async (name: string, command: string[], opts: { namespace?: string; stdin?: boolean; tty?: boolean }) => {
    const { exec } = await import('./commands/exec.js');
    process.exit(await exec(name, command, opts));
  });

const service = program.command('service').description("a Service's revisions and rollback");
service
  .command('history')
  .description('list the revisions a Service keeps (the newest is current)')
  .argument('<name>', 'the Service')
  .option('-n, --namespace <namespace>', "the Service's namespace (default: the kubeconfig context's)")
  .action(async (name: string, opts: { namespace?: string }) => {
    const { serviceHistory } = await import('./commands/service.js');
    await serviceHistory(name, opts);
  });
service
  .command('rollback')
  .description("put a previous revision's template back; the rollout then proceeds as for any change")
  .argument('<name>', 'the Service')
  .option('-n, --namespace <namespace>', "the Service's namespace (default: the kubeconfig context's)")
  .option('--to-revision <n>', 'the revision to roll back to (default: the one before the current)')
  .action(async (name: string, opts: { namespace?: string; toRevision?: string }) => {
    const { serviceRollback } = await import('./commands/service.js');
    await serviceRollback(name, opts);
  });

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

program
  .command('controllers')
  .description('run the controller manager alone (scheduler, node lifecycle, …) with leader election on a Lease')
  .requiredOption('--kubeconfig <path>', 'kubeconfig of the API server to work on')
  .option('--no-leader-elect', 'act at once instead of waiting to hold the Lease kube-system/berth-controller-manager')
  .option('--node-monitor-grace-period <seconds>', 'seconds without a Lease renewal before a Node is not Ready', Number)
  .option('--pod-eviction-timeout <seconds>', 'seconds a Node is not Ready before its Service replicas move', Number)
  .option('--log-level <level>', 'JSON-lines log on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
  .action(
    async (opts: {
      kubeconfig: string;
      leaderElect: boolean;
      nodeMonitorGracePeriod?: number;
      podEvictionTimeout?: number;
      logLevel: string;
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

program
  .command('agent')
  .description('run a node agent alone: registers a Node and runs the Containers bound to it')
  .requiredOption('--kubeconfig <path>', 'kubeconfig of the API server to join')
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
  .option('--log-level <level>', 'JSON-lines log on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
  .action(
    async (opts: {
      kubeconfig: string;
      leaseRenewInterval?: number;
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

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`berth: ${(e as Error).message}\n`);
  process.exit(1);
});
