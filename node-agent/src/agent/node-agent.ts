// startNodeAgent: the node agent's lifecycle, composing host preparation, node heartbeat, informer, queue and reconciler.
//
// Everything it learns about the cluster it reads through the API, and everything it changes it writes through
// the API: it never touches the apiserver's code or store. Closing it leaves running containers running (conmon
// owns them); the next start re-adopts them without a restart.
import { rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { prepareHost, type HostReport } from '../host/prepare-host.js';
import { ImageStore } from '../images/image-store.js';
import type { RegistryClientOptions } from '../distribution/distribution.js';
import { ConmonRuntime } from '../runtime/conmon-runtime.js';
import { OverlaySnapshotter } from '../snapshots/overlay.js';
import { StreamingServer } from '../streaming/streaming.js';
import { apiErrorMessage, ClusterApi, loadKubeConfig } from '../cluster/cluster-api.js';
import { userAgent } from '../cluster/writer-identity.js';
import { EventRecorder } from '../containers/events.js';
import { ExitWatcher } from '../containers/exit-watch.js';
import { ImagePolicy } from '../containers/image-policy.js';
import { ContainerInformer } from './informer.js';
import { agentVersion, machineStatus } from '../node/node-info.js';
import { NodeHeartbeat } from '../node/node-heartbeat.js';
import { BackOffError } from '../containers/errors.js';
import { NodeAgentOptionError } from './errors.js';
import { ContainerReconciler, type BackoffPolicy } from '../containers/reconciler.js';
import { WorkQueue } from './workqueue.js';

export interface NodeAgentOptions {
  /** A KubeConfig, or the path of a kubeconfig file. */
  readonly kubeconfig: KubeConfig | string;
  /** @default os.hostname() */
  readonly nodeName?: string;
  /** Data root: images, layers, containers. @default '/var/lib/berth/node' */
  readonly root?: string;
  /** crun's state directory. @default '/run/berth/crun' */
  readonly runtimeRoot?: string;
  /**
   * Bind Containers whose spec.nodeName is empty to this node (all-in-one `berth up`). Binding is the scheduler's
   * job: this convenience stays only until the scheduler lands, then goes. @default false
   */
  readonly adoptUnbound?: boolean;
  /** Registries spoken to over plain HTTP. @default loopback registries only */
  readonly plainHttpRegistries?: readonly string[];
  /** Extra PEM CAs trusted for HTTPS registries. */
  readonly registryCA?: string | readonly string[];
  /** Serve log/exec/attach on `<root>/agent.sock` (the endpoint the Node advertises, relayed by the API server). @default true */
  readonly serveStreaming?: boolean;
  /** Parallel reconciles (a stop waiting out its grace period holds one). @default 8 */
  readonly workers?: number;
  /** Restart back-off (CrashLoopBackOff). @default { baseMs: 10000, maxMs: 300000 } as kubelet */
  readonly restartBackoff?: BackoffPolicy;
  /** Back-off between failed pulls/creates. @default { baseMs: 10000, maxMs: 300000 } */
  readonly retryBackoff?: BackoffPolicy;
  /** @default 600000 (10 min) */
  readonly backoffResetMs?: number;
  /** Safety-net poll of running containers. @default 10000 */
  readonly pollIntervalMs?: number;
  /** @default 10000 */
  readonly leaseRenewIntervalMs?: number;
  /** Rotate container logs larger than this, checked every 10 s. @default 10 MiB */
  readonly logMaxBytes?: number;
  /** Where diagnostics go (`berth up` passes its own). @default a pino logger writing JSON lines to stderr at `logLevel` */
  readonly logger?: Logger;
  /** Level of the default logger; ignored when `logger` is given. @default 'info' */
  readonly logLevel?: pino.LevelWithSilent;
}

export interface NodeAgent {
  readonly nodeName: string;
  readonly root: string;
  readonly host: HostReport;
  /** The runtime the agent drives; the streaming server uses it for logs, exec and attach. */
  readonly runtime: ConmonRuntime;
  /** The runtime id of a Container running on this node, or undefined. */
  lookup(namespace: string, name: string): string | undefined;
  /** Stops watching and reconciling; containers keep running. */
  close(): Promise<void>;
}

/** Options that cannot work fail here, before the host is touched (a 0 interval would become a busy timer). */
function checkOptions(options: NodeAgentOptions, workers: number): void {
  if (!Number.isInteger(workers) || workers < 1) throw new NodeAgentOptionError('workers', `must be a positive integer, got ${workers}`);
  for (const [name, policy] of [['restartBackoff', options.restartBackoff], ['retryBackoff', options.retryBackoff]] as const) {
    if (policy === undefined) continue;
    if (!(policy.baseMs > 0) || !(policy.maxMs >= policy.baseMs)) throw new NodeAgentOptionError(name, `needs baseMs > 0 and maxMs >= baseMs, got ${JSON.stringify(policy)}`);
  }
  for (const name of ['pollIntervalMs', 'leaseRenewIntervalMs', 'logMaxBytes', 'backoffResetMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new NodeAgentOptionError(name, `must be a positive number, got ${value}`);
  }
}

export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const nodeName = options.nodeName ?? os.hostname();
  const root = path.resolve(options.root ?? '/var/lib/berth/node');
  const logger = (options.logger ?? pino({ level: options.logLevel ?? 'info' }, pino.destination(2))).child({ component: 'berth-node-agent', node: nodeName });
  const workers = options.workers ?? 8;
  checkOptions(options, workers);
  const api = new ClusterApi(loadKubeConfig(options.kubeconfig), { userAgent: userAgent(await agentVersion()) });

  const host = await prepareHost();
  for (const action of host.actions) logger.info({ action }, 'host prepared');
  const runtime = new ConmonRuntime({ host, root, ...(options.runtimeRoot !== undefined ? { runtimeRoot: options.runtimeRoot } : {}) });
  const snapshots = new OverlaySnapshotter(root);
  const plain = options.plainHttpRegistries;
  const registry: RegistryClientOptions = {
    ...(options.registryCA !== undefined ? { ca: options.registryCA } : {}),
    ...(plain !== undefined ? { plainHttp: (r: string) => plain.includes(r) } : {}),
  };
  const imageStore = new ImageStore({ root, registry });

  const kubeletBackoff: BackoffPolicy = { baseMs: 10_000, maxMs: 300_000 };
  const retryBackoff = options.retryBackoff ?? kubeletBackoff;
  // The queue's per-key back-off is the one back-off of failed reconciles (pulls, creates, API errors).
  const queue = new WorkQueue({ baseDelayMs: retryBackoff.baseMs, maxDelayMs: retryBackoff.maxMs });
  // conmon records each exit under the container's directory; only this composition root knows that.
  const exits = new ExitWatcher((id) => path.join(runtime.containerDir(id), 'exit'), (key) => queue.add(key));
  const events = new EventRecorder(api, { host: nodeName, onError: (err) => logger.warn({ err: apiErrorMessage(err) }, 'event not recorded') });
  const informer = new ContainerInformer(api, {
    ...(options.adoptUnbound === true ? {} : { fieldSelector: `spec.nodeName=${nodeName}` }),
    onChange: (key) => queue.add(key),
    onError: (err) => logger.warn({ err: apiErrorMessage(err) }, 'container watch failed, restarting it'),
  });
  const reconciler = new ContainerReconciler({
    nodeName,
    adoptUnbound: options.adoptUnbound === true,
    api,
    cache: informer,
    runtime,
    snapshots,
    images: new ImagePolicy(imageStore),
    events,
    exits,
    restartBackoff: options.restartBackoff ?? kubeletBackoff,
    backoffResetMs: options.backoffResetMs ?? 600_000,
    pollIntervalMs: options.pollIntervalMs ?? 10_000,
    // The runtime and the snapshotter each empty their part of the container's directory; the folder is ours.
    released: (id) => rmdir(runtime.containerDir(id)).catch(() => undefined),
    logger,
  });

  let heartbeat: NodeHeartbeat | undefined;
  let streaming: StreamingServer | undefined;
  const timers: NodeJS.Timeout[] = [];
  const running: Promise<void>[] = [];
  const socketPath = path.join(root, 'agent.sock');
  try {
    if (options.serveStreaming !== false) {
      streaming = new StreamingServer({
        socketPath,
        lookup: (namespace, name) => reconciler.lookup(namespace, name),
        runtime,
        logFilesOf: (id) => runtime.logFiles(id),
        onError: (err) => logger.warn({ err: (err as Error).message }, 'streaming failed'),
      });
      await streaming.start();
    }
    const machine = await machineStatus(host, `unix:${socketPath}`);
    heartbeat = await NodeHeartbeat.start({
      api,
      nodeName,
      machine,
      ...(options.leaseRenewIntervalMs !== undefined ? { renewIntervalMs: options.leaseRenewIntervalMs } : {}),
      onError: (err) => logger.warn({ err: apiErrorMessage(err) }, 'lease renewal failed'),
    });
    await informer.start();

    // Before any worker runs: what is on disk but no longer in the cluster goes; the rest is adopted by reconcile.
    await reconciler.sweepOrphans();
  } catch (err) {
    await streaming?.close();
    await heartbeat?.close();
    await informer.close();
    queue.close();
    exits.close();
    await imageStore.close();
    api.close();
    throw err;
  }

  for (let i = 0; i < workers; i++) {
    running.push(
      (async () => {
        for (;;) {
          const key = await queue.get();
          if (key === undefined) return;
          try {
            const result = await reconciler.reconcile(key);
            queue.forget(key);
            if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
          } catch (err) {
            const delay = queue.addRateLimited(key);
            // A back-off the reconciler asked for (a failed pull or create, already in status) is not the agent failing.
            const level = BackOffError.isInstance(err) ? 'info' : 'error';
            logger[level]({ container: key, retryInMs: delay, err: apiErrorMessage(err) }, 'reconcile failed');
          } finally {
            queue.done(key);
          }
        }
      })(),
    );
  }
  const rotate = setInterval(() => {
    runtime.rotateLogs({ maxBytes: options.logMaxBytes ?? 10 * 1024 * 1024 }).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'log rotation failed'));
  }, 10_000);
  rotate.unref();
  timers.push(rotate);

  let closed: Promise<void> | undefined;
  return {
    nodeName,
    root,
    host,
    runtime,
    lookup: (namespace, name) => reconciler.lookup(namespace, name),
    close() {
      closed ??= (async () => {
        for (const t of timers) clearInterval(t);
        await streaming?.close();
        await informer.close();
        queue.close();
        // Reconciles in flight finish their step (a create or stop is not cut in half).
        await Promise.all(running);
        exits.close();
        await events.flush();
        await heartbeat?.close();
        await imageStore.close();
        api.close();
      })();
      return closed;
    },
  };
}
