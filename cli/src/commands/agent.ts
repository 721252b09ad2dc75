// `berth agent`: one node agent alone against any berth API server, so another node joins (on this machine too):
// it registers the Node, renews its Lease and runs the Containers the scheduler binds to it. Each agent keeps its
// own data dir and runtime root (its containers, its crun state); the IP leases are the host's, shared by its agents.
// With --server and --token it joins first (join.ts): its own node certificate, got with a bootstrap token. When its
// kubeconfig lists several API servers (`--server URL1,URL2,…`), it reaches them through a loopback balancer that
// moves to the next when one dies (failover/).
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createLogger } from '@berth/apiserver/logger';
import type { NodeAgent } from '@berth/node-agent';
import { UsageError } from '../errors.js';
import { parseListen } from './up.js';

export interface AgentOptions {
  /** How to reach the API server; or join with `server` and `token`. */
  readonly kubeconfig?: string;
  /**
   * The API server to join with a bootstrap token (`berth token create`), or several, comma-separated; the
   * credential lands in the data dir, with the list.
   */
  readonly server?: string;
  readonly token?: string;
  /** The cluster CA, for a token without its hash. */
  readonly caFile?: string;
  /** @default the host name */
  readonly nodeName?: string;
  /** Images, layers, containers. @default /var/lib/berth/agents/NODE */
  readonly dataDir?: string;
  /** crun's state. @default /run/berth/agents/NODE/crun */
  readonly runtimeRoot?: string;
  readonly allowHostPath?: readonly string[];
  /** Seconds between looks at the API servers' Leases, for the list of servers (joined agents). @default 30 */
  readonly serverRefreshInterval?: number;
  /** Seconds between Lease renewals (the controllers' grace period should be several of them). @default 10 */
  readonly leaseRenewInterval?: number;
  readonly logLevel?: string;
  /** HOST:PORT of /metrics. @default not served */
  readonly metricsListen?: string;
  /**
   * This node's own subnet for the default bridge network, for a host of its own (a network namespace from
   * hack/hosts.sh): other hosts route to it, and its IP leases are its own. @default the shared 10.212.0.0/16
   */
  readonly podSubnet?: string;
  /** This host's address between hosts, where user Networks' VXLAN traffic arrives. @default none: Networks stay here */
  readonly tunnelAddress?: string;
}

export async function agent(options: AgentOptions): Promise<NodeAgent> {
  const { hostname } = await import('node:os');
  const nodeName = options.nodeName ?? hostname();
  const renew = options.leaseRenewInterval;
  if (renew !== undefined && !(Number.isFinite(renew) && renew > 0))
    throw new Error(`--lease-renew-interval must be a number of seconds > 0, got ${renew}`);
  const logger = createLogger({ level: options.logLevel ?? 'info' }).child({ component: 'node-agent' });
  const root = resolve(options.dataDir ?? `/var/lib/berth/agents/${nodeName}`);
  let kubeconfig: string;
  if (options.kubeconfig !== undefined) {
    if (options.server !== undefined || options.token !== undefined)
      throw new UsageError('give either --kubeconfig or --server with --token, not both');
    kubeconfig = resolve(options.kubeconfig);
  } else {
    if (options.server === undefined || options.token === undefined)
      throw new UsageError('berth agent needs --kubeconfig, or --server URL with --token TOKEN (berth token create)');
    const { joinCluster } = await import('./join.js');
    const { parseServerList } = await import('../failover/server-list.js');
    await mkdir(root, { recursive: true });
    kubeconfig = await joinCluster({
      servers: parseServerList(options.server),
      token: options.token,
      nodeName,
      dataDir: root,
      ...(options.caFile === undefined ? {} : { caFile: resolve(options.caFile) }),
    });
  }
  const refreshEvery = options.serverRefreshInterval ?? 30;
  if (!(Number.isFinite(refreshEvery) && refreshEvery > 0))
    throw new Error(`--server-refresh-interval must be a number of seconds > 0, got ${refreshEvery}`);
  const joined = options.kubeconfig === undefined;
  const { balancedKubeconfig } = await import('../failover/balanced-kubeconfig.js');
  // A joined agent always goes through the balancer: the servers' Leases may add servers to its list.
  const balanced = await balancedKubeconfig(
    kubeconfig,
    (from, to) => logger.warn({ from, to }, 'API server unreachable: moved to another'),
    { always: joined },
  );
  const { startNodeAgent } = await import('@berth/node-agent');
  const runtimeRoot = resolve(options.runtimeRoot ?? `/run/berth/agents/${nodeName}/crun`);
  const running = await startNodeAgent({
    kubeconfig: balanced.kubeconfig,
    nodeName,
    root,
    runtimeRoot,
    // The bridges are the host's, so their leases are too: every agent here allocates from one pool; a node with
    // its own subnet is a host of its own, with its own bridge and leases.
    ipamDir: options.podSubnet === undefined ? '/run/berth/ipam' : join(dirname(runtimeRoot), 'ipam'),
    ...(options.podSubnet === undefined
      ? {}
      : { defaultNetwork: { name: 'berth', bridge: 'berth0', subnet: options.podSubnet } }),
    logger,
    ...(options.metricsListen === undefined ? {} : { metricsServer: parseListen(options.metricsListen) }),
    ...(renew !== undefined ? { leaseRenewIntervalMs: renew * 1000 } : {}),
    ...(options.tunnelAddress !== undefined ? { tunnelAddress: options.tunnelAddress } : {}),
    ...(options.allowHostPath !== undefined && options.allowHostPath.length > 0
      ? { hostPathPrefixes: options.allowHostPath.map((p) => resolve(p)) }
      : {}),
  }).catch(async (e: unknown) => {
    await balanced.close();
    throw e;
  });
  let refresh: { close(): Promise<void> } | undefined;
  if (joined && balanced.balancer !== undefined) {
    const { ApiClient } = await import('@berth/controller-runtime');
    const { refreshServers } = await import('../failover/server-refresh.js');
    const client = new ApiClient({ kubeconfig: balanced.kubeconfig, userAgent: 'berth-node-agent' });
    const refreshing = refreshServers({
      client,
      balancer: balanced.balancer,
      kubeconfigPath: kubeconfig,
      intervalMs: refreshEvery * 1000,
      onChange: (servers) => logger.info({ servers }, 'API servers listed'),
      onError: (err) => logger.warn({ error: String(err) }, 'could not read the API servers listed'),
    });
    refresh = {
      close: async () => {
        await refreshing.close();
        client.close();
      },
    };
  }
  const close = running.close.bind(running);
  // The agent's last calls (its Lease, its Events) still go through the balancer: it closes after them.
  running.close = async () => {
    await refresh?.close();
    await close();
    await balanced.close();
  };
  return running;
}
