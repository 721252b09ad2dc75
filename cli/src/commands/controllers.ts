// `berth controllers`: the controller manager alone (namespace, scheduler, node lifecycle, …) against any berth API
// server, as kube-controller-manager runs: leader election on the Lease kube-system/berth-controller-manager, so
// several can run and one acts. Exits non-zero if it stops on its own (its Lease lost), for a supervisor to restart.
// A kubeconfig listing several API servers is reached through a loopback balancer that fails over between them.
import { resolve } from 'node:path';
import { createLogger } from '@berth/apiserver/logger';
import { startControllers } from '@berth/controllers';
import { balancedKubeconfig } from '../failover/balanced-kubeconfig.js';
import { parseListen } from './up.js';

export interface ControllersOptions {
  readonly kubeconfig: string;
  /** Hold the Lease before acting. @default true */
  readonly leaderElect?: boolean;
  /** Seconds a Lease holds without renewal before another may take it (kube-controller-manager's). @default 15 */
  readonly leaderElectLeaseDuration?: number;
  /** Seconds the leader keeps trying to renew before it gives up acting. @default 10 */
  readonly leaderElectRenewDeadline?: number;
  /** Seconds between attempts to take or renew the Lease. @default 2 */
  readonly leaderElectRetryPeriod?: number;
  /** Seconds without a Lease renewal before a Node is not Ready. @default 40 */
  readonly nodeMonitorGracePeriod?: number;
  /** Seconds a Node is not Ready before its Service replicas are deleted (to be made again elsewhere). @default 60 */
  readonly podEvictionTimeout?: number;
  readonly logLevel?: string;
  /** HOST:PORT of /metrics. @default not served */
  readonly metricsListen?: string;
}

export interface RunningControllerManager {
  /** Its leader-election identity (undefined without leader election). */
  readonly identity: string | undefined;
  /** Resolves when the manager has stopped, whoever stopped it. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

const seconds = (name: string, v: number | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number of seconds >= 0, got ${v}`);
  return v * 1000;
};

export async function controllers(options: ControllersOptions): Promise<RunningControllerManager> {
  const grace = seconds('node-monitor-grace-period', options.nodeMonitorGracePeriod);
  const eviction = seconds('pod-eviction-timeout', options.podEvictionTimeout);
  const lease = seconds('leader-elect-lease-duration', options.leaderElectLeaseDuration);
  const renew = seconds('leader-elect-renew-deadline', options.leaderElectRenewDeadline);
  const retry = seconds('leader-elect-retry-period', options.leaderElectRetryPeriod);
  const log = createLogger({ level: options.logLevel ?? 'info' }).child({ component: 'controller-manager' });
  const balanced = await balancedKubeconfig(resolve(options.kubeconfig), (from, to) =>
    log.warn({ from, to }, 'API server unreachable: moved to another'),
  );
  const running = await startControllers({
    kubeconfig: balanced.kubeconfig,
    logger: {
      info: (message, fields) => log.info(fields ?? {}, message),
      error: (message, fields) => log.error(fields ?? {}, message),
    },
    leaderElection:
      options.leaderElect === false
        ? false
        : {
            ...(lease !== undefined ? { leaseDurationMs: lease } : {}),
            ...(renew !== undefined ? { renewDeadlineMs: renew } : {}),
            ...(retry !== undefined ? { retryPeriodMs: retry } : {}),
          },
    ...(options.metricsListen === undefined ? {} : { metricsServer: parseListen(options.metricsListen) }),
    nodeLifecycle: {
      ...(grace !== undefined ? { nodeMonitorGracePeriodMs: grace } : {}),
      ...(eviction !== undefined ? { evictionTimeoutMs: eviction } : {}),
    },
  }).catch(async (e: unknown) => {
    await balanced.close();
    throw e;
  });
  log.info(
    { identity: running.identity, controllers: [...running.controllers.keys()], metrics: running.manager.metricsUrl },
    'controller manager started',
  );
  void running.manager.closed.then(() => balanced.close());
  return { identity: running.identity, closed: running.manager.closed, close: () => running.close() };
}
