// The controller manager: one controller-runtime Manager (one client, one informer cache) running every berth
// controller, on the leader only, elected on a Lease in kube-system, as kube-controller-manager runs.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  InvalidOptionError,
  Manager,
  silentLogger,
  type Controller,
  type Kubeconfig,
  type Logger,
  type MetricsServerOptions,
} from '@berth/controller-runtime';
import { addGitOpsController, type GitOpsControllerOptions } from './gitops/gitops-controller.js';
import { addNamespaceController, type NamespaceControllerOptions } from './namespace/namespace-controller.js';
import { addGarbageCollector, type GarbageCollectorOptions } from './garbage-collector/garbage-collector.js';
import { addServiceController, type ServiceControllerOptions } from './service/service-controller.js';
import {
  addNodeLifecycleController,
  type NodeLifecycleControllerOptions,
} from './node-lifecycle/node-lifecycle-controller.js';
import { addSchedulerController, type SchedulerOptions } from './scheduler/scheduler-controller.js';
import { addNetworkController, type NetworkControllerOptions } from './network/network-controller.js';
import { addAutoRemoveController } from './auto-remove/auto-remove-controller.js';
import { addImageBuildController } from './image-build/image-build-controller.js';
import {
  addResourceQuotaController,
  type ResourceQuotaControllerOptions,
} from './resource-quota/resource-quota-controller.js';
import {
  addServiceAccountController,
  type ServiceAccountControllerOptions,
} from './serviceaccount/serviceaccount-controller.js';
import { addTokenSecretsController } from './serviceaccount/token-secrets-controller.js';

/** User agent and field manager of every call the controllers make, and the name of their Lease. */
export const controllerManagerName = 'berth-controller-manager';

export interface LeaderElectionConfig {
  /** This process among the candidates. @default `${hostname}_${random}` */
  readonly identity?: string;
  /** @default 'kube-system' */
  readonly namespace?: string;
  /** @default 'berth-controller-manager' */
  readonly name?: string;
  /** @default 15000 */
  readonly leaseDurationMs?: number;
  /** @default 10000 */
  readonly renewDeadlineMs?: number;
  /** @default 2000 */
  readonly retryPeriodMs?: number;
}

export interface ControllerManagerOptions {
  /** A Kubeconfig (client-node's KubeConfig is one), or a kubeconfig file's path, for the controllers' API server. */
  readonly kubeconfig: Kubeconfig | string;
  readonly logger?: Logger;
  /** Run the controllers only while holding the Lease (false: always, for a single process). @default enabled */
  readonly leaderElection?: LeaderElectionConfig | false;
  readonly namespace?: NamespaceControllerOptions;
  readonly garbageCollector?: GarbageCollectorOptions;
  readonly service?: ServiceControllerOptions;
  /**
   * Which controllers run, as kube-controller-manager's --controllers: names, '*' for all, '-name' to leave one
   * out (['*', '-service']). @default ['*']
   */
  readonly controllers?: readonly string[];
  readonly scheduler?: SchedulerOptions;
  readonly nodeLifecycle?: NodeLifecycleControllerOptions;
  readonly network?: NetworkControllerOptions;
  readonly gitops?: GitOpsControllerOptions;
  readonly serviceAccount?: ServiceAccountControllerOptions;
  readonly resourceQuota?: ResourceQuotaControllerOptions;
  /** Serve the controllers' /metrics (kube-controller-manager's secure port). @default off */
  readonly metricsServer?: MetricsServerOptions;
}

export interface RunningControllers {
  readonly manager: Manager;
  /** This process's leader-election identity (undefined without leader election). */
  readonly identity: string | undefined;
  /** The controllers by name (`namespace`, `garbage-collector`, `service`, `gitrepository`, `sync`). */
  readonly controllers: ReadonlyMap<string, Controller>;
  /** True while this process runs the controllers. */
  readonly isLeader: boolean;
  /** Stops the controllers (waiting for reconciles in flight) and releases the Lease. */
  close(): Promise<void>;
}

/**
 * Starts the controllers against the API server in `kubeconfig`. Resolves once the caches are filled; with
 * leader election the controllers then run as soon as this process holds the Lease.
 */
export async function startControllers(options: ControllerManagerOptions): Promise<RunningControllers> {
  const le = options.leaderElection ?? {};
  const identity = le === false ? undefined : (le.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`);
  if (identity === '') throw new InvalidOptionError('leaderElection.identity must not be empty');
  const manager = new Manager({
    kubeconfig: options.kubeconfig,
    userAgent: controllerManagerName,
    fieldManager: controllerManagerName,
    log: options.logger ?? silentLogger,
    ...(options.metricsServer !== undefined ? { metricsServer: options.metricsServer } : {}),
    ...(le === false || identity === undefined
      ? {}
      : {
          leaderElection: {
            namespace: le.namespace ?? 'kube-system',
            name: le.name ?? controllerManagerName,
            identity,
            ...(le.leaseDurationMs !== undefined ? { leaseDurationMs: le.leaseDurationMs } : {}),
            ...(le.renewDeadlineMs !== undefined ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
            ...(le.retryPeriodMs !== undefined ? { retryPeriodMs: le.retryPeriodMs } : {}),
          },
        }),
  });
  const controllers = new Map<string, Controller>();
  try {
    if (enabled(options.controllers, 'namespace')) {
      const namespace = await addNamespaceController(manager, options.namespace);
      controllers.set(namespace.name, namespace);
    }
    if (enabled(options.controllers, 'garbage-collector')) {
      const garbageCollector = await addGarbageCollector(manager, options.garbageCollector);
      controllers.set(garbageCollector.name, garbageCollector);
    }
    if (enabled(options.controllers, 'service')) {
      const service = await addServiceController(manager, options.service);
      controllers.set(service.name, service);
    }
    if (enabled(options.controllers, 'node-lifecycle'))
      controllers.set('node-lifecycle', await addNodeLifecycleController(manager, options.nodeLifecycle));
    if (enabled(options.controllers, 'scheduler'))
      controllers.set('scheduler', await addSchedulerController(manager, options.scheduler));
    if (enabled(options.controllers, 'network')) {
      const network = await addNetworkController(manager, options.network);
      controllers.set(network.name, network);
    }
    if (enabled(options.controllers, 'auto-remove'))
      controllers.set('auto-remove', await addAutoRemoveController(manager));
    if (enabled(options.controllers, 'image-build'))
      controllers.set('image-build', await addImageBuildController(manager));
    if (enabled(options.controllers, 'gitops')) {
      const gitops = await addGitOpsController(manager, options.gitops);
      for (const c of [gitops.gitRepository, gitops.sync]) controllers.set(c.name, c);
    }
    if (enabled(options.controllers, 'serviceaccount'))
      controllers.set('serviceaccount', await addServiceAccountController(manager, options.serviceAccount));
    if (enabled(options.controllers, 'serviceaccount-token'))
      controllers.set('serviceaccount-token', await addTokenSecretsController(manager));
    if (enabled(options.controllers, 'resourcequota'))
      controllers.set('resourcequota', await addResourceQuotaController(manager, options.resourceQuota));
    await manager.start();
  } catch (err) {
    await manager.close();
    throw err;
  }
  return {
    manager,
    identity,
    controllers,
    get isLeader() {
      return manager.isLeader;
    },
    close: () => manager.close(),
  };
}

/** kube-controller-manager's rule: a name is on if listed, off if listed with '-', else on when '*' is listed. */
function enabled(list: readonly string[] | undefined, name: string): boolean {
  const l = list ?? ['*'];
  if (l.includes(`-${name}`)) return false;
  return l.includes(name) || l.includes('*');
}
