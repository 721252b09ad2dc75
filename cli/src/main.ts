#!/usr/bin/env node
// The `berth` command.

import { Command } from 'commander';
import { up } from './commands/up.js';

const program = new Command('berth').description('Docker-style workloads through a Kubernetes-style declarative API');

program
  .command('up')
  .description('run berth all-in-one (API server, controllers, node agent) on the embedded store')
  .option('--data-dir <dir>', 'where berth keeps its state', '/var/lib/berth')
  .option('--listen <host:port>', 'address of the HTTPS API', '127.0.0.1:6443')
  .option('--kubeconfig <path>', 'write the kubeconfig here instead of merging into $KUBECONFIG or ~/.kube/config')
  .action(async (opts: { dataDir: string; listen: string; kubeconfig?: string }) => {
    const started = performance.now();
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
  });

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`berth: ${(e as Error).message}\n`);
  process.exit(1);
});
